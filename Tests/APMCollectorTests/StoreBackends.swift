import APMPostgres
import APMSQLite
import APMStorage
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

/// The backends the storage tests run against: SQLite always, PostgreSQL when `APM_TEST_POSTGRES_URL` names a
/// server (`scripts/with-postgres swift test` starts a throwaway one; `.ci/run` does).
enum StoreBackend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    var testDescription: String { rawValue }

    /// The server's URL (a database on it per test), from the environment.
    static var postgresURL: String? { ProcessInfo.processInfo.environment["APM_TEST_POSTGRES_URL"] }

    /// The backends of this run. Without a server the PostgreSQL cases are left out (with a message once), or
    /// fail when `APM_REQUIRE_POSTGRES=1` (CI).
    static var available: [StoreBackend] {
        if postgresURL != nil || ProcessInfo.processInfo.environment["APM_REQUIRE_POSTGRES"] == "1" {
            return allCases
        }
        announceSkip.withLock { announced in
            guard !announced else { return }
            announced = true
            print(
                "PostgreSQL storage tests skipped: no APM_TEST_POSTGRES_URL. Run `scripts/with-postgres swift test` (needs Debian's postgresql) to include them."
            )
        }
        return [.sqlite]
    }

    private static let announceSkip = Mutex(false)
    private static let databaseCounter = Mutex(0)

    /// Runs `body` with an empty store of this backend; a PostgreSQL store gets a database of its own (a copy of one
    /// migrated once per run), running for the duration and dropped afterwards.
    func withStore<T: Sendable>(_ body: @Sendable (any APMStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            return try await body(try SQLiteStore())
        case .postgresql:
            return try await Self.withPostgresDatabase(copyingMigrated: true) { configuration in
                try await Self.postgresStore(configuration).withRunning { store in
                    try await Self.startingDatabases.whilePermitted { try await store.prepare() }
                    return try await body(store)
                }
            }
        }
    }

    /// A store on a database (its own pool, as another collector process would have).
    static func postgresStore(_ configuration: PostgresStoreConfiguration) -> PostgresStore {
        var logger = Logger(label: "apm.test.postgres")
        logger.logLevel = .critical
        return PostgresStore(configuration: configuration, logger: logger)
    }

    /// Runs `body` with a database of its own on the test server, dropped afterwards: empty, or a copy of the
    /// migrated template (`copyingMigrated`), so that each test does not run every migration again.
    static func withPostgresDatabase<T: Sendable>(
        copyingMigrated: Bool = false,
        _ body: @Sendable (PostgresStoreConfiguration) async throws -> T
    ) async throws -> T {
        guard let url = postgresURL else {
            Issue.record(
                "APM_REQUIRE_POSTGRES=1 but APM_TEST_POSTGRES_URL is not set: run the tests through scripts/with-postgres"
            )
            throw CancellationError()
        }
        let server = try PostgresStoreConfiguration(url: url)
        let name = nextDatabaseName()
        let template = copyingMigrated ? try await migratedTemplate(on: server) : nil
        try await startingDatabases.whilePermitted {
            try await administer(server, "CREATE DATABASE \(name)" + (template.map { " TEMPLATE \($0)" } ?? ""))
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(testConfiguration(server, database: name)))
        } catch {
            result = .failure(error)
        }
        try await administer(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        return try result.get()
    }

    /// A name no other database of this run has.
    private static func nextDatabaseName() -> String {
        let number = databaseCounter.withLock { counter in
            counter += 1
            return counter
        }
        return "apm_test_\(getpid())_\(number)"
    }

    /// The settings the tests' stores use on a database.
    private static func testConfiguration(
        _ server: PostgresStoreConfiguration,
        database: String
    ) -> PostgresStoreConfiguration {
        var configuration = server
        configuration.database = database
        configuration.poolSize = 8
        // Not what these tests measure (StoreOutageTests' collectors set their own): the 10 s default was passed on
        // a loaded machine, each time by a wait for a lock a starved client held, never by a slow statement.
        configuration.operationTimeout = .seconds(60)
        // CI's first seconds start dozens of stores beside browsers and collectors on two cores; the 30 s default
        // was passed there (2026-12-03) while the server was up.
        configuration.startupTimeout = .seconds(300)
        return configuration
    }

    /// Stores starting at once: each start is a burst of connections and statements, and all the suite's tests start
    /// together.
    static let startingDatabases = PermitGate(permits: 4)

    /// The migrated database this run's test databases copy (made on first use; left on the server, which
    /// `scripts/with-postgres` deletes with its cluster).
    private static func migratedTemplate(on server: PostgresStoreConfiguration) async throws -> String {
        let task = templateTask.withLock { task in
            if let task { return task }
            let created = Task {
                let name = "apm_test_\(getpid())_template"
                try await administer(server, "CREATE DATABASE \(name)")
                try await postgresStore(testConfiguration(server, database: name)).withRunning {
                    try await $0.prepare()
                }
                return name
            }
            task = created
            return created
        }
        return try await task.value
    }

    private static let templateTask = Mutex<Task<String, any Error>?>(nil)

    /// Runs one statement on the server's maintenance database.
    private static func administer(_ server: PostgresStoreConfiguration, _ statement: String) async throws {
        _ = try await query(server, statement)
    }

    /// Runs one statement on a database and returns its rows' first column as integers.
    static func query(_ server: PostgresStoreConfiguration, _ statement: String) async throws -> [Int64] {
        let client = PostgresClient(
            configuration: PostgresClient.Configuration(
                host: server.host,
                port: server.port,
                username: server.username,
                password: server.password,
                database: server.database,
                tls: .disable
            )
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            var values: [Int64] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: statement)) {
                values.append(try row.decode(Int64.self))
            }
            return values
        }
    }
}

/// At most `permits` bodies at a time; the others wait their turn in order.
final class PermitGate: Sendable {
    private struct State {
        var available: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(permits: Int) {
        state = Mutex(State(available: permits))
    }

    /// Runs `body` once a permit is free.
    func whilePermitted<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state -> Bool in
                guard state.available > 0 else {
                    state.waiting.append(continuation)
                    return false
                }
                state.available -= 1
                return true
            }
            if granted { continuation.resume() }
        }
        defer {
            let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if state.waiting.isEmpty {
                    state.available += 1
                    return nil
                }
                return state.waiting.removeFirst()
            }
            next?.resume()
        }
        return try await body()
    }
}
