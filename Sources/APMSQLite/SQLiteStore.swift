import APMCore
public import APMStorage
import Foundation
import GRDB
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The embedded store: one SQLite file (WAL mode, `synchronous = FULL` so a commit survives a crash) through
/// GRDB. Writes are serialised by SQLite; reads run concurrently on the pool's readers.
public final class SQLiteStore: APMStore {
    let writer: any DatabaseWriter
    let path: String?
    /// Rows retention deletes per write transaction, so that ingest commits interleave with it.
    let retentionChunk: Int
    /// Per app: the transaction and segment names admitted under the cardinality cap (a cache of `app_names`).
    let knownNames = Mutex<[Int64: KnownNames]>([:])
    /// The metric series ingest met lately, as stored (a cache of `metric_series`, exact because this store is its
    /// file's one writer: updated after each commit, cleared when retention deletes series); at most
    /// ``metricSeriesCacheCapacity`` of them, emptied when full. Looking each reading's series up was an eighth of
    /// the metric ingest's time.
    let metricSeriesCache = Mutex<[MetricSeriesKey: StoredMetricSeries]>([:])
    static let metricSeriesCacheCapacity = 200_000
    /// The file's integrity, for `/healthz`.
    let integrityCheck: SQLiteIntegrityCheck

    /// Opens (creating if needed) the database file and migrates it.
    ///
    /// - Parameters:
    ///   - path: The file's path, e.g. `<data-dir>/apm.sqlite`.
    ///   - retentionChunk: Rows retention deletes per write transaction (default 5,000).
    ///   - integrityCheckInterval: The least time between two integrity checks of the file for `/healthz`.
    /// - Throws: When the file cannot be opened or migrated.
    public init(path: String, retentionChunk: Int = 5_000, integrityCheckInterval: Duration = .seconds(30)) throws {
        self.retentionChunk = retentionChunk
        self.integrityCheck = SQLiteIntegrityCheck(minimumInterval: integrityCheckInterval)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            HistogramFunctions.register(in: db)
            SaturatingFunctions.register(in: db)
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(10)
        // Readable by the collector's user only: it holds key and password hashes and every app's data. SQLite
        // gives its -wal and -shm files the database file's mode.
        if !FileManager.default.fileExists(atPath: path) {
            let descriptor = open(path, O_CREAT | O_WRONLY, 0o600)
            if descriptor >= 0 { Glibc.close(descriptor) }
        }
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            chmod(file, 0o600)
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        self.writer = pool
        self.path = path
    }

