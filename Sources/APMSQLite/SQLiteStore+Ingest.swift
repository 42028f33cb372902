import APMCore
public import APMStorage
import Foundation
import GRDB
import Synchronization

extension SQLiteStore {
    /// Commits batches in one transaction.
    ///
    /// - Parameters:
    ///   - items: Validated batches.
    ///   - limits: Cardinality caps.
    /// - Returns: Outcomes in order.
    public func commit(_ items: [IngestItem], limits: CardinalityLimits) async throws -> [IngestOutcome] {
        let plan = try await writer.write { db in try self.commitItems(db, items, limits: limits) }
        rememberAdmittedNames(plan)
        return plan.outcomes
    }

    /// Plans and writes batches inside the caller's transaction, answering ``IngestCommit``'s questions. The
    /// caller passes the plan to ``rememberAdmittedNames(_:)`` once the transaction committed.
    func commitItems(_ db: Database, _ items: [IngestItem], limits: CardinalityLimits) throws -> WritePlan {
        let commit = IngestCommit(items, limits: limits)
        var resolved: [WritePlanner.AppName: Result<StoredApp, StoreError>] = [:]
        for request in commit.appRequests {
            resolved[request.name] = try IngestCommit.resolving {
                try findOrCreateApp(
                    db,
                    accountID: request.name.accountID,
                    agent: request.agent,
                    at: request.receivedAt,
                    maxApps: limits.maxApps
                )
            }
        }
        let apps = commit.apps(resolved)
        var stored: Set<WritePlanner.BatchKey> = []
        let lookup = try db.cachedStatement(sql: "SELECT 1 FROM batches WHERE account_id = ? AND batch_id = ?")
        for key in commit.batchKeys where try Bool.fetchOne(lookup, arguments: [key.accountID, key.batchID]) ?? false {
            stored.insert(key)
        }
        var names: [Int64: KnownNames] = [:]
        for case .success(let app) in apps where names[app.id] == nil {
            names[app.id] = try knownNames(db, appID: app.id)
        }
        var logsStoredToday: [Int64: UInt64] = [:]
        for (appID, day) in commit.logDays(apps: apps) {
            logsStoredToday[appID] = try logsStored(db, appID: appID, day: day)
        }
        let plan = try commit.plan(apps: apps, storedBatches: stored, names: names, logsStoredToday: logsStoredToday)
        try apply(db, plan)
        return plan
    }

    /// The names an app has under its caps: from the cache, or read from `app_names`.
    private func knownNames(_ db: Database, appID: Int64) throws -> KnownNames {
        if let cached = knownNames.withLock({ $0[appID] }) { return cached }
        var loaded = KnownNames()
        for row in try Row.fetchAll(db, sql: "SELECT kind, name FROM app_names WHERE app_id = ?", arguments: [appID]) {
            loaded.insert(row["name"], kind: NameKind(rawValue: row["kind"]) ?? .transaction)
        }
        // What the table holds is committed (SQLite has one writer at a time), so it may be cached now.
        knownNames.withLock { $0[appID] = loaded }
        return loaded
    }

    /// Adds a committed plan's new names to the cache (only after the commit: a rolled-back name was never
    /// admitted). SQLite serialises writers, so the cache of the one collector on the file stays exact.
    func rememberAdmittedNames(_ plan: WritePlan) {
        guard !plan.admittedNames.isEmpty else { return }
        knownNames.withLock { cache in
            for name in plan.admittedNames where cache[name.appID] != nil {
                cache[name.appID]?.insert(name.name, kind: name.kind)
            }
        }
    }

