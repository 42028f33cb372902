import APMTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A real HTTP server in the test process that receives alert notifications: it records each request, and
/// answers with a status the test sets, or holds the request until the test lets it go (a channel that hangs).
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var headers: [String: String]
        var body: Data
    }

    enum Mode: Sendable {
        case answer(Int)
        case hang
        /// 307 to this URL.
        case redirect(String)
    }

    private struct State {
        var received: [Received] = []
        var mode: Mode = .answer(200)
        var port: Int?
        var released = false
    }

    private let state = Mutex(State())

    var received: [Received] { state.withLock { $0.received } }
    var port: Int? { state.withLock { $0.port } }
    var url: String { "http://127.0.0.1:\(port ?? 0)/hook" }

    func set(_ mode: Mode) { state.withLock { $0.mode = mode } }
    func release() { state.withLock { $0.released = true } }

    /// Runs the receiver while `body` runs.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            // Looked up by lower-case name, as HTTP field names compare.
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let mode = self.state.withLock { state in
                state.received.append(Received(headers: headers, body: Data(bytes.readableBytesView)))
                return state.mode
            }
            switch mode {
            case .answer(let status):
                return Response(status: .init(code: status))
            case .hang:
                while !self.state.withLock({ $0.released }) { try await Task.sleep(for: .milliseconds(10)) }
                return Response(status: .ok)
            case .redirect(let location):
                return Response(status: .temporaryRedirect, headers: [.location: location])
            }
        }
        return try await LoopbackHTTPServer.run(router) { port in
            state.withLock { $0.port = port }
            // A request held by `.hang` ends before the server stops.
            defer { release() }
            return try await body()
        }
    }
}
