import APMCore
public import APMStorage
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    /// As ``APMStore`` describes it, on PostgreSQL.
    public func commit(_ items: [IngestItem], limits: CardinalityLimits) async throws -> [IngestOutcome] {
        try await ensurePartitions(for: items)
        return try await transaction { [self] connection in
            try await self.commitItems(connection, items, limits: limits).outcomes
        }
    }

    /// The partitions the items' minutes and hours fall in.
    func ensurePartitions(for items: [IngestItem]) async throws {
        var buckets: [SliceResolution: Set<Int64>] = [:]
        for item in items {
            for interval in item.batch.intervals {
                buckets[.minute, default: []].insert(interval.start)
                buckets[.hour, default: []].insert(interval.start - interval.start % 3600)
            }
        }
        try await prepare()
        try await ensurePartitions(buckets: buckets)
    }

    /// Plans and writes batches in the caller's transaction, answering ``IngestCommit``'s questions: apps found or
    /// created, then locked in id order (so that two collectors committing to one app take turns and see each
    /// other's names and rows), then the snapshot read, the plan made and applied.
    func commitItems(
        _ connection: PostgresConnection,
        _ items: [IngestItem],
        limits: CardinalityLimits
    ) async throws -> WritePlan {
        let commit = IngestCommit(items, limits: limits)
        var resolved = try await resolveApps(connection, commit)
        // A new language or agent version, now that the apps are locked.
        for request in commit.appRequests {
            guard case .success(var app) = resolved[request.name],
                let update = IngestRules.identityUpdate(
                    language: app.language,
                    agentVersion: app.agentVersion,
                    from: request.agent
                )
            else { continue }
            try await connection.execute(
                "UPDATE apps SET language = \(update.language), agent_version = \(update.agentVersion) WHERE id = \(app.id)",
                logger
            )
            app.language = update.language
            app.agentVersion = update.agentVersion
            resolved[request.name] = .success(app)
        }
        let apps = commit.apps(resolved)
        let keys = Array(commit.batchKeys)
        var stored: Set<WritePlanner.BatchKey> = []
        for row in try await connection.rows(
            """
            SELECT b.account_id, b.batch_id FROM batches b
            JOIN unnest(\(keys.map(\.accountID))::bigint[], \(keys.map(\.batchID))::text[]) AS k(account_id, batch_id)
            ON b.account_id = k.account_id AND b.batch_id = k.batch_id
            """,
            logger
        ) {
            stored.insert(
                WritePlanner.BatchKey(accountID: try row.get("account_id"), batchID: try row.get("batch_id"))
            )
        }
        let names = try await knownNames(connection, candidates: commit.candidateNames(apps: apps))
        let logsStoredToday = try await logsStoredToday(connection, days: commit.logDays(apps: apps))
        let metricSeries = try await metricSeries(connection, keys: commit.metricSeriesKeys(apps: apps))
        let plan = try commit.plan(
            apps: apps,
            storedBatches: stored,
            names: names,
            logsStoredToday: logsStoredToday,
            metricSeries: metricSeries.series,
            metricSeriesCounts: metricSeries.counts
        )
        try await apply(connection, plan)
        try await writeLogs(connection, plan)
        try await writeMetrics(connection, plan)
        return plan
    }

    /// The commit's apps, found with one query (most commits create none) or created, then locked in id order.
    private func resolveApps(
        _ connection: PostgresConnection,
        _ commit: IngestCommit
    ) async throws -> [WritePlanner.AppName: Result<StoredApp, StoreError>] {
        let found = try await existingApps(connection, names: Set(commit.appRequests.map(\.name)))
        var resolved: [WritePlanner.AppName: Result<StoredApp, StoreError>] = [:]
        for request in commit.appRequests {
            if let existing = found[request.name] {
                resolved[request.name] = .success(existing)
                continue
            }
            resolved[request.name] = try await IngestCommit.awaitResolving {
                try await findOrCreateApp(
                    connection,
                    accountID: request.name.accountID,
                    agent: request.agent,
                    at: request.receivedAt,
                    maxApps: commit.limits.maxApps,
                    updatingIdentity: false
                )
            }
        }
        // In id order, in one statement: two commits never wait for each other's locks in a cycle. Nothing
        // before this statement writes to a row that another commit could write under these locks (so no
        // commit holds a row another waits for while it waits for an app lock).
        var ids: Set<Int64> = []
        for case .success(let app) in resolved.values { ids.insert(app.id) }
        let lockOrder = ids.sorted().map { Int32(truncatingIfNeeded: $0) }
        try await connection.execute(
            """
            SELECT pg_advisory_xact_lock(\(Self.appLockSpace), id)
            FROM (SELECT id FROM unnest(\(lockOrder)::int4[]) WITH ORDINALITY AS u(id, position) ORDER BY position) AS ordered
            """,
            logger
        )
        return resolved
    }

    /// Of the names a commit carries, those its apps have; and how many each has of each kind (two queries for
    /// all the apps of the commit).
    private func knownNames(
        _ connection: PostgresConnection,
        candidates: [Int64: (transactions: Set<String>, segments: Set<String>)]
    ) async throws -> [Int64: KnownNames] {
        var known: [Int64: KnownNames] = [:]
        guard !candidates.isEmpty else { return known }
        var pairApps: [Int64] = []
        var pairNames: [ByteBuffer] = []
        for (appID, names) in candidates {
            known[appID] = KnownNames()
            for name in names.transactions.union(names.segments) {
                pairApps.append(appID)
                pairNames.append(Self.nameBytes(name))
            }
        }
        for row in try await connection.rows(
            """
            SELECT n.app_id, n.kind, n.name FROM app_names n
            JOIN unnest(\(pairApps)::bigint[], \(pairNames)::bytea[]) AS c(app_id, name)
            ON n.app_id = c.app_id AND n.name = c.name
            """,
            logger
        ) {
            let appID = try row.get("app_id", as: Int64.self)
            let kind = NameKind(rawValue: Int(try row.get("kind", as: Int16.self))) ?? .transaction
            let name = String(decoding: Data(bytesOf: try row.get("name", as: ByteBuffer.self)), as: UTF8.self)
            guard let names = candidates[appID] else { continue }
            if (kind == .segment ? names.segments : names.transactions).contains(name) {
                known[appID]?.insert(name, kind: kind)
            }
        }
        for row in try await connection.rows(
            """
            SELECT app_id, kind, count(*) AS n FROM app_names WHERE app_id = ANY(\(Array(candidates.keys))::bigint[])
            GROUP BY app_id, kind
            """,
            logger
        ) {
            let appID = try row.get("app_id", as: Int64.self)
            let count = Int(try row.get("n", as: Int64.self))
            guard var names = known[appID] else { continue }
            if try row.get("kind", as: Int16.self) == 1 {
                names.unlistedSegments = count - names.segments.count
            } else {
                names.unlistedTransactions = count - names.transactions.count
            }
            known[appID] = names
        }
        return known
    }

    /// The apps that exist among `names`, with their per-transaction Ts (two queries).
    private func existingApps(
        _ connection: PostgresConnection,
        names: Set<WritePlanner.AppName>
    ) async throws -> [WritePlanner.AppName: StoredApp] {
        let keys = Array(names)
        let rows = try await connection.rows(
            """
            SELECT a.* FROM apps a
            JOIN unnest(\(keys.map(\.accountID))::bigint[], \(keys.map(\.name))::text[]) AS k(account_id, name)
            ON a.account_id = k.account_id AND a.name = k.name
            """,
            logger
        )
        var apps: [WritePlanner.AppName: StoredApp] = [:]
        for app in try await self.apps(rows, connection: connection) {
            apps[WritePlanner.AppName(accountID: app.accountID, name: app.name)] = app
        }
        return apps
    }

    /// The app of `agent`, created when the account has room for it (under the account's lock, so that the app
    /// limit holds across collectors). `updatingIdentity: false` leaves a new language or agent version to the
    /// caller, which records it once it holds the app's lock.
    func findOrCreateApp(
        _ connection: PostgresConnection,
        accountID: Int64,
        agent: AgentIdentity,
        at now: Double,
        maxApps: Int,
        updatingIdentity: Bool = true
    ) async throws -> StoredApp {
        if var app = try await app(connection, accountID: accountID, name: agent.appName) {
            if updatingIdentity,
                let update = IngestRules.identityUpdate(
                    language: app.language,
                    agentVersion: app.agentVersion,
                    from: agent
                )
            {
                try await connection.execute(
                    "UPDATE apps SET language = \(update.language), agent_version = \(update.agentVersion) WHERE id = \(app.id)",
                    logger
                )
                app.language = update.language
                app.agentVersion = update.agentVersion
            }
            return app
        }
        // The app limit holds across collectors: creating an app takes the account's lock.
        try await connection.execute(
            "SELECT pg_advisory_xact_lock(\(Self.accountLockSpace), \(Int32(truncatingIfNeeded: accountID)))",
            logger
        )
        if let app = try await app(connection, accountID: accountID, name: agent.appName) { return app }
        let count =
            try await connection.rows("SELECT count(*) AS n FROM apps WHERE account_id = \(accountID)", logger)
            .first?.get("n", as: Int64.self) ?? 0
        guard count < maxApps else { throw IngestRules.appLimit(maxApps: maxApps, appName: agent.appName) }
        let id =
            try await connection.rows(
                """
                INSERT INTO apps (account_id, name, created_at, last_seen_at, language, agent_version)
                VALUES (\(accountID), \(agent.appName), \(now), \(now), \(agent.language), \(agent.agentVersion)) RETURNING id
                """,
                logger
            ).first?.get("id", as: Int64.self) ?? 0
        return StoredApp(
            id: id,
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

    /// Writes a plan. Minute and hour rows are read, merged in Swift by the planner's rules (histograms exactly)
    /// and written back: the app locks make the read and the write one step. The alternative, one upsert whose
    /// update merges the stored histogram in a PL/pgSQL function over its binary form, was measured on the same
    /// upserts (Benchmarks/Sources/HistogramMergeBenchmark, identical results): 56–57 batches/s against 485–542,
    /// and 16 times PostgreSQL's CPU per batch (34 s against 2 s per 1,000), because PL/pgSQL decodes and encodes
    /// varints byte by byte, interpreted. It would also write the format a second time.
    private func apply(_ connection: PostgresConnection, _ plan: WritePlan) async throws {
        try await writeBatchesAndNames(connection, plan)
        if !plan.traces.isEmpty {
            let traces = plan.traces
            try await connection.execute(
                """
                INSERT INTO traces (app_id, trace_id, transaction_name, start, duration, is_error, payload)
                SELECT * FROM unnest(\(traces.map(\.appID))::bigint[], \(traces.map(\.traceID))::text[],
                    \(traces.map(\.transaction))::text[], \(traces.map(\.start))::float8[], \(traces.map(\.duration))::float8[],
                    \(traces.map(\.isError))::bool[], \(traces.map(\.payload))::text[])
                """,
                logger
            )
        }
        try await writeErrorGroups(connection, plan)
        for (resolution, rows) in plan.transactions where !rows.isEmpty {
            try await writeTransactionRows(connection, rows, resolution: resolution)
        }
        for (resolution, rows) in plan.apps where !rows.isEmpty {
            try await writeAppRows(connection, rows, resolution: resolution)
        }
        for (resolution, rows) in plan.segments where !rows.isEmpty {
            try await writeSegmentRows(connection, rows, resolution: resolution)
        }
        try await writeDropsAndLastSeen(connection, plan)
    }

    /// The batch ids (idempotency), the names admitted, the overflow's examples and counts.
    private func writeBatchesAndNames(_ connection: PostgresConnection, _ plan: WritePlan) async throws {
        if !plan.batches.isEmpty {
            try await connection.execute(
                """
                INSERT INTO batches (account_id, batch_id, app_id, received_at)
                SELECT * FROM unnest(\(plan.batches.map(\.accountID))::bigint[], \(plan.batches.map(\.batchID))::text[],
                    \(plan.batches.map(\.appID))::bigint[], \(plan.batches.map(\.receivedAt))::float8[])
                """,
                logger
            )
        }
        if !plan.admittedNames.isEmpty {
            try await connection.execute(
                """
                INSERT INTO app_names (app_id, kind, name)
                SELECT * FROM unnest(\(plan.admittedNames.map(\.appID))::bigint[],
                    \(plan.admittedNames.map { Int16($0.kind.rawValue) })::int2[],
                    \(plan.admittedNames.map { Self.nameBytes($0.name) })::bytea[])
                ON CONFLICT DO NOTHING
                """,
                logger
            )
        }
        // One statement per app: the first names not kept yet, up to the examples an app keeps (what SQLite's
        // one INSERT OR IGNORE per name while fewer than 20 are kept leaves).
        var examples: [Int64: [(name: String, at: Double)]] = [:]
        var seenExamples: Set<WritePlan.AdmittedName> = []
        for example in plan.overflowExamples
        where seenExamples.insert(
            WritePlan.AdmittedName(appID: example.appID, kind: .transaction, name: example.name, at: 0)
        )
        .inserted {
            examples[example.appID, default: []].append((example.name, example.at))
        }
        for (appID, names) in examples {
            try await connection.execute(
                """
                INSERT INTO name_overflow_examples (app_id, name, first_seen)
                SELECT \(appID), u.name, u.at FROM unnest(\(names.map(\.name))::text[], \(names.map(\.at))::float8[])
                    WITH ORDINALITY AS u(name, at, position)
                WHERE NOT EXISTS (SELECT 1 FROM name_overflow_examples e WHERE e.app_id = \(appID) AND e.name = u.name)
                ORDER BY u.position
                LIMIT GREATEST(0, \(Int64(IngestRules.overflowExamplesPerApp))
                    - (SELECT count(*) FROM name_overflow_examples WHERE app_id = \(appID)))
                ON CONFLICT DO NOTHING
                """,
                logger
            )
        }
        for (appID, overflow) in plan.overflowCounts {
            try await connection.execute(
                """
                UPDATE apps SET
                    overflow_transactions = sat_add(overflow_transactions, \(Int64(clamping: overflow.transactions))),
                    overflow_segments = sat_add(overflow_segments, \(Int64(clamping: overflow.segments)))
                WHERE id = \(appID)
                """,
                logger
            )
        }
    }

    /// The minutes' drop counts and each app's last sighting.
    private func writeDropsAndLastSeen(_ connection: PostgresConnection, _ plan: WritePlan) async throws {
        for (key, drops) in plan.drops {
            try await connection.execute(
                """
                INSERT INTO drop_minutes (app_id, bucket, transactions, segments, traces, errors, overflowed_names)
                VALUES (\(key.appID), \(key.bucket), \(Int64(clamping: drops.transactions)), \(Int64(clamping: drops.segments)),
                    \(Int64(clamping: drops.traces)), \(Int64(clamping: drops.errors)), \(Int64(clamping: drops.overflowedNames)))
                ON CONFLICT (app_id, bucket) DO UPDATE SET
                    transactions = sat_add(drop_minutes.transactions, excluded.transactions),
                    segments = sat_add(drop_minutes.segments, excluded.segments),
                    traces = sat_add(drop_minutes.traces, excluded.traces),
                    errors = sat_add(drop_minutes.errors, excluded.errors),
                    overflowed_names = sat_add(drop_minutes.overflowed_names, excluded.overflowed_names)
                """,
                logger
            )
        }
        if !plan.lastSeen.isEmpty {
            let seen = Array(plan.lastSeen)
            try await connection.execute(
                """
                UPDATE apps SET last_seen_at = GREATEST(apps.last_seen_at, s.at)
                FROM unnest(\(seen.map(\.key))::bigint[], \(seen.map(\.value))::float8[]) AS s(id, at) WHERE apps.id = s.id
                """,
                logger
            )
        }
    }

}
