import APMCore
import APMTestSupport
import APMTesting
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
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
        var logger = Logger(label: "loopback-collector")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            logger: logger
        )
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Wait until the port answers.
            for _ in 0..<200 {
                if Self.canConnect(port: port) { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            defer {
                Task { await group.triggerGracefulShutdown() }
            }
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// A port nothing listens on right now.
    static func freePort() -> Int { LoopbackPort.free() }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }
}
