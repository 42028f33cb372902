public import APMStorage
import Foundation
import NIOCore
import PostgresNIO
import Synchronization

extension PostgresStore {
    // MARK: Maintenance

    /// As ``APMStore`` describes it, on PostgreSQL: one statement, so two collectors asking at once get one answer
    /// each and only one of them the lease.
    public func holdLease(_ name: String, holder: String, seconds: Double, now: Double) async throws -> Bool {
        let rows = try await rows(
            """
            INSERT INTO leases (name, holder, expires_at) VALUES (\(name), \(holder), \(now + seconds))
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
            WHERE leases.holder = excluded.holder OR leases.expires_at <= \(now)
            RETURNING holder
            """
        )
        return !rows.isEmpty
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func applyRetention(minuteCutoff: Int64, cutoff: Int64, batchIDCutoff: Int64) async throws -> RetentionReport
    {
        try await prepare()
        var report = RetentionReport(minuteRowsDeleted: 0, hourRowsDeleted: 0, otherRowsDeleted: 0)
        for (resolution, limit) in [(SliceResolution.minute, minuteCutoff), (.hour, cutoff)] {
            for prefix in ["txn", "app", "seg"] {
                let parent = Self.table(prefix, resolution)
                var deleted = 0
                // Whole partitions past the cutoff are dropped; the rows of the one it falls in are deleted.
                for partition in try await partitions(of: parent, resolution: resolution) where partition.end <= limit {
                    deleted += Int(
                        try await rows(PostgresQuery(unsafeSQL: "SELECT count(*) AS n FROM \(partition.name)")).first?
                            .get("n", as: Int64.self) ?? 0
                    )
                    try await execute(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(partition.name)"))
                    knownPartitions.withLock { _ = $0.remove(partition.name) }
                }
                deleted += try await deleteRows(
                    "DELETE FROM \(unescaped: parent) WHERE bucket < \(limit) RETURNING 1"
                )
                if resolution == .minute {
                    report.minuteRowsDeleted += deleted
                } else {
                    report.hourRowsDeleted += deleted
                }
            }
        }
        for table in ["error_minutes", "drop_minutes", "process_minutes", "metric_minutes"] {
            report.minuteRowsDeleted += try await deleteRows(
                "DELETE FROM \(unescaped: table) WHERE bucket < \(minuteCutoff) RETURNING 1"
            )
        }
        report.hourRowsDeleted += try await deleteRows("DELETE FROM metric_hours WHERE bucket < \(cutoff) RETURNING 1")
        // A series not seen for as long as hour rows are kept has none left.
        report.otherRowsDeleted += try await deleteRows(
            "DELETE FROM metric_series WHERE last_seen < \(Double(cutoff)) RETURNING 1"
        )
        for (table, column) in [
            ("traces", "start"), ("deployments", "at"), ("process_events", "at"), ("issue_events", "created_at"),
        ] {
            report.otherRowsDeleted += try await deleteRows(
                "DELETE FROM \(unescaped: table) WHERE \(unescaped: column) < \(Double(cutoff)) RETURNING 1"
            )
        }
        // An issue someone resolved or ignored keeps its state (and its last sample) while its minutes age out.
        report.otherRowsDeleted += try await deleteRows(
            """
            DELETE FROM error_groups WHERE last_seen < \(Double(cutoff))
            AND state NOT IN ('resolved', 'resolved_next_deployment', 'ignored') RETURNING 1
            """
        )
        // An issue's counts by facet and samples age out with it; a merge's alias goes with the issue it points to.
        report.otherRowsDeleted += try await deleteRows(
            """
            DELETE FROM error_facets f WHERE f.last_seen < \(Double(cutoff))
            OR NOT EXISTS (SELECT 1 FROM error_groups g WHERE g.id = f.group_id) RETURNING 1
            """
        )
        report.otherRowsDeleted += try await deleteRows(
            "DELETE FROM error_samples WHERE at < \(Double(cutoff)) RETURNING 1"
        )
        report.otherRowsDeleted += try await deleteRows(
            """
            DELETE FROM error_group_aliases a
            WHERE a.merged_at < \(Double(cutoff)) AND NOT EXISTS (SELECT 1 FROM error_groups g WHERE g.id = a.group_id)
            RETURNING 1
            """
        )
        report.otherRowsDeleted += try await deleteRows(
            "DELETE FROM batches WHERE received_at < \(Double(batchIDCutoff)) RETURNING 1"
        )
        // Alert history: resolved incidents and finished notifications (open and pending ones stay).
        report.otherRowsDeleted += try await deleteRows(
            "DELETE FROM alert_incidents WHERE resolved_at < \(cutoff) RETURNING 1"
        )
        report.otherRowsDeleted += try await deleteRows(
            """
            DELETE FROM alert_deliveries WHERE created_at < \(Double(cutoff))
            AND (delivered_at IS NOT NULL OR gave_up_at IS NOT NULL) RETURNING 1
            """
        )
        return report
    }

    private func deleteRows(_ query: PostgresQuery) async throws -> Int {
        try await rows(query).count
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func statistics() async throws -> StoreStatistics {
        // Estimates (the planner's row counts): counting rows of a large table on every scrape would scan it.
        var rows: [String: Int] = [:]
        let tables = [
            "txn_minutes", "txn_hours", "app_minutes", "seg_minutes", "traces", "error_groups", "batches", "apps",
        ]
        for row in try await self.rows(
            """
            SELECT p.relname AS name, COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint AS n
            FROM pg_class p LEFT JOIN pg_inherits i ON i.inhparent = p.oid
            LEFT JOIN pg_class c ON c.oid = COALESCE(i.inhrelid, p.oid)
            WHERE p.relname = ANY(\(tables)::text[]) AND p.relnamespace = 'public'::regnamespace
            GROUP BY p.relname
            """
        ) {
            rows[try row.get("name")] = Int(try row.get("n", as: Int64.self))
        }
        let size =
            try await self.rows("SELECT pg_database_size(current_database()) AS n").first?.get(
                "n",
                as: Int64.self
            ) ?? 0
        return StoreStatistics(rows: rows, fileSize: size)
    }
}