    func findOrCreateApp(
        _ db: Database,
        accountID: Int64,
        agent: AgentIdentity,
        at now: Double,
        maxApps: Int
    ) throws -> StoredApp {
        if let row = try Row.fetchOne(
            db,
            sql: "SELECT * FROM apps WHERE account_id = ? AND name = ?",
            arguments: [accountID, agent.appName]
        ) {
            var app = try Self.app(row, db: db)
            if let update = IngestRules.identityUpdate(
                language: app.language,
                agentVersion: app.agentVersion,
                from: agent
            ) {
                try db.execute(
                    sql: "UPDATE apps SET language = ?, agent_version = ? WHERE id = ?",
                    arguments: [update.language, update.agentVersion, app.id]
                )
                app.language = update.language
                app.agentVersion = update.agentVersion
            }
            return app
        }
        let apps = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM apps WHERE account_id = ?", arguments: [accountID])
        guard (apps ?? 0) < maxApps else { throw IngestRules.appLimit(maxApps: maxApps, appName: agent.appName) }
        try db.execute(
            sql:
                "INSERT INTO apps (account_id, name, created_at, last_seen_at, language, agent_version) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [accountID, agent.appName, now, now, agent.language, agent.agentVersion]
        )
        return StoredApp(
            id: db.lastInsertedRowID,
            accountID: accountID,
            name: agent.appName,
            apdexT: ApdexThreshold.default.seconds,
            transactionApdexT: [:],
            createdAt: now,
            lastSeenAt: now,
            language: agent.language,
            agentVersion: agent.agentVersion
        )
    }

    /// Writes a plan: rows merged into what is stored (sums saturate, histograms merge in SQL).
    private func apply(_ db: Database, _ plan: WritePlan) throws {
        let batch = try db.cachedStatement(
            sql: "INSERT INTO batches (account_id, batch_id, app_id, received_at) VALUES (?, ?, ?, ?)"
        )
        for record in plan.batches {
            try batch.execute(arguments: [record.accountID, record.batchID, record.appID, record.receivedAt])
        }
        for name in plan.admittedNames {
            try db.execute(
                sql: "INSERT OR IGNORE INTO app_names (app_id, kind, name) VALUES (?, ?, ?)",
                arguments: [name.appID, name.kind.rawValue, name.name]
            )
        }
        for example in plan.overflowExamples {
            try db.execute(
                sql:
                    "INSERT OR IGNORE INTO name_overflow_examples (app_id, name, first_seen) SELECT ?, ?, ? WHERE (SELECT COUNT(*) FROM name_overflow_examples WHERE app_id = ?) < ?",
                arguments: [example.appID, example.name, example.at, example.appID, IngestRules.overflowExamplesPerApp]
            )
        }
        for (appID, overflow) in plan.overflowCounts {
            try db.execute(
                sql:
                    "UPDATE apps SET overflow_transactions = sat_add(overflow_transactions, ?), overflow_segments = sat_add(overflow_segments, ?) WHERE id = ?",
                arguments: [Int64(clamping: overflow.transactions), Int64(clamping: overflow.segments), appID]
            )
        }
        let trace = try db.cachedStatement(
            sql:
                "INSERT INTO traces (app_id, trace_id, transaction_name, start, duration, is_error, payload) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        for row in plan.traces {
            try trace.execute(arguments: [
                row.appID, row.traceID, row.transaction, row.start, row.duration, row.isError, row.payload,
            ])
        }
        for (key, group) in plan.errorGroups {
            try write(db, errorGroup: group, key: key, receivedAt: plan.lastSeen[key.appID] ?? group.lastSeen)
        }
        try writeRows(db, plan)
        try writeLogs(db, plan)
        for (appID, at) in plan.lastSeen {
            try db.execute(
                sql: "UPDATE apps SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?",
                arguments: [at, appID]
            )
        }
    }

