#if canImport(Hummingbird)
public import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real HTTP server on 127.0.0.1 in the test process: a test's router runs while the test's body does, and
/// stops after it. The one server of the tests that play a peer (a webhook, a collector for the agent).
public enum LoopbackHTTPServer {
    /// Runs `router` on loopback while `body` runs.
    ///
    /// - Parameters:
    ///   - router: What the server answers.
    ///   - port: The port, or 0 for a free one.
    ///   - body: The test; it gets the port the server listens on.
    /// - Returns: What `body` returns.
    public static func run<T: Sendable>(
        _ router: Router<BasicRequestContext>,
        port: Int = 0,
        _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "loopback-http-server")
        logger.logLevel = .critical
        let listening = Mutex<Int?>(nil)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in listening.withLock { $0 = channel.localAddress?.port } },
            logger: logger
        )
        let services = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            // onServerRunning is called once the socket is bound and listening.
            while listening.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(5)) }
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try await body(listening.withLock { $0 } ?? port))
            } catch {
                outcome = .failure(error)
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return try outcome.get()
        }
    }
}
#endif
