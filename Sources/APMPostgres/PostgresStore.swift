import APMCore
public import APMStorage
import Foundation
public import Logging
import NIOCore
import NIOSSL
import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// The store on PostgreSQL, for several collectors sharing one database. Ingest runs the same
/// ``WritePlanner`` as SQLite; a commit locks the apps it writes (transaction-scoped advisory locks, in id order)
/// so that name caps and histogram merges are exact whichever collector commits. Minute and hour rows live in
/// tables partitioned by bucket, so that retention drops whole partitions.
///
/// The store is a `Service`: its connection pool runs while `run()` does. Migrations run on the first use, once
/// for all collectors (an advisory lock).
public final class PostgresStore: APMStore, Service {
    let client: PostgresClient
    let logger: Logger
    /// The settings, for messages (never the password).
    public let configuration: PostgresStoreConfiguration
    /// Runs the migrations once; every operation waits for it.
    private let preparation = Mutex<Task<Void, any Error>?>(nil)
    /// Partitions known to exist (table name), so that a commit creates each at most once.
    let knownPartitions = Mutex<Set<String>>([])
    /// Whether the server answers: while it does not, operations fail at once and a probe asks it again.
    let availability: StoreAvailability

    /// Creates the store; it connects when ``run()`` runs.
    ///
    /// - Parameters:
    ///   - configuration: Where the database is.
    ///   - logger: For connection problems (the password is never logged).
    public init(configuration: PostgresStoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let tls: PostgresClient.Configuration.TLS
        switch configuration.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var clientConfiguration = PostgresClient.Configuration(
            host: configuration.host,
            port: configuration.port,
            username: configuration.username,
            password: configuration.password,
            database: configuration.database,
            tls: tls
        )
        clientConfiguration.options.maximumConnections = configuration.poolSize
        clientConfiguration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        self.client = client
        let probeTimeout = min(configuration.operationTimeout, .seconds(2))
        self.availability = StoreAvailability(description: "PostgreSQL at \(configuration.redactedDescription)") {
            [logger] in
            let leased = LeasedConnection()
            let answered = try? await Deadline.run(
                within: probeTimeout,
                timedOut: CancellationError(),
                onTimeout: { leased.close() },
                operation: { () async throws -> Bool in
                    try await client.withConnection { connection in
                        leased.set(connection)
                        defer { leased.set(nil) }
                        _ = try await connection.rows("SELECT 1", logger)
                        return true
                    }
                }
            )
            return answered == true
        }
    }

    /// Runs the connection pool until the service group shuts down.
    public func run() async throws {
        await client.run()
        availability.stopProbing()
    }

