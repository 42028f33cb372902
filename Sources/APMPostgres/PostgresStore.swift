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
        self.client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
    }

    /// Runs the connection pool until the service group shuts down.
    public func run() async throws {
        await client.run()
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
            let created = Task { try await self.migrateWithin(seconds: 30) }
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

    /// Migrates, or gives up after `seconds`: the pool keeps trying to connect to a server that is down, so a
    /// collector pointed at the wrong address would otherwise wait without a word.
    private func migrateWithin(seconds: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.migrate() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw StoreError(
                    .unavailable,
                    "PostgreSQL at \(self.configuration.redactedDescription) did not answer within \(seconds) seconds: check that the server runs and that the URL's host and port are right"
                )
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// A clear error for what PostgresNIO reports.
    static func recognizing(_ error: any Error, configuration: PostgresStoreConfiguration) -> any Error {
        if error is StoreError { return error }
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

    /// Runs `body` in a transaction (after the migrations).
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await prepare()
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw Self.recognizing(
                error.closureError ?? error.beginError ?? error.commitError ?? error,
                configuration: configuration
            )
        }
    }

    /// The rows of a query outside a transaction.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await prepare()
        do {
            return try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
        } catch {
            throw Self.recognizing(error, configuration: configuration)
        }
    }

    /// Runs a statement outside a transaction.
    func execute(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func problems() async -> [String] {
        do {
            _ = try await rows("SELECT 1")
            return []
        } catch {
            return ["the database cannot be read: \(error)"]
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func close() async throws {}
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
