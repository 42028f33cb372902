import APMCore
public import APMStorage
import Foundation
import GRDB
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension SQLiteStore {
    /// Deletes minute rows older than `minuteCutoff` and everything else older than `cutoff`, a few thousand rows
    /// per transaction, so that commits of ingest interleave with it instead of waiting for all of it.
    ///
    /// - Parameters:
    ///   - minuteCutoff: Unix seconds; minute rows before it are deleted.
    ///   - cutoff: Unix seconds; hour rows, traces, error groups and deployments before it are deleted.
    ///   - batchIDCutoff: Unix seconds; batch ids received before it are forgotten.
    /// - Returns: What was deleted.
    public func applyRetention(minuteCutoff: Int64, cutoff: Int64, batchIDCutoff: Int64) async throws -> RetentionReport
    {
        var report = RetentionReport(minuteRowsDeleted: 0, hourRowsDeleted: 0, otherRowsDeleted: 0)
        for table in [
            "txn_minutes", "app_minutes", "seg_minutes", "error_minutes", "drop_minutes", "process_minutes",
            "metric_minutes",
        ] {
            report.minuteRowsDeleted += try await deleteInChunks(
                table,
                keys: Self.primaryKeys[table]!,
                where: "bucket < ?",
                minuteCutoff
            )
        }
        for table in ["txn_hours", "app_hours", "seg_hours", "metric_hours"] {
            report.hourRowsDeleted += try await deleteInChunks(
                table,
                keys: Self.primaryKeys[table]!,
                where: "bucket < ?",
                cutoff
            )
        }
        for (table, condition) in [
            // An issue someone resolved or ignored keeps its state (and its last sample) while its minutes age out,
            // so that it regresses, or stays ignored, when it occurs again.
            ("traces", "start < ?"),
            ("error_groups", "last_seen < ? AND state NOT IN ('resolved', 'resolved_next_deployment', 'ignored')"),
            ("deployments", "at < ?"),
            ("process_events", "at < ?"),
            ("issue_events", "created_at < ?"),
            ("error_samples", "at < ?"),
            // Alert history: resolved incidents and finished notifications (open and pending ones stay).
            ("alert_incidents", "resolved_at < ?"),
            ("alert_deliveries", "created_at < ? AND (delivered_at IS NOT NULL OR gave_up_at IS NOT NULL)"),
        ] {
            report.otherRowsDeleted += try await deleteInChunks(table, keys: ["id"], where: condition, cutoff)
        }
        // A series not seen for as long as hour rows are kept has none left. The writer's cache of series forgets
        // them in the same transaction, so that no commit after it writes to a deleted series.
        report.otherRowsDeleted += try await deleteInChunks(
            "metric_series",
            keys: ["id"],
            where: "last_seen < ?",
            cutoff
        ) {
            self.metricSeriesCache.withLock { $0 = [:] }
        }
        // An issue's counts by facet age out with it; a merge's alias goes with the issue it points to.
        report.otherRowsDeleted += try await deleteInChunks(
            "error_facets",
            keys: Self.primaryKeys["error_facets"]!,
            where: "last_seen < ? OR NOT EXISTS (SELECT 1 FROM error_groups g WHERE g.id = error_facets.group_id)",
            Double(cutoff)
        )
        report.otherRowsDeleted += try await deleteInChunks(
            "error_group_aliases",
            keys: ["app_id", "fingerprint"],
            where:
                "merged_at < ? AND NOT EXISTS (SELECT 1 FROM error_groups g WHERE g.id = error_group_aliases.group_id)",
            Double(cutoff)
        )
        report.otherRowsDeleted += try await deleteInChunks(
            "batches",
            keys: ["account_id", "batch_id"],
            where: "received_at < ?",
            batchIDCutoff
        )
        return report
    }

    /// The primary key columns of the tables retention trims by bucket (WITHOUT ROWID tables have no rowid).
    static let primaryKeys: [String: [String]] = [
        "txn_minutes": ["app_id", "bucket", "name", "apdex_t"], "txn_hours": ["app_id", "bucket", "name", "apdex_t"],
        "app_minutes": ["app_id", "bucket", "kind"], "app_hours": ["app_id", "bucket", "kind"],
        "seg_minutes": ["app_id", "bucket", "transaction_name", "name"],
        "seg_hours": ["app_id", "bucket", "transaction_name", "name"],
        "error_minutes": ["app_id", "group_id", "bucket"],
        "error_facets": ["app_id", "group_id", "facet", "value"], "drop_minutes": ["app_id", "bucket"],
        "process_minutes": ["app_id", "bucket", "host", "pid"], "log_counts": ["app_id", "bucket", "level"],
        "metric_minutes": ["app_id", "series_id", "bucket"], "metric_hours": ["app_id", "series_id", "bucket"],
    ]

    /// Deletes the rows matching `condition`, at most `retentionChunk` per write transaction, calling
    /// `afterEachChunk` inside each transaction that deleted some.
    func deleteInChunks(
        _ table: String,
        keys: [String],
        where condition: String,
        _ value: any DatabaseValueConvertible & Sendable,
        afterEachChunk: @escaping @Sendable () -> Void = {}
    ) async throws -> Int {
        let columns = keys.joined(separator: ", ")
        var deleted = 0
        while true {
            let count = try await writer.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM \(table) WHERE (\(columns)) IN
                            (SELECT \(columns) FROM \(table) WHERE \(condition) LIMIT \(retentionChunk))
                        """,
                    arguments: [value]
                )
                if db.changesCount > 0 { afterEachChunk() }
                return db.changesCount
            }
            deleted += count
            if count < retentionChunk { return deleted }
        }
    }

    /// Creates the first account, its license key and the administrator in one transaction, unless an account
    /// exists. Refuses when the database holds data but no account: that is a database that lost its identity
    /// (a copy without its write-ahead log, a damaged log), and setting up a new account over it would leave
    /// every agent's key rejected.
    ///
    /// - Parameters:
    ///   - accountName: The account's name.
    ///   - keyHash: The license key's hash.
    ///   - keyPrefix: The key's display prefix.
    ///   - adminName: The administrator's login.
    ///   - passwordHash: The administrator's password hash.
    /// - Returns: The account, or `nil` when one existed.
    /// - Throws: ``StoreError`` (`dataDirectoryNotEmpty`) for data without an account.
    public func bootstrap(
        accountName: String,
        keyHash: String,
        keyPrefix: String,
        adminName: String,
        passwordHash: String,
        now: Double
    ) async throws -> Account? {
        try await writer.write { db -> Account? in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM accounts") == 0 else { return nil }
            for table in ["apps", "license_keys", "users", "batches", "txn_hours"] {
                guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") == 0 else {
                    throw StoreError(
                        .dataDirectoryNotEmpty,
                        "the database holds data (\(table)) but no account: it is not the database that was set up (a copy of apm.sqlite without its -wal file, or a damaged one). Restore a backup made with `apm backup`, or move the data directory away to start afresh; it was not changed"
                    )
                }
            }
            try db.execute(sql: "INSERT INTO accounts (name, created_at) VALUES (?, ?)", arguments: [accountName, now])
            let account = Account(id: db.lastInsertedRowID, name: accountName, createdAt: now)
            try db.execute(
                sql: "INSERT INTO license_keys (account_id, name, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [account.id, "default", keyHash, keyPrefix, now]
            )
            try db.execute(
                sql:
                    "INSERT INTO users (account_id, name, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [account.id, adminName, passwordHash, now, now]
            )
            return account
        }
    }

    /// What is wrong with the store now, for `/healthz`: empty when it reads and has room to write.
    ///
    /// - Returns: Problems, each a sentence.
    public func problems() async -> [String] {
        var problems: [String] = []
        do {
            _ = try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM accounts") }
        } catch {
            problems.append("the database cannot be read: \(StoreError.recognizing(error)?.message ?? "\(error)")")
        }
        if let path, let damage = await integrityCheck.problem(of: path) {
            problems.append(damage)
        }
        if let path {
            let directory = (path as NSString).deletingLastPathComponent
            var info = statvfs()
            if statvfs(directory.isEmpty ? "." : directory, &info) == 0 {
                let free = UInt64(info.f_bavail) * UInt64(info.f_frsize)
                if free < Self.minimumFreeBytes {
                    problems.append(
                        "the disk of \(directory) has \(free / 1_048_576) MiB free, under \(Self.minimumFreeBytes / 1_048_576) MiB: ingest will fail; free space or run retention"
                    )
                }
            }
        }
        return problems
    }

    /// What to say of a damaged database file.
    static func damageAdvice(_ detail: String) -> String {
        "the database file is damaged (\(detail)): stop the collector and restore the latest backup (apm backup), or recover what is readable with sqlite3's .recover"
    }

    /// Below this much free disk `/healthz` reports a problem.
    static let minimumFreeBytes: UInt64 = 64 * 1_048_576

    /// Writes a consistent copy of the database (SQLite's online backup: the write-ahead log included) while the
    /// collector keeps running.
    ///
    /// - Parameters:
    ///   - source: The database file, e.g. `apm-data/apm.sqlite`.
    ///   - destination: The copy's path; must not exist.
    /// - Throws: When either file cannot be opened or the copy fails.
    public static func backup(databaseAt source: String, to destination: String) throws {
        guard FileManager.default.fileExists(atPath: source) else {
            throw StoreError(.dataDirectoryNotEmpty, "no database at \(source)")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(.dataDirectoryNotEmpty, "\(destination) exists; choose a new file")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        let from = try DatabasePool(path: source, configuration: configuration)
        let descriptor = open(destination, O_CREAT | O_EXCL | O_WRONLY, 0o600)
        guard descriptor >= 0 else { throw StoreError(.dataDirectoryNotEmpty, "cannot create \(destination)") }
        Glibc.close(descriptor)
        let to = try DatabaseQueue(path: destination)
        try from.backup(to: to)
        try to.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = DELETE") }
        try to.close()
        try from.close()
    }

    /// Writes everything in the write-ahead log into the database file and closes it, so that the file alone is
    /// the whole database (a copy of it is a backup).
    public func close() async throws {
        if let pool = writer as? DatabasePool {
            try? await pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try pool.close()
        }
        if let queue = writer as? DatabaseQueue { try queue.close() }
    }

    /// Takes or renews a lease (one collector per SQLite file, but the same rules as on PostgreSQL).
    ///
    /// - Parameters:
    ///   - name: The job.
    ///   - holder: The collector.
    ///   - seconds: How long the lease lasts unless renewed.
    ///   - now: Unix seconds.
    /// - Returns: Whether `holder` holds the lease now.
    public func holdLease(_ name: String, holder: String, seconds: Double, now: Double) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                    WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
                    """,
                arguments: [name, holder, now + seconds, now]
            )
            return try String.fetchOne(db, sql: "SELECT holder FROM leases WHERE name = ?", arguments: [name]) == holder
        }
    }
}

extension SQLiteStore {
    /// As ``MaintenanceStore`` describes it: SQLite's full disk, damage and I/O errors.
    public func storeError(for error: any Error) -> StoreError? { StoreError.recognizing(error) }
}

extension StoreError {
    /// The store's error for a database error, when the caller can act on it (a full disk); `nil` otherwise.
    ///
    /// - Parameter error: Any error from a write.
    /// - Returns: A ``StoreError`` or `nil`.
    public static func recognizing(_ error: any Error) -> StoreError? {
        if let error = error as? StoreError { return error }
        guard let database = error as? DatabaseError else { return nil }
        switch database.resultCode {
        case .SQLITE_FULL:
            return StoreError(
                .diskFull,
                "the collector's disk is full (or the database reached its size limit); data cannot be stored until space is freed"
            )
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StoreError(.damaged, SQLiteStore.damageAdvice(database.message ?? "\(database.resultCode)"))
        case .SQLITE_IOERR:
            return StoreError(
                .unavailable,
                "the disk reported an I/O error (\(database.message ?? "SQLITE_IOERR")); check the disk and the kernel log"
            )
        default:
            return nil
        }
    }
}
