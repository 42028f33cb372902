import APMCore
import APMStorage
import Foundation
import NIOCore
import PostgresNIO

/// A commit's error groups (issues): the groups upserted under their merged fingerprints, their minutes, states,
/// events, facets and samples.
extension PostgresStore {
    /// The plan's error groups, each under the issue its fingerprint was merged into (if it was), with their
    /// occurrences.
    func writeErrorGroups(_ connection: PostgresConnection, _ plan: WritePlan) async throws {
        guard !plan.errorGroups.isEmpty else { return }
        // A fingerprint merged into another issue counts for that issue: the aliases of the plan's, at once.
        let keys = Array(plan.errorGroups.keys)
        var aliases: [WritePlan.ErrorGroupKey: String] = [:]
        for row in try await connection.rows(
            """
            SELECT a.app_id, a.fingerprint, g.fingerprint AS target
            FROM error_group_aliases a JOIN error_groups g ON g.id = a.group_id
            JOIN unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.fingerprint))::text[]) AS k(app_id, fingerprint)
                ON a.app_id = k.app_id AND a.fingerprint = k.fingerprint
            """,
            logger
        ) {
            let key = WritePlan.ErrorGroupKey(
                appID: try row.get("app_id", as: Int64.self),
                fingerprint: try row.get("fingerprint", as: String.self)
            )
            aliases[key] = try row.get("target", as: String.self)
        }
        var occurrences: [(groupID: Int64, appID: Int64, group: WritePlan.ErrorGroupDelta)] = []
        for (key, group) in plan.errorGroups {
            let groupID = try await write(
                connection,
                errorGroup: group,
                key: key,
                fingerprint: aliases[key] ?? key.fingerprint,
                receivedAt: plan.lastSeen[key.appID] ?? group.lastSeen
            )
            occurrences.append((groupID, key.appID, group))
        }
        try await writeOccurrences(connection, occurrences)
    }

    func write(
        _ connection: PostgresConnection,
        errorGroup group: WritePlan.ErrorGroupDelta,
        key: WritePlan.ErrorGroupKey,
        fingerprint: String,
        receivedAt: Double
    ) async throws -> Int64 {
        // `xmax = 0` on the returned row: it was inserted, not updated (a new issue).
        let upserted = try await connection.rows(
            """
            INSERT INTO error_groups (app_id, fingerprint, type, message, top_frame, transaction_name, count, first_seen, last_seen, sample)
            VALUES (\(key.appID), \(fingerprint), \(group.type), \(group.message), \(group.topFrame), \(group.transaction),
                \(Int64(clamping: group.count)), \(group.firstSeen), \(group.lastSeen), \(group.sample))
            ON CONFLICT (app_id, fingerprint) DO UPDATE SET
                count = sat_add(error_groups.count, excluded.count),
                first_seen = LEAST(error_groups.first_seen, excluded.first_seen),
                last_seen = GREATEST(error_groups.last_seen, excluded.last_seen),
                transaction_name = CASE WHEN excluded.last_seen >= error_groups.last_seen
                    THEN excluded.transaction_name ELSE error_groups.transaction_name END,
                sample = CASE WHEN excluded.last_seen >= error_groups.last_seen
                    THEN excluded.sample ELSE error_groups.sample END
            RETURNING id, (xmax = 0) AS inserted
            """,
            logger
        ).first
        let groupID = try upserted?.get("id", as: Int64.self) ?? 0
        var events: [(kind: IssueEventKind, at: Double)] = []
        if try upserted?.get("inserted", as: Bool.self) == true { events.append((.new, group.firstSeen)) }
        let minutes = Array(group.minutes)
        try await connection.execute(
            """
            INSERT INTO error_minutes (app_id, group_id, bucket, count)
            SELECT \(key.appID), \(groupID), * FROM unnest(\(minutes.map(\.key))::bigint[], \(minutes.map { Int64(clamping: $0.value) })::bigint[])
            ON CONFLICT (app_id, group_id, bucket) DO UPDATE SET
                count = sat_add(error_minutes.count, excluded.count)
            """,
            logger
        )
        // The occurrences may end a resolve (a regression) or an ignore (see ErrorGroupState). Run after the
        // upsert: `count` is the new total.
        let regressed = try await connection.rows(
            """
            UPDATE error_groups SET state = 'regressed', regressed_at = \(group.lastSeen),
                state_changed_at = \(group.lastSeen), state_changed_by = 'apm'
            WHERE app_id = \(key.appID) AND id = \(groupID) AND (
                (state = 'resolved' AND \(group.lastSeen) > state_changed_at)
                OR (state = 'resolved_next_deployment' AND EXISTS (
                    SELECT 1 FROM deployments d
                    WHERE d.app_id = error_groups.app_id AND d.at > error_groups.state_changed_at
                        AND d.at < \(group.lastSeen))))
            RETURNING id
            """,
            logger
        )
        if !regressed.isEmpty { events.append((.regressed, group.lastSeen)) }
        for event in events {
            try await connection.execute(
                """
                INSERT INTO issue_events (app_id, group_id, kind, transaction_name, at, created_at)
                VALUES (\(key.appID), \(groupID), \(event.kind.rawValue), \(group.transaction), \(event.at), \(receivedAt))
                """,
                logger
            )
        }
        try await connection.execute(
            """
            UPDATE error_groups SET state = 'unresolved', state_changed_at = \(group.lastSeen), state_changed_by = 'apm',
                ignore_until_count = NULL, ignore_until = NULL
            WHERE app_id = \(key.appID) AND id = \(groupID) AND state = 'ignored' AND (
                (ignore_until_count IS NOT NULL AND count > ignore_until_count)
                OR (ignore_until IS NOT NULL AND \(group.lastSeen) > ignore_until))
            """,
            logger
        )
        return groupID
    }

