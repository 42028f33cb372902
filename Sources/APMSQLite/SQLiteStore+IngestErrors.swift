import APMCore
import APMStorage
import GRDB

/// A commit's error groups (issues): each upserted under the fingerprint it was merged into, with its minutes,
/// its state (a regression, an ignore ended), its events, facets and samples.
extension SQLiteStore {
    func write(
        _ db: Database,
        errorGroup group: WritePlan.ErrorGroupDelta,
        key: WritePlan.ErrorGroupKey,
        receivedAt: Double
    ) throws {
        // A fingerprint merged into another issue counts for that issue.
        let fingerprint =
            try String.fetchOne(
                db,
                sql: """
                    SELECT g.fingerprint FROM error_group_aliases a JOIN error_groups g ON g.id = a.group_id
                    WHERE a.app_id = ? AND a.fingerprint = ?
                    """,
                arguments: [key.appID, key.fingerprint]
            ) ?? key.fingerprint
        let known = try Int64.fetchOne(
            db,
            sql: "SELECT id FROM error_groups WHERE app_id = ? AND fingerprint = ?",
            arguments: [key.appID, fingerprint]
        )
        try db.execute(
            sql: """
                INSERT INTO error_groups (app_id, fingerprint, type, message, top_frame, transaction_name, count, first_seen, last_seen, sample)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (app_id, fingerprint) DO UPDATE SET
                    count = sat_add(count, excluded.count),
                    first_seen = MIN(first_seen, excluded.first_seen),
                    last_seen = MAX(last_seen, excluded.last_seen),
                    transaction_name = CASE WHEN excluded.last_seen >= last_seen THEN excluded.transaction_name ELSE transaction_name END,
                    sample = CASE WHEN excluded.last_seen >= last_seen THEN excluded.sample ELSE sample END
                """,
            arguments: [
                key.appID, fingerprint, group.type, group.message, group.topFrame, group.transaction,
                Int64(clamping: group.count), group.firstSeen, group.lastSeen, group.sample,
            ]
        )
        // Without a conflict the upsert inserted: the row id is the new group's.
        let groupID = known ?? db.lastInsertedRowID
        let event = try db.cachedStatement(
            sql: """
                INSERT INTO issue_events (app_id, group_id, kind, transaction_name, at, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        )
        if known == nil {
            try event.execute(arguments: [
                key.appID, groupID, IssueEventKind.new.rawValue, group.transaction, group.firstSeen, receivedAt,
            ])
        }
        for (minute, count) in group.minutes {
            try db.execute(
                sql:
                    "INSERT INTO error_minutes (app_id, group_id, bucket, count) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = sat_add(count, excluded.count)",
                arguments: [key.appID, groupID, minute, Int64(clamping: count)]
            )
        }
        try writeOccurrences(db, group, appID: key.appID, groupID: groupID)
        try endResolveOrIgnore(db, group, key: key, groupID: groupID, receivedAt: receivedAt, event: event)
    }

    /// An issue's counts by facet (each facet's values capped, the rest counted as `(other)`) and its latest
    /// samples.
    private func writeOccurrences(
        _ db: Database,
        _ group: WritePlan.ErrorGroupDelta,
        appID: Int64,
        groupID: Int64
    ) throws {
        let facet = try db.cachedStatement(
            sql: """
                INSERT INTO error_facets (app_id, group_id, facet, value, count, last_seen)
                SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE ?7 OR EXISTS (
                    SELECT 1 FROM error_facets WHERE app_id = ?1 AND group_id = ?2 AND facet = ?3 AND value = ?4)
                    OR (SELECT COUNT(*) FROM error_facets WHERE app_id = ?1 AND group_id = ?2 AND facet = ?3) < ?8
                ON CONFLICT DO UPDATE SET count = sat_add(count, excluded.count),
                    last_seen = MAX(last_seen, excluded.last_seen)
                """
        )
        for (key, delta) in group.facets.sorted(by: { $0.key.value < $1.key.value }) {
            let cap = IngestRules.facetValuesPerIssue(key.kind)
            let arguments: [any DatabaseValueConvertible] = [
                appID, groupID, key.kind.rawValue, key.value, Int64(clamping: delta.count), delta.lastSeen,
            ]
            try facet.execute(arguments: StatementArguments(arguments + [false, cap]))
            if db.changesCount == 0 {
                try facet.execute(
                    arguments: StatementArguments(
                        [appID, groupID, key.kind.rawValue, IngestRules.overflowName, Int64(clamping: delta.count)]
                            + [delta.lastSeen, true, cap]
                    )
                )
            }
        }
        guard !group.samples.isEmpty else { return }
        let sample = try db.cachedStatement(
            sql: "INSERT INTO error_samples (app_id, group_id, at, host, sample) VALUES (?, ?, ?, ?, ?)"
        )
        for row in group.samples {
            try sample.execute(arguments: [appID, groupID, row.at, row.host, row.payload])
        }
        try db.execute(
            sql: """
                DELETE FROM error_samples WHERE group_id = ?1 AND id NOT IN (
                    SELECT id FROM error_samples WHERE group_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2)
                """,
            arguments: [groupID, IngestRules.samplesPerIssue]
        )
    }

    /// The occurrences may end a resolve (a regression, recorded as an event) or an ignore (see
    /// ErrorGroupState). Run after the upsert: `count` is the new total.
    private func endResolveOrIgnore(
        _ db: Database,
        _ group: WritePlan.ErrorGroupDelta,
        key: WritePlan.ErrorGroupKey,
        groupID: Int64,
        receivedAt: Double,
        event: Statement
    ) throws {
        try db.execute(
            sql: """
                UPDATE error_groups SET state = 'regressed', regressed_at = ?, state_changed_at = ?, state_changed_by = 'apm'
                WHERE id = ? AND (
                    (state = 'resolved' AND ? > state_changed_at)
                    OR (state = 'resolved_next_deployment' AND EXISTS (
                        SELECT 1 FROM deployments d
                        WHERE d.app_id = error_groups.app_id AND d.at > error_groups.state_changed_at AND d.at < ?)))
                """,
            arguments: [group.lastSeen, group.lastSeen, groupID, group.lastSeen, group.lastSeen]
        )
        if db.changesCount > 0 {
            try event.execute(arguments: [
                key.appID, groupID, IssueEventKind.regressed.rawValue, group.transaction, group.lastSeen, receivedAt,
            ])
        }
        try db.execute(
            sql: """
                UPDATE error_groups SET state = 'unresolved', state_changed_at = ?, state_changed_by = 'apm',
                    ignore_until_count = NULL, ignore_until = NULL
                WHERE id = ? AND state = 'ignored' AND (
                    (ignore_until_count IS NOT NULL AND count > ignore_until_count)
                    OR (ignore_until IS NOT NULL AND ? > ignore_until))
                """,
            arguments: [group.lastSeen, groupID, group.lastSeen]
        )
    }
}
