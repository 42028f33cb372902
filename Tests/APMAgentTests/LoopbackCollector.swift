import APMCore
import APMTestSupport
import APMTesting
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A real HTTP collector on loopback for delivery tests: it can accept, answer with a status, or commit a batch
/// and then never answer (so the agent times out and retries a batch that was in fact stored).
final class LoopbackCollector: Sendable {
    enum Mode: Sendable {
        case accept
        case status(Int, retryAfter: String? = nil)
        case commitThenHang
    }

    struct State {
        var script: [Mode] = []
        var defaultMode: Mode = .accept
        var attemptIDs: [String] = []
        var committed: [String: AgentBatch] = [:]
    }

    let state = Mutex(State())
    let port: Int

    init(port: Int) {
        self.port = port
    }

    func script(_ modes: [Mode]) { state.withLock { $0.script.append(contentsOf: modes) } }

    var attemptIDs: [String] { state.withLock { $0.attemptIDs } }
    var committed: [AgentBatch] { state.withLock { Array($0.committed.values) } }

    /// Runs the server until the body returns.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let router = Router()
        router.post("/v1/agent/batches") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 32 << 20)
            var data = Data(buffer.readableBytesView)
            if request.headers[.contentEncoding] == "gzip" { data = try Gzip.decompress(data, maxOutputSize: 64 << 20) }
            let batch = try WireCoding.decodeBatch(data)
            let mode: Mode = self.state.withLock { state in
                state.attemptIDs.append(batch.batchID)
                return state.script.isEmpty ? state.defaultMode : state.script.removeFirst()
            }
            switch mode {
            case .accept:
                let duplicate = self.state.withLock { state in
                    defer { state.committed[batch.batchID] = batch }
                    return state.committed[batch.batchID] != nil
                }
                let reply = IngestReply(batchID: batch.batchID, duplicate: duplicate, apdexT: 0.5)
                return Response(
                    status: .accepted,
                    body: .init(byteBuffer: ByteBuffer(bytes: try WireCoding.makeEncoder().encode(reply)))
                )
            case .status(let code, let retryAfter):
                var headers = HTTPFields()
                if let retryAfter { headers[.retryAfter] = retryAfter }
                return Response(status: .init(code: code), headers: headers)
            case .commitThenHang:
                self.state.withLock { $0.committed[batch.batchID] = batch }
                try await Task.sleep(for: .milliseconds(1500))
                return Response(status: .accepted)
            }
        }
        return try await LoopbackHTTPServer.run(router, port: port) { _ in try await body() }
    }

    /// A port nothing listens on right now.
    static func freePort() -> Int { LoopbackPort.free() }
}