    /// The issues' counts by facet (each facet's values capped per issue, the values past it counted as
    /// `(overflow)`) and their latest samples: a few statements for the whole batch, not a few per issue.
    func writeOccurrences(
        _ connection: PostgresConnection,
        _ occurrences: [(groupID: Int64, appID: Int64, group: WritePlan.ErrorGroupDelta)]
    ) async throws {
        var (held, known) = try await facetsHeld(connection, occurrences)
        let rows = Self.cappedFacetRows(occurrences, held: &held, known: &known)
        try await writeFacets(connection, rows)
        try await writeSamples(connection, occurrences)
    }

    /// One row per issue, facet and value.
    struct FacetRow: Hashable {
        var appID: Int64
        var groupID: Int64
        var key: WritePlan.ErrorFacetKey
    }

    /// What the issues hold already: how many values per facet, and which of the batch's values.
    func facetsHeld(
        _ connection: PostgresConnection,
        _ occurrences: [(groupID: Int64, appID: Int64, group: WritePlan.ErrorGroupDelta)]
    ) async throws -> (held: [Int64: [ErrorFacetKind: Int]], known: Set<[String]>) {
        let groupIDs = occurrences.map(\.groupID)
        var held: [Int64: [ErrorFacetKind: Int]] = [:]
        for row in try await connection.rows(
            """
            SELECT group_id, facet, COUNT(*) AS n FROM error_facets WHERE group_id = ANY(\(groupIDs)::bigint[])
            GROUP BY group_id, facet
            """,
            logger
        ) {
            guard let kind = ErrorFacetKind(rawValue: try row.get("facet", as: String.self)) else { continue }
            held[try row.get("group_id", as: Int64.self), default: [:]][kind] = Int(try row.get("n", as: Int64.self))
        }
        let asked = occurrences.flatMap { occurrence in
            occurrence.group.facets.keys.map { (occurrence.groupID, $0.kind.rawValue, $0.value) }
        }
        var known = Set<[String]>()
        for row in try await connection.rows(
            """
            SELECT f.group_id, f.facet, f.value FROM error_facets f
            JOIN unnest(\(asked.map(\.0))::bigint[], \(asked.map(\.1))::text[], \(asked.map(\.2))::text[])
                AS k(group_id, facet, value)
                ON f.group_id = k.group_id AND f.facet = k.facet AND f.value = k.value
            """,
            logger
        ) {
            known.insert([
                String(try row.get("group_id", as: Int64.self)), try row.get("facet", as: String.self),
                try row.get("value", as: String.self),
            ])
        }
        return (held, known)
    }

