public import APMCollector
public import APMStorage
import Foundation
public import HummingbirdTesting
public import Logging
import Synchronization
import Testing

/// The one harness for tests that need a collector in the test process: a bootstrapped collector on a loopback
/// port the kernel picks (port 0, read back from the server), over a store the caller gives, with a live HTTP
/// client. The collector tests and the `apm` command tests both run theirs through it.
public enum TestCollector {
    /// A logger that stays quiet.
    public static var quietLogger: Logger {
        var logger = Logger(label: "apm.collector.test")
        logger.logLevel = .critical
        return logger
    }

    /// A configuration for tests: port 0, a cheap password hash, generous timeouts.
    ///
    /// - Parameter adjust: Changes for one test.
    /// - Returns: The configuration.
    public static func configuration(
        _ adjust: (inout CollectorConfiguration) -> Void = { _ in }
    ) -> CollectorConfiguration {
        var configuration = CollectorConfiguration()
        configuration.server.port = 0
        // scrypt at the default cost takes about a second in a debug build; the tests run dozens of collectors.
        configuration.passwordHashCost = 10
        // The test client opens its connection before the test's first request, which a loaded machine (the
        // whole suite on two cores) can delay past the production timeouts; the timeout tests set their own.
        configuration.server.headerTimeout = .seconds(600)
        configuration.server.idleTimeout = .seconds(600)
        configuration.server.bodyTimeout = .seconds(600)
        // The tests' webhook receivers and SMTP sink listen on loopback, which notifications may not reach by
        // default; the destination tests set their own.
        configuration.alerts.allowedDestinations = ["127.0.0.1"]
        // A commit's deadline is not what these tests measure (StoreOutageTests runs collectors with their own
        // store_timeout): on a loaded 2-core machine a whole suite's PostgreSQL commits waited past the 10 s default
        // for locks held by starved clients, and batches were answered 503.
        configuration.storage.timeout = .seconds(60)
        adjust(&configuration)
        return configuration
    }

    /// Runs a bootstrapped collector over `store` while `body` runs.
    ///
    /// - Parameters:
    ///   - configuration: The configuration (port 0 unless a test needs another).
    ///   - store: The store.
    ///   - now: The collector's clock, or the real one.
    ///   - transport: `.live` (a loopback socket; the default) or `.router` (requests handed to the router in the
    ///     test process, no socket: for tests of what the API and dashboard answer, not of the connection).
    ///   - body: Gets the collector, a client, the license key and the port it listens on (0 with `.router`).
    /// - Returns: What `body` returns.
    public static func run<T: Sendable>(
        _ configuration: CollectorConfiguration = configuration(),
        on store: any APMStore,
        now: (@Sendable () -> Double)? = nil,
        transport: TestingSetup = .live,
        _ body: @Sendable (Collector, any TestClientProtocol, String, Int) async throws -> T
    ) async throws -> T {
        let collector = Collector(configuration: configuration, logger: quietLogger, store: store, now: now)
        let credentials = try #require(try await collector.bootstrapIfNeeded())
        apiTokens.withLock { $0[credentials.licenseKey] = credentials.apiToken }
        return try await collector.application.test(transport) { client in
            try await body(collector, client, credentials.licenseKey, client.port ?? 0)
        }
    }

    /// The admin API token created with each test collector's license key: the key ingests, the token reads.
    static let apiTokens = Mutex<[String: String]>([:])

    /// Remembers the API token of a collector a test set up itself (another account, a collector process).
    ///
    /// - Parameters:
    ///   - token: The API token.
    ///   - key: The license key it goes with.
    public static func remember(token: String, for key: String) {
        apiTokens.withLock { $0[key] = token }
    }

    /// The API token that goes with a test collector's license key.
    ///
    /// - Parameter key: The license key `run` gave.
    /// - Returns: The token (or the key, for a key of no test collector).
    public static func token(for key: String) -> String {
        apiTokens.withLock { $0[key] } ?? key
    }
}
