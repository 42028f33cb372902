import APMStorage
import Foundation
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// Applies the migrations not applied yet, in one transaction under an advisory lock: collectors that start
    /// together wait for the first, then find nothing to do.
    func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger)
            try await connection.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name text PRIMARY KEY, applied_at double precision NOT NULL)
                """,
                logger
            )
            let applied = Set(
                try await connection.rows("SELECT name FROM schema_migrations", logger).map {
                    try $0.get("name", as: String.self)
                }
            )
            for migration in Self.migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.execute(PostgresQuery(unsafeSQL: statement), logger)
                }
                let now = Date().timeIntervalSince1970
                try await connection.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (\(migration.name), \(now))",
                    logger
                )
            }
        }
    }

    /// Advisory lock keys (the first of two int4 keys names the purpose).
    static let migrationLock: Int64 = 0x4150_4d00_0000_0001
    static let partitionLock: Int64 = 0x4150_4d00_0000_0002
    /// Per account, while an app is created (the app limit); per app, while a commit writes it.
    static let accountLockSpace: Int32 = 0x4150_4d01
    static let appLockSpace: Int32 = 0x4150_4d02

    // MARK: Partitions

    /// Seconds of buckets per partition: a day of minute rows, 30 days of hour rows.
    static func partitionSpan(_ resolution: SliceResolution) -> Int64 {
        resolution == .minute ? 86_400 : 30 * 86_400
    }

    static func table(_ prefix: String, _ resolution: SliceResolution) -> String {
        "\(prefix)_\(resolution == .minute ? "minutes" : "hours")"
    }

    /// Creates the partitions that the buckets need (own transactions, before the commit that writes them).
    func ensurePartitions(buckets: [SliceResolution: Set<Int64>]) async throws {
        var needed: [(table: String, parent: String, start: Int64, end: Int64)] = []
        for (resolution, buckets) in buckets {
            let span = Self.partitionSpan(resolution)
            let starts = Set(buckets.map { $0 - (($0 % span) + span) % span })
            for start in starts {
                for prefix in ["txn", "app", "seg"] {
                    let parent = Self.table(prefix, resolution)
                    let name = "\(parent)_p\(start < 0 ? "m\(-start)" : "\(start)")"
                    needed.append((name, parent, start, start + span))
                }
            }
        }
        let missing = knownPartitions.withLock { known in needed.filter { !known.contains($0.table) } }
        guard !missing.isEmpty else { return }
        // Within store_timeout and the outage fast-fail as every operation: a commit that finds a new bucket
        // while the server is gone must not wait on the pool.
        try await transaction { [logger] connection in
            // Two collectors creating the same partition at once would collide on its name.
            try await connection.execute("SELECT pg_advisory_xact_lock(\(Self.partitionLock))", logger)
            for partition in missing {
                try await connection.execute(
                    PostgresQuery(
                        unsafeSQL:
                            "CREATE TABLE IF NOT EXISTS \(partition.table) PARTITION OF \(partition.parent) FOR VALUES FROM (\(partition.start)) TO (\(partition.end))"
                    ),
                    logger
                )
            }
        }
        knownPartitions.withLock { known in known.formUnion(missing.map(\.table)) }
    }

    /// The partitions of a table with their ranges' starts and ends.
    func partitions(of parent: String, resolution: SliceResolution) async throws -> [(name: String, end: Int64)] {
        try await rows(
            """
            SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = \(parent)
            """
        ).compactMap { row in
            let name = try row.get("name", as: String.self)
            guard let marker = name.range(of: "_p", options: .backwards) else { return nil }
            let suffix = name[marker.upperBound...]
            let start = suffix.hasPrefix("m") ? -(Int64(suffix.dropFirst()) ?? 0) : Int64(suffix)
            return start.map { (name, $0 + Self.partitionSpan(resolution)) }
        }
    }
}
