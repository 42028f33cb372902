import APMCore
public import APMStorage
import Foundation
import NIOCore
import PostgresNIO

/// The ErrorGroupStore role: issues, their facets, samples, series, states and merges.
extension PostgresStore {
    /// As ``APMStore`` describes it, on PostgreSQL.
    public func errorGroups(
        appID: Int64,
        range: Range<Int64>,
        limit: Int,
        filter: ErrorGroupFilter,
        order: ErrorGroupOrder
    ) async throws -> [ErrorGroup] {
        let decoder = WireCoding.makeDecoder()
        let stateNames = filter.states.map { $0.map(\.rawValue).sorted() }
        return try await rows(
            """
            SELECT g.*, r.range_count,
                (SELECT COUNT(*) FROM error_facets f WHERE f.app_id = g.app_id AND f.group_id = g.id
                    AND f.facet = 'user' AND f.value <> \(IngestRules.overflowName)) AS users_affected
            FROM error_groups g JOIN (
                SELECT group_id, LEAST(SUM(count), \(unescaped: bigintMax))::bigint AS range_count FROM error_minutes
                WHERE app_id = \(appID) AND bucket >= \(range.lowerBound - range.lowerBound % 60) AND bucket < \(range.upperBound)
                GROUP BY group_id
            ) r ON r.group_id = g.id
            WHERE g.app_id = \(appID) AND (\(stateNames)::text[] IS NULL OR g.state = ANY(\(stateNames)::text[]))
                AND (\(filter.transaction)::text IS NULL OR EXISTS (
                    SELECT 1 FROM error_facets f WHERE f.app_id = g.app_id AND f.group_id = g.id
                        AND f.facet = 'transaction' AND f.value = \(filter.transaction)::text))
                AND (\(filter.firstSeen?.lowerBound)::float8 IS NULL
                    OR (g.first_seen >= \(filter.firstSeen?.lowerBound)::float8
                        AND g.first_seen < \(filter.firstSeen?.upperBound)::float8))
            ORDER BY \(unescaped: order.orderBy) LIMIT \(Int64(limit))
            """
        ).map { try ErrorGroup(row: PostgresStoredRow($0), decoder: decoder) }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func errorGroupFacets(
        appID: Int64,
        groupID: Int64,
        limit: Int
    ) async throws -> [ErrorFacetKind: [ErrorFacetCount]] {
        var result: [ErrorFacetKind: [ErrorFacetCount]] = [:]
        for kind in ErrorFacetKind.allCases {
            result[kind] = try await rows(
                """
                SELECT value, count, last_seen FROM error_facets
                WHERE app_id = \(appID) AND group_id = \(groupID) AND facet = \(kind.rawValue)
                ORDER BY count DESC, value LIMIT \(Int64(limit))
                """
            ).map { try ErrorFacetCount(row: PostgresStoredRow($0)) }
        }
        return result
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func errorGroupSamples(appID: Int64, groupID: Int64) async throws -> [StoredErrorSample] {
        let decoder = WireCoding.makeDecoder()
        return try await rows(
            """
            SELECT id, at, host, sample FROM error_samples WHERE app_id = \(appID) AND group_id = \(groupID)
            ORDER BY at DESC, id DESC LIMIT \(Int64(IngestRules.samplesPerIssue))
            """
        ).map { try StoredErrorSample(row: PostgresStoredRow($0), decoder: decoder) }
    }

    /// As ``APMStore`` describes it, on PostgreSQL: the groups' rows are locked first, so an ingest that writes
    /// one of them waits for the merge and then finds the alias.
    public func mergeErrorGroups(
        appID: Int64,
        into target: Int64,
        from sources: [Int64],
        by user: String,
        at now: Double
    ) async throws -> [Int64]? {
        try await transaction { [self] connection in
            let ids = Array(Set(sources + [target])).sorted()
            let locked = try await connection.rows(
                "SELECT * FROM error_groups WHERE app_id = \(appID) AND id = ANY(\(ids)::bigint[]) ORDER BY id FOR UPDATE",
                logger
            )
            guard locked.contains(where: { (try? $0.get("id", as: Int64.self)) == target }) else { return nil }
            var merged: [Int64] = []
            for row in locked {
                let source = try row.get("id", as: Int64.self)
                guard source != target else { continue }
                try await merge(connection, row, appID: appID, into: target, by: user, at: now)
                merged.append(source)
            }
            try await connection.execute(
                """
                DELETE FROM error_samples WHERE group_id = \(target) AND id NOT IN (
                    SELECT id FROM error_samples WHERE group_id = \(target) ORDER BY at DESC, id DESC
                    LIMIT \(Int64(IngestRules.samplesPerIssue)))
                """,
                logger
            )
            return merged
        }
    }

    /// Moves one issue into another: its counts, span and latest sample, minutes and facets (added), samples,
    /// events, aliases and notifications (moved); its fingerprint becomes an alias of the target.
    private func merge(
        _ connection: PostgresConnection,
        _ row: PostgresRandomAccessRow,
        appID: Int64,
        into target: Int64,
        by user: String,
        at now: Double
    ) async throws {
        let source = try row.get("id", as: Int64.self)
        let lastSeen = try row.get("last_seen", as: Double.self)
        try await connection.execute(
            """
            UPDATE error_groups SET count = sat_add(count, \(try row.get("count", as: Int64.self))),
                first_seen = LEAST(first_seen, \(try row.get("first_seen", as: Double.self))),
                transaction_name = CASE WHEN \(lastSeen) > last_seen
                    THEN \(try row.get("transaction_name", as: String.self)) ELSE transaction_name END,
                sample = CASE WHEN \(lastSeen) > last_seen
                    THEN \(try row.get("sample", as: String.self)) ELSE sample END,
                last_seen = GREATEST(last_seen, \(lastSeen))
            WHERE id = \(target)
            """,
            logger
        )
        try await connection.execute(
            """
            INSERT INTO error_minutes (app_id, group_id, bucket, count)
            SELECT app_id, \(target), bucket, count FROM error_minutes WHERE app_id = \(appID) AND group_id = \(source)
            ON CONFLICT (app_id, group_id, bucket) DO UPDATE SET count = sat_add(error_minutes.count, excluded.count)
            """,
            logger
        )
        try await connection.execute(
            """
            INSERT INTO error_facets (app_id, group_id, facet, value, count, last_seen)
            SELECT app_id, \(target), facet, value, count, last_seen FROM error_facets
            WHERE app_id = \(appID) AND group_id = \(source)
            ON CONFLICT (app_id, group_id, facet, value) DO UPDATE SET
                count = sat_add(error_facets.count, excluded.count),
                last_seen = GREATEST(error_facets.last_seen, excluded.last_seen)
            """,
            logger
        )
        for table in ["error_minutes", "error_facets"] {
            try await connection.execute(
                "DELETE FROM \(unescaped: table) WHERE app_id = \(appID) AND group_id = \(source)",
                logger
            )
        }
        for table in ["error_samples", "issue_events", "error_group_aliases"] {
            try await connection.execute(
                """
                UPDATE \(unescaped: table) SET group_id = \(target)
                WHERE app_id = \(appID) AND group_id = \(source)
                """,
                logger
            )
        }
        try await connection.execute(
            "UPDATE alert_deliveries SET issue_id = \(target) WHERE issue_id = \(source)",
            logger
        )
        try await connection.execute(
            """
            INSERT INTO error_group_aliases (app_id, fingerprint, group_id, merged_at, merged_by)
            VALUES (\(appID), \(try row.get("fingerprint", as: String.self)), \(target), \(now), \(user))
            ON CONFLICT (app_id, fingerprint) DO UPDATE SET group_id = excluded.group_id,
                merged_at = excluded.merged_at, merged_by = excluded.merged_by
            """,
            logger
        )
        try await connection.execute("DELETE FROM error_groups WHERE id = \(source)", logger)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func errorGroup(appID: Int64, id: Int64) async throws -> ErrorGroup? {
        try await rows(
            """
            SELECT g.*, g.count AS range_count,
                (SELECT COUNT(*) FROM error_facets f WHERE f.app_id = g.app_id AND f.group_id = g.id
                    AND f.facet = 'user' AND f.value <> \(IngestRules.overflowName)) AS users_affected
            FROM error_groups g WHERE g.app_id = \(appID) AND g.id = \(id)
            """
        ).first.map { try ErrorGroup(row: PostgresStoredRow($0), decoder: WireCoding.makeDecoder()) }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func changeErrorGroupState(
        appID: Int64,
        groupID: Int64,
        to change: ErrorGroupStateChange,
        by user: String,
        at now: Double
    ) async throws -> ErrorGroupStatus? {
        let (more, until) = change.ignoreLimits
        return try await rows(
            """
            UPDATE error_groups SET state = \(change.state.rawValue), state_changed_at = \(now), state_changed_by = \(user),
                ignore_until_count = CASE WHEN \(more)::bigint IS NULL THEN NULL ELSE sat_add(count, \(more)::bigint) END,
                ignore_until = \(until)::float8
            WHERE app_id = \(appID) AND id = \(groupID)
            RETURNING *
            """
        ).first.map { try ErrorGroupStatus(row: PostgresStoredRow($0)) }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func errorGroupSeries(appID: Int64, groupID: Int64, range: Range<Int64>) async throws -> [Int64: UInt64] {
        var result: [Int64: UInt64] = [:]
        for row in try await rows(
            """
            SELECT bucket, count FROM error_minutes WHERE app_id = \(appID) AND group_id = \(groupID)
                AND bucket >= \(range.lowerBound - range.lowerBound % 60) AND bucket < \(range.upperBound)
            """
        ) {
            result[try row.get("bucket")] = UInt64(clamping: try row.get("count", as: Int64.self))
        }
        return result
    }
}