    private func write(
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
        // The occurrences may end a resolve (a regression) or an ignore (see ErrorGroupState). Run after the
        // upsert: `count` is the new total.
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

    private func writeRows(_ db: Database, _ accumulator: WritePlan) throws {
        for (resolution, rows) in accumulator.transactions {
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO txn_\(resolution == .minute ? "minutes" : "hours")
                        (app_id, bucket, name, apdex_t, kind, count, errors, satisfied, tolerating, frustrated,
                         total, min, max, sum_squares, db, ext, histogram, error_histogram)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET
                        count = sat_add(count, excluded.count), errors = sat_add(errors, excluded.errors),
                        satisfied = sat_add(satisfied, excluded.satisfied), tolerating = sat_add(tolerating, excluded.tolerating),
                        frustrated = sat_add(frustrated, excluded.frustrated), total = total + excluded.total,
                        min = MIN(min, excluded.min), max = MAX(max, excluded.max),
                        sum_squares = sum_squares + excluded.sum_squares, db = db + excluded.db, ext = ext + excluded.ext,
                        histogram = hist_merge(histogram, excluded.histogram),
                        error_histogram = hist_merge(error_histogram, excluded.error_histogram)
                    """
            )
            for (key, metric) in rows {
                try statement.execute(arguments: [
                    key.appID, key.bucket, key.name, key.apdexT, Int(metric.kind.storageCode),
                    Int64(clamping: metric.count),
                    Int64(clamping: metric.errorCount), Int64(clamping: metric.satisfied),
                    Int64(clamping: metric.tolerating),
                    Int64(clamping: metric.frustrated),
                    metric.totalDuration, metric.minDuration, metric.maxDuration, metric.sumOfSquares,
                    metric.breakdown.database, metric.breakdown.external, metric.histogram.encoded(),
                    metric.errorHistogram.encoded(),
                ])
            }
        }
        for (resolution, rows) in accumulator.apps {
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO app_\(resolution == .minute ? "minutes" : "hours")
                        (app_id, bucket, kind, count, errors, satisfied, tolerating, frustrated, total, min, max, db, ext, histogram)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET
                        count = sat_add(count, excluded.count), errors = sat_add(errors, excluded.errors),
                        satisfied = sat_add(satisfied, excluded.satisfied), tolerating = sat_add(tolerating, excluded.tolerating),
                        frustrated = sat_add(frustrated, excluded.frustrated), total = total + excluded.total,
                        min = MIN(min, excluded.min), max = MAX(max, excluded.max),
                        db = db + excluded.db, ext = ext + excluded.ext,
                        histogram = hist_merge(histogram, excluded.histogram)
                    """
            )
            for (key, metric) in rows {
                try statement.execute(arguments: [
                    key.appID, key.bucket, Int(key.kind.storageCode), Int64(clamping: metric.count),
                    Int64(clamping: metric.errorCount),
                    Int64(clamping: metric.satisfied), Int64(clamping: metric.tolerating),
                    Int64(clamping: metric.frustrated), metric.totalDuration,
                    metric.minDuration, metric.maxDuration, metric.breakdown.database, metric.breakdown.external,
                    metric.histogram.encoded(),
                ])
            }
        }
        for (resolution, rows) in accumulator.segments {
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO seg_\(resolution == .minute ? "minutes" : "hours")
                        (app_id, bucket, transaction_name, name, category, system, operation, target, count, errors,
                         total, exclusive, min, max, slowest_statement, slowest_duration, histogram)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET
                        count = sat_add(count, excluded.count), errors = sat_add(errors, excluded.errors),
                        total = total + excluded.total, exclusive = exclusive + excluded.exclusive,
                        min = MIN(min, excluded.min), max = MAX(max, excluded.max),
                        slowest_statement = CASE WHEN excluded.slowest_duration > slowest_duration
                            THEN excluded.slowest_statement ELSE slowest_statement END,
                        slowest_duration = MAX(slowest_duration, excluded.slowest_duration),
                        histogram = hist_merge(histogram, excluded.histogram)
                    """
            )
            for (key, metric) in rows {
                try statement.execute(arguments: [
                    key.appID, key.bucket, key.transaction, key.name, Int(metric.category.storageCode), metric.system,
                    metric.operation, metric.target, Int64(clamping: metric.count), Int64(clamping: metric.errorCount),
                    metric.totalDuration,
                    metric.exclusiveDuration, metric.minDuration, metric.maxDuration, metric.slowestStatement ?? "",
                    metric.slowestStatement == nil ? 0 : metric.slowestStatementDuration ?? 0,
                    metric.histogram.encoded(),
                ])
            }
        }
        for (key, drops) in accumulator.drops {
            try db.execute(
                sql: """
                    INSERT INTO drop_minutes (app_id, bucket, transactions, segments, traces, errors, overflowed_names)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET transactions = sat_add(transactions, excluded.transactions),
                        segments = sat_add(segments, excluded.segments), traces = sat_add(traces, excluded.traces),
                        errors = sat_add(errors, excluded.errors), overflowed_names = sat_add(overflowed_names, excluded.overflowed_names)
                    """,
                arguments: [
                    key.appID, key.bucket, Int64(clamping: drops.transactions), Int64(clamping: drops.segments),
                    Int64(clamping: drops.traces),
                    Int64(clamping: drops.errors), Int64(clamping: drops.overflowedNames),
                ]
            )
        }
    }
}