    /// Opens a store in memory, for tests.
    ///
    /// - Throws: When migration fails.
    /// - Parameter retentionChunk: Rows retention deletes per write transaction (default 5,000).
    public init(retentionChunk: Int = 5_000) throws {
        self.retentionChunk = retentionChunk
        self.integrityCheck = SQLiteIntegrityCheck()
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            HistogramFunctions.register(in: db)
            SaturatingFunctions.register(in: db)
        }
        let queue = try DatabaseQueue(configuration: configuration)
        try Self.migrator.migrate(queue)
        self.writer = queue
        self.path = nil
    }

    /// Nothing runs in the background: the file is open until ``close()``. Returns at graceful shutdown.
    public func run() async throws {
        try await gracefulShutdown()
    }

    // MARK: Accounts and keys

    /// Creates an account.
    ///
    /// - Parameter name: A unique name.
    /// - Returns: The account.
    public func createAccount(name: String, now: Double) async throws -> Account {
        try await writer.write { db in
            try db.execute(sql: "INSERT INTO accounts (name, created_at) VALUES (?, ?)", arguments: [name, now])
            return Account(id: db.lastInsertedRowID, name: name, createdAt: now)
        }
    }

    /// Every account.
    ///
    /// - Returns: Accounts by id.
    public func accounts() async throws -> [Account] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, created_at FROM accounts ORDER BY id").map {
                Account(id: $0["id"], name: $0["name"], createdAt: $0["created_at"])
            }
        }
    }

    // MARK: Apps

    /// An account's apps.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Apps by name.
    public func apps(accountID: Int64) async throws -> [StoredApp] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM apps WHERE account_id = ? ORDER BY name", arguments: [accountID])
                .map {
                    try Self.app($0, db: db)
                }
        }
    }

    /// One app.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The app.
    /// - Returns: The app or `nil`.
    public func app(accountID: Int64, id: Int64) async throws -> StoredApp? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM apps WHERE id = ? AND account_id = ?", arguments: [id, accountID])
                .map {
                    try Self.app($0, db: db)
                }
        }
    }

    static func app(_ row: Row, db: Database) throws -> StoredApp {
        let id: Int64 = row["id"]
        var overrides: [String: Double] = [:]
        for override in try Row.fetchAll(
            db,
            sql: "SELECT name, apdex_t FROM transaction_apdex WHERE app_id = ?",
            arguments: [id]
        ) {
            overrides[override["name"]] = override["apdex_t"]
        }
        return StoredApp(
            id: id,
            accountID: row["account_id"],
            name: row["name"],
            apdexT: row["apdex_t"],
            transactionApdexT: overrides,
            createdAt: row["created_at"],
            lastSeenAt: row["last_seen_at"],
            language: row["language"],
            agentVersion: row["agent_version"]
        )
    }

    /// Sets an app's or a transaction's T.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: A transaction, or `nil` for the app.
    ///   - seconds: The T, or `nil` to remove a transaction override.
    public func setApdex(appID: Int64, transaction: String?, seconds: Double?) async throws {
        try await writer.write { db in
            switch (transaction, seconds) {
            case (nil, let seconds?):
                try db.execute(sql: "UPDATE apps SET apdex_t = ? WHERE id = ?", arguments: [seconds, appID])
            case (let name?, let seconds?):
                try db.execute(
                    sql:
                        "INSERT INTO transaction_apdex (app_id, name, apdex_t) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET apdex_t = excluded.apdex_t",
                    arguments: [appID, name, seconds]
                )
            case (let name?, nil):
                try db.execute(
                    sql: "DELETE FROM transaction_apdex WHERE app_id = ? AND name = ?",
                    arguments: [appID, name]
                )
            case (nil, nil):
                break
            }
        }
    }

    /// Names that overflowed.
    ///
    /// - Parameter appID: The app.
    /// - Returns: Counts and examples.
    public func nameOverflow(appID: Int64) async throws -> NameOverflow {
        try await writer.read { db in
            let row = try Row.fetchOne(
                db,
                sql: "SELECT overflow_transactions, overflow_segments FROM apps WHERE id = ?",
                arguments: [appID]
            )
            let examples = try String.fetchAll(
                db,
                sql: "SELECT name FROM name_overflow_examples WHERE app_id = ? ORDER BY first_seen LIMIT 20",
                arguments: [appID]
            )
            return NameOverflow(
                transactionCount: UInt64(clamping: row?["overflow_transactions"] as Int64? ?? 0),
                segmentCount: UInt64(clamping: row?["overflow_segments"] as Int64? ?? 0),
                examples: examples
            )
        }
    }

    /// The transaction names the app ever recorded (admitted under the name cap), sorted.
    ///
    /// - Parameter appID: The app.
    /// - Returns: The names.
    public func transactionNames(appID: Int64) async throws -> [String] {
        try await writer.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT name FROM app_names WHERE app_id = ? AND kind = 0 ORDER BY name",
                arguments: [appID]
            )
        }
    }

    // MARK: Deployments

    /// Records a deployment.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - at: When.
    ///   - revision: Revision.
    ///   - description: Description.
    ///   - user: User.
    /// - Returns: The deployment.
    public func recordDeployment(
        appID: Int64,
        at: Double,
        revision: String,
        description: String,
        user: String
    ) async throws -> Deployment {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO deployments (app_id, at, revision, description, user) VALUES (?, ?, ?, ?, ?)",
                arguments: [appID, at, revision, description, user]
            )
            return Deployment(
                id: db.lastInsertedRowID,
                appID: appID,
                at: at,
                revision: revision,
                description: description,
                user: user
            )
        }
    }

    /// Deployments in a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    /// - Returns: Deployments.
    public func deployments(appID: Int64, range: Range<Int64>) async throws -> [Deployment] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM deployments WHERE app_id = ? AND at >= ? AND at < ? ORDER BY at",
                arguments: [appID, range.lowerBound, range.upperBound]
            ).map {
                Deployment(
                    id: $0["id"],
                    appID: $0["app_id"],
                    at: $0["at"],
                    revision: $0["revision"],
                    description: $0["description"],
                    user: $0["user"]
                )
            }
        }
    }

    // MARK: Maintenance

    /// Row counts and file size.
    ///
    /// - Returns: Statistics.
    public func statistics() async throws -> StoreStatistics {
        let rows = try await writer.read { db in
            var rows: [String: Int] = [:]
            for table in [
                "txn_minutes", "txn_hours", "app_minutes", "seg_minutes", "traces", "error_groups", "batches", "apps",
            ] {
                rows[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return rows
        }
        var size: Int64 = 0
        if let path {
            for file in [path, path + "-wal"] {
                let attributes = try? FileManager.default.attributesOfItem(atPath: file)
                size += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            }
        }
        return StoreStatistics(rows: rows, fileSize: size)
    }
}
