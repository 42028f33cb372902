import APMCore
public import APMStorage
import Foundation
import GRDB

/// The ErrorGroupStore role: issues, their facets, samples, series, states and merges.
extension SQLiteStore {
    /// Error groups in a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    ///   - limit: At most this many.
    /// - Returns: Groups, most frequent in the range first.
    public func errorGroups(
        appID: Int64,
        range: Range<Int64>,
        limit: Int,
        filter: ErrorGroupFilter,
        order: ErrorGroupOrder
    ) async throws -> [ErrorGroup] {
        let orderBy = order.orderBy
        return try await writer.read { db in
            let decoder = WireCoding.makeDecoder()
            var arguments: StatementArguments = [
                IngestRules.overflowName, appID, range.lowerBound - range.lowerBound % 60, range.upperBound,
            ]
            var conditions = ""
            if let states = filter.states {
                let sorted = states.map(\.rawValue).sorted()
                conditions += "AND g.state IN (\(Array(repeating: "?", count: sorted.count).joined(separator: ", ")))"
                if sorted.isEmpty { conditions = "AND 0" }
                arguments += StatementArguments(sorted)
            }
            if let transaction = filter.transaction {
                conditions += """
                     AND EXISTS (SELECT 1 FROM error_facets f WHERE f.app_id = g.app_id AND f.group_id = g.id
                        AND f.facet = 'transaction' AND f.value = ?)
                    """
                arguments += [transaction]
            }
            if let firstSeen = filter.firstSeen {
                conditions += " AND g.first_seen >= ? AND g.first_seen < ?"
                arguments += [firstSeen.lowerBound, firstSeen.upperBound]
            }
            arguments += [limit]
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT g.*, sat_sum(m.count) AS range_count,
                        (SELECT COUNT(*) FROM error_facets f WHERE f.app_id = g.app_id AND f.group_id = g.id
                            AND f.facet = 'user' AND f.value <> ?) AS users_affected
                    FROM error_groups g JOIN error_minutes m ON m.group_id = g.id AND m.app_id = g.app_id
                    WHERE g.app_id = ? AND m.bucket >= ? AND m.bucket < ? \(conditions)
                    GROUP BY g.id ORDER BY \(orderBy) LIMIT ?
                    """,
                arguments: arguments
            ).map { try ErrorGroup(row: $0, decoder: decoder) }
        }
    }

    /// As ``APMStore`` describes it.
    public func errorGroupFacets(
        appID: Int64,
        groupID: Int64,
        limit: Int
    ) async throws -> [ErrorFacetKind: [ErrorFacetCount]] {
        try await writer.read { db in
            var result: [ErrorFacetKind: [ErrorFacetCount]] = [:]
            for kind in ErrorFacetKind.allCases {
                result[kind] = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT value, count, last_seen FROM error_facets WHERE app_id = ? AND group_id = ? AND facet = ?
                        ORDER BY count DESC, value LIMIT ?
                        """,
                    arguments: [appID, groupID, kind.rawValue, limit]
                ).map { try ErrorFacetCount(row: $0) }
            }
            return result
        }
    }

    /// As ``APMStore`` describes it.
    public func errorGroupSamples(appID: Int64, groupID: Int64) async throws -> [StoredErrorSample] {
        try await writer.read { db in
            let decoder = WireCoding.makeDecoder()
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT id, at, host, sample FROM error_samples WHERE app_id = ? AND group_id = ?
                    ORDER BY at DESC, id DESC LIMIT ?
                    """,
                arguments: [appID, groupID, IngestRules.samplesPerIssue]
            ).map { try StoredErrorSample(row: $0, decoder: decoder) }
        }
    }

    /// As ``APMStore`` describes it.
    public func mergeErrorGroups(
        appID: Int64,
        into target: Int64,
        from sources: [Int64],
        by user: String,
        at now: Double
    ) async throws -> [Int64]? {
        try await writer.write { db in
            guard
                try Bool.fetchOne(
                    db,
                    sql: "SELECT 1 FROM error_groups WHERE app_id = ? AND id = ?",
                    arguments: [appID, target]
                ) == true
            else { return nil }
            var merged: [Int64] = []
            for source in Set(sources).sorted() where source != target {
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT * FROM error_groups WHERE app_id = ? AND id = ?",
                        arguments: [appID, source]
                    )
                else { continue }
                try merge(db, row, appID: appID, source: source, into: target, by: user, at: now)
                merged.append(source)
            }
            try db.execute(
                sql: """
                    DELETE FROM error_samples WHERE group_id = ?1 AND id NOT IN (
                        SELECT id FROM error_samples WHERE group_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2)
                    """,
                arguments: [target, IngestRules.samplesPerIssue]
            )
            return merged
        }
    }

    /// Moves one issue into another: its counts, span and latest sample, minutes and facets (added), samples,
    /// events, aliases and notifications (moved); its fingerprint becomes an alias of the target.
    private func merge(
        _ db: Database,
        _ row: Row,
        appID: Int64,
        source: Int64,
        into target: Int64,
        by user: String,
        at now: Double
    ) throws {
        let fingerprint: String = row["fingerprint"]
        // The target takes the counts, the span of times, and the latest sample of both.
        try db.execute(
            sql: """
                UPDATE error_groups SET count = sat_add(count, ?), first_seen = MIN(first_seen, ?),
                    transaction_name = CASE WHEN ? > last_seen THEN ? ELSE transaction_name END,
                    sample = CASE WHEN ? > last_seen THEN ? ELSE sample END,
                    last_seen = MAX(last_seen, ?)
                WHERE id = ?
                """,
            arguments: [
                row["count"] as Int64, row["first_seen"] as Double, row["last_seen"] as Double,
                row["transaction_name"] as String, row["last_seen"] as Double, row["sample"] as String,
                row["last_seen"] as Double, target,
            ]
        )
        for (table, keys, merge) in [
            ("error_minutes", "bucket", "count = sat_add(count, excluded.count)"),
            (
                "error_facets", "facet, value",
                "count = sat_add(count, excluded.count), last_seen = MAX(last_seen, excluded.last_seen)"
            ),
        ] {
            let columns = table == "error_minutes" ? "bucket, count" : "facet, value, count, last_seen"
            try db.execute(
                sql: """
                    INSERT INTO \(table) (app_id, group_id, \(columns))
                    SELECT app_id, ?, \(columns) FROM \(table) WHERE app_id = ? AND group_id = ? AND true
                    ON CONFLICT (app_id, group_id, \(keys)) DO UPDATE SET \(merge)
                    """,
                arguments: [target, appID, source]
            )
            try db.execute(
                sql: "DELETE FROM \(table) WHERE app_id = ? AND group_id = ?",
                arguments: [appID, source]
            )
        }
        try db.execute(
            sql: "UPDATE error_samples SET group_id = ? WHERE app_id = ? AND group_id = ?",
            arguments: [target, appID, source]
        )
        try db.execute(
            sql: "UPDATE issue_events SET group_id = ? WHERE app_id = ? AND group_id = ?",
            arguments: [target, appID, source]
        )
        try db.execute(
            sql: "UPDATE error_group_aliases SET group_id = ? WHERE app_id = ? AND group_id = ?",
            arguments: [target, appID, source]
        )
        try db.execute(
            sql: "UPDATE alert_deliveries SET issue_id = ? WHERE issue_id = ?",
            arguments: [target, source]
        )
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO error_group_aliases (app_id, fingerprint, group_id, merged_at, merged_by)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [appID, fingerprint, target, now, user]
        )
        try db.execute(sql: "DELETE FROM error_groups WHERE id = ?", arguments: [source])
    }

    /// As ``APMStore`` describes it.
    public func errorGroup(appID: Int64, id: Int64) async throws -> ErrorGroup? {
        try await writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT g.*, g.count AS range_count,
                        (SELECT COUNT(*) FROM error_facets f WHERE f.app_id = g.app_id AND f.group_id = g.id
                            AND f.facet = 'user' AND f.value <> ?) AS users_affected
                    FROM error_groups g WHERE g.app_id = ? AND g.id = ?
                    """,
                arguments: [IngestRules.overflowName, appID, id]
            ).map { try ErrorGroup(row: $0, decoder: WireCoding.makeDecoder()) }
        }
    }

    /// As ``APMStore`` describes it.
    public func changeErrorGroupState(
        appID: Int64,
        groupID: Int64,
        to change: ErrorGroupStateChange,
        by user: String,
        at now: Double
    ) async throws -> ErrorGroupStatus? {
        let (more, until) = change.ignoreLimits
        return try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE error_groups SET state = ?, state_changed_at = ?, state_changed_by = ?,
                        ignore_until_count = CASE WHEN ? IS NULL THEN NULL ELSE sat_add(count, ?) END, ignore_until = ?
                    WHERE app_id = ? AND id = ?
                    """,
                arguments: [change.state.rawValue, now, user, more, more, until, appID, groupID]
            )
            guard db.changesCount > 0,
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM error_groups WHERE app_id = ? AND id = ?",
                    arguments: [appID, groupID]
                )
            else { return nil }
            return try ErrorGroupStatus(row: row)
        }
    }

    /// An error group's counts per minute.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - groupID: The group.
    ///   - range: Unix seconds.
    /// - Returns: Minute → count.
    public func errorGroupSeries(appID: Int64, groupID: Int64, range: Range<Int64>) async throws -> [Int64: UInt64] {
        try await writer.read { db in
            var result: [Int64: UInt64] = [:]
            for row in try Row.fetchAll(
                db,
                sql:
                    "SELECT bucket, count FROM error_minutes WHERE app_id = ? AND group_id = ? AND bucket >= ? AND bucket < ?",
                arguments: [appID, groupID, range.lowerBound - range.lowerBound % 60, range.upperBound]
            ) {
                result[row["bucket"]] = UInt64(clamping: row["count"] as Int64)
            }
            return result
        }
    }
}