    /// Runs `body` with the pool running (for tools and tests that use the store outside a service group).
    ///
    /// - Parameter body: Work with the store.
    /// - Returns: What `body` returns.
    public func withRunning<T: Sendable>(_ body: @Sendable (PostgresStore) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    /// Migrates the database (at most once per process; several collectors starting together take turns) and
    /// checks that it answers.
    ///
    /// - Throws: ``StoreError`` `unavailable` when the server cannot be reached within 30 seconds.
    public func prepare() async throws {
        let task = preparation.withLock { task -> Task<Void, any Error> in
            if let task { return task }
            let created = Task { try await self.migrateWithin(self.configuration.startupTimeout) }
            task = created
            return created
        }
        do {
            try await task.value
        } catch {
            // A failed attempt (the server down) is tried again by the next caller.
            preparation.withLock { current in if current == task { current = nil } }
            throw Self.recognizing(error, configuration: configuration)
        }
    }

    /// Migrates, or gives up after `timeout`: the pool keeps trying to connect to a server that is down, so a
    /// collector pointed at the wrong address would otherwise wait without a word.
    private func migrateWithin(_ timeout: Duration) async throws {
        // The pool tries a refused connection again and again: say at once that nothing listens there.
        if await TCPProbe.isRefused(host: configuration.host, port: configuration.port) {
            throw StoreError(
                .unavailable,
                "nothing listens at \(configuration.host):\(configuration.port) (connection refused): start PostgreSQL, or check the URL's host and port (\(configuration.redactedDescription))"
            )
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.migrate() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw StoreError(
                    .unavailable,
                    "PostgreSQL at \(self.configuration.redactedDescription) did not answer within \(timeout.components.seconds) seconds: check that the server runs and that the URL's host and port are right"
                )
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// A clear error for what PostgresNIO reports.
    static func recognizing(_ error: any Error, configuration: PostgresStoreConfiguration) -> any Error {
        if error is StoreError || error is CancellationError { return error }
        if let error = error as? PostgresTransactionError {
            return recognizing(
                error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error,
                configuration: configuration
            )
        }
        if !(error is PSQLError) && meansServerGone(error) {
            return StoreError(
                .unavailable,
                "cannot reach PostgreSQL at \(configuration.redactedDescription) (\(error)): check that the server runs and that the network lets the collector reach it"
            )
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return StoreError(
                    .unavailable,
                    "PostgreSQL at \(configuration.redactedDescription) refused: \(message)"
                )
            }
            return StoreError(
                .unavailable,
                "cannot use PostgreSQL at \(configuration.redactedDescription) (\(error.code)): check that the server runs, that the URL's host, port, user, password and database are right, and sslmode"
            )
        }
        return error
    }

    /// Runs `body` in a transaction (after the migrations), within ``PostgresStoreConfiguration/operationTimeout``.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T
    {
        try await prepare()
        return try await withConnection { [logger] connection in
            try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// The rows of a query outside a transaction, within ``PostgresStoreConfiguration/operationTimeout``.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await prepare()
        return try await withConnection { [logger] connection in try await connection.rows(query, logger) }
    }

    /// Runs a statement outside a transaction.
    func execute(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    /// Runs `body` on a pooled connection and answers within ``PostgresStoreConfiguration/operationTimeout``,
    /// whatever the server or the network does: at the deadline the connection is closed (its queries fail, the
    /// pool opens a new one), and the server is taken for unavailable until a probe gets an answer, so that
    /// meanwhile every operation fails at once instead of waiting out its own deadline.
    ///
    /// - Throws: ``StoreError`` `unavailable` when the server is gone or did not answer in time; what `body`
    ///   throws otherwise.
    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try availability.check()
        let leased = LeasedConnection()
        let timeout = configuration.operationTimeout
        let description = configuration.redactedDescription
        do {
            let result = try await Deadline.run(
                within: timeout,
                timedOut: StoreError(
                    .unavailable,
                    "PostgreSQL at \(description) did not answer within \(timeout) (store_timeout)"
                ),
                onTimeout: { leased.close() },
                operation: { [client] in
                    try await client.withConnection { connection in
                        leased.set(connection)
                        defer { leased.set(nil) }
                        return try await body(connection)
                    }
                }
            )
            availability.answered()
            return result
        } catch {
            let recognized = Self.recognizing(error, configuration: configuration)
            if Self.meansServerGone(error) { availability.failed("\(recognized)") }
            throw recognized
        }
    }

    /// Whether an error says the server (or the way to it) is gone, rather than that one statement failed.
    static func meansServerGone(_ error: any Error) -> Bool {
        if let error = error as? StoreError { return error.code == .unavailable }
        if let error = error as? PostgresTransactionError {
            return meansServerGone(
                error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error
            )
        }
        if error is CancellationError { return false }
        guard let error = error as? PSQLError else {
            // The pool's and NIO's own errors: a refused or reset connection, the pool's circuit breaker.
            return true
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
            .sslUnsupported, .failedToAddSSLHandler:
            return true
        case .server:
            // Class 08 (connection exception) and 57P (the server shutting down, crashed or starting).
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return false
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL: the server answers, and takes writes (not a standby or a
    /// read-only database).
    public func problems() async -> [String] {
        if let problem = availability.problem { return [problem] }
        do {
            let rows = try await rows("SELECT current_setting('transaction_read_only') AS read_only")
            if try rows.first?.get("read_only", as: String.self) == "on" {
                return [
                    "PostgreSQL at \(configuration.redactedDescription) is read-only (a standby?): ingest cannot write"
                ]
            }
            return []
        } catch {
            return ["the database cannot be read: \(error)"]
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func close() async throws {}

    /// As ``MaintenanceStore`` describes it: the store's operations already throw ``StoreError``s for what the
    /// caller can act on (a server gone, a deadline passed).
    public func storeError(for error: any Error) -> StoreError? { error as? StoreError }
}

/// The connection an operation holds, so that its deadline can close it.
final class LeasedConnection: Sendable {
    private let connection = Mutex<PostgresConnection?>(nil)

    func set(_ value: PostgresConnection?) { connection.withLock { $0 = value } }

    /// Closes the connection (its queries fail at once; the pool replaces it).
    func close() {
        if let connection = connection.withLock({ $0 }) { connection.close().whenComplete { _ in } }
    }
}

extension PostgresConnection {
    /// The rows of a query.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    /// Runs a statement.
    func execute(_ query: PostgresQuery, _ logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }
}

extension PostgresRandomAccessRow {
    /// A column's value.
    func get<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self, context: .default)
    }
}

/// Largest bigint: sums saturate at it, as SQLite's `sat_add` does.
let bigintMax = "9223372036854775807"

extension Data {
    /// The readable bytes of a buffer.
    init(bytesOf buffer: ByteBuffer) {
        self.init(buffer.readableBytesView)
    }
}
