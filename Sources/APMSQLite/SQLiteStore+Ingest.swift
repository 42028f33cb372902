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
        rememberCommitted(plan)
        return plan.outcomes
    }

    /// Plans and writes batches inside the caller's transaction, answering ``IngestCommit``'s questions. The
    /// caller passes the plan to ``rememberCommitted(_:)`` once the transaction committed.
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
        let metricSeries = try metricSeries(db, keys: commit.metricSeriesKeys(apps: apps))
        let plan = try commit.plan(
            apps: apps,
            storedBatches: stored,
            names: names,
            logsStoredToday: logsStoredToday,
            metricSeries: metricSeries.series,
            metricSeriesCounts: metricSeries.counts
        )
        var written = plan
        try apply(db, &written)
        return written
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

    /// Adds a committed plan's new names and its metric series as stored to the caches (only after the commit: a
    /// rolled-back name was never admitted). SQLite serialises writers, so the caches of the one collector on the
    /// file stay exact.
    func rememberCommitted(_ plan: WritePlan) {
        if !plan.writtenMetricSeries.isEmpty {
            metricSeriesCache.withLock { cache in
                if cache.count + plan.writtenMetricSeries.count > Self.metricSeriesCacheCapacity { cache = [:] }
                cache.merge(plan.writtenMetricSeries) { $1 }
            }
        }
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
    private func apply(_ db: Database, _ plan: inout WritePlan) throws {
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
        try writeMetrics(db, &plan)
        for (appID, at) in plan.lastSeen {
            try db.execute(
                sql: "UPDATE apps SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?",
                arguments: [at, appID]
            )
        }
    }

}