    /// The batch's facet values, a value past its facet's cap counted as `(overflow)`. Two deltas of one issue (a
    /// fingerprint merged into another) add up before the statement, which may touch each row once.
    static func cappedFacetRows(
        _ occurrences: [(groupID: Int64, appID: Int64, group: WritePlan.ErrorGroupDelta)],
        held: inout [Int64: [ErrorFacetKind: Int]],
        known: inout Set<[String]>
    ) -> [FacetRow: WritePlan.ErrorFacetDelta] {
        var rows: [FacetRow: WritePlan.ErrorFacetDelta] = [:]
        for (groupID, appID, group) in occurrences {
            for (key, delta) in group.facets.sorted(by: { $0.key.value < $1.key.value }) {
                var target = key
                if !known.contains([String(groupID), key.kind.rawValue, key.value]) {
                    let count = held[groupID, default: [:]][key.kind, default: 0]
                    if count < IngestRules.facetValuesPerIssue(key.kind) {
                        held[groupID, default: [:]][key.kind] = count + 1
                        known.insert([String(groupID), key.kind.rawValue, key.value])
                    } else {
                        target.value = IngestRules.overflowName
                    }
                }
                let row = FacetRow(appID: appID, groupID: groupID, key: target)
                var sum = rows[row] ?? WritePlan.ErrorFacetDelta(count: 0, lastSeen: delta.lastSeen)
                sum.count = sum.count.addingSaturated(delta.count)
                sum.lastSeen = max(sum.lastSeen, delta.lastSeen)
                rows[row] = sum
            }
        }
        return rows
    }

    func writeFacets(
        _ connection: PostgresConnection,
        _ rows: [FacetRow: WritePlan.ErrorFacetDelta]
    ) async throws {
        let facets = rows.map { row, delta in
            (
                appID: row.appID, groupID: row.groupID, kind: row.key.kind.rawValue, value: row.key.value,
                count: Int64(clamping: delta.count), lastSeen: delta.lastSeen
            )
        }
        guard !facets.isEmpty else { return }
        try await connection.execute(
            """
            INSERT INTO error_facets (app_id, group_id, facet, value, count, last_seen)
            SELECT * FROM unnest(\(facets.map(\.appID))::bigint[], \(facets.map(\.groupID))::bigint[],
                \(facets.map(\.kind))::text[], \(facets.map(\.value))::text[], \(facets.map(\.count))::bigint[],
                \(facets.map(\.lastSeen))::float8[])
            ON CONFLICT (app_id, group_id, facet, value) DO UPDATE SET
                count = sat_add(error_facets.count, excluded.count),
                last_seen = GREATEST(error_facets.last_seen, excluded.last_seen)
            """,
            logger
        )
    }

    /// The issues' latest samples, the oldest past each issue's number deleted.
    func writeSamples(
        _ connection: PostgresConnection,
        _ occurrences: [(groupID: Int64, appID: Int64, group: WritePlan.ErrorGroupDelta)]
    ) async throws {
        let groupIDs = occurrences.map(\.groupID)
        let samples = occurrences.flatMap { occurrence in
            occurrence.group.samples.map { (occurrence.appID, occurrence.groupID, $0) }
        }
        guard !samples.isEmpty else { return }
        try await connection.execute(
            """
            INSERT INTO error_samples (app_id, group_id, at, host, sample)
            SELECT * FROM unnest(\(samples.map(\.0))::bigint[], \(samples.map(\.1))::bigint[],
                \(samples.map(\.2.at))::float8[], \(samples.map(\.2.host))::text[], \(samples.map(\.2.payload))::text[])
            """,
            logger
        )
        try await connection.execute(
            """
            DELETE FROM error_samples s USING (
                SELECT id, row_number() OVER (PARTITION BY group_id ORDER BY at DESC, id DESC) AS n
                FROM error_samples WHERE group_id = ANY(\(groupIDs)::bigint[])
            ) r WHERE s.id = r.id AND r.n > \(Int64(IngestRules.samplesPerIssue))
            """,
            logger
        )
    }
}
