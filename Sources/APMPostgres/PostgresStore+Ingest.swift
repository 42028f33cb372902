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
        let plan = try commit.plan(apps: apps, storedBatches: stored, names: names, logsStoredToday: logsStoredToday)
        try await apply(connection, plan)
        try await writeLogs(connection, plan)
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
            resolved[request.name] = try await IngestCommit.resolving {
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
        if !plan.errorGroups.isEmpty {
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
        for (resolution, rows) in plan.transactions where !rows.isEmpty {
            try await writeTransactionRows(connection, rows, resolution: resolution)
        }
        for (resolution, rows) in plan.apps where !rows.isEmpty {
            try await writeAppRows(connection, rows, resolution: resolution)
        }
        for (resolution, rows) in plan.segments where !rows.isEmpty {
            try await writeSegmentRows(connection, rows, resolution: resolution)
        }
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

    private func write(
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
    private func writeOccurrences(
        _ connection: PostgresConnection,
        _ occurrences: [(groupID: Int64, appID: Int64, group: WritePlan.ErrorGroupDelta)]
    ) async throws {
        let groupIDs = occurrences.map(\.groupID)
        // What the issues hold already: how many values per facet, and which of the batch's values.
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
        // One row per issue, facet and value: two deltas of one issue (a fingerprint merged into another) add up
        // before the statement, which may touch each row once.
        struct FacetRow: Hashable {
            var appID: Int64
            var groupID: Int64
            var key: WritePlan.ErrorFacetKey
        }
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
        let facets = rows.map { row, delta in
            (
                appID: row.appID, groupID: row.groupID, kind: row.key.kind.rawValue, value: row.key.value,
                count: Int64(clamping: delta.count), lastSeen: delta.lastSeen
            )
        }
        if !facets.isEmpty {
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

    private func writeTransactionRows(
        _ connection: PostgresConnection,
        _ rows: [WritePlan.TransactionKey: TransactionMetric],
        resolution: SliceResolution
    ) async throws {
        let table = Self.table("txn", resolution)
        let keys = Array(rows.keys)
        var merged = rows
        for row in try await connection.rows(
            """
            SELECT t.* FROM \(unescaped: table) t
            JOIN unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[], \(keys.map(\.name))::text[],
                \(keys.map(\.apdexT))::float8[]) AS k(app_id, bucket, name, apdex_t)
            ON t.app_id = k.app_id AND t.bucket = k.bucket AND t.name = k.name AND t.apdex_t = k.apdex_t
            """,
            logger
        ) {
            let key = WritePlan.TransactionKey(
                appID: try row.get("app_id"),
                bucket: try row.get("bucket"),
                name: try row.get("name"),
                apdexT: try row.get("apdex_t")
            )
            guard let new = merged[key] else { continue }
            merged[key] = WritePlan.merged(try Self.transactionMetric(row, name: key.name, apdexT: key.apdexT), new)
        }
        let values = keys.map { merged[$0]! }
        try await connection.execute(
            """
            INSERT INTO \(unescaped: table) (app_id, bucket, name, apdex_t, kind, count, errors, satisfied, tolerating, frustrated,
                total, min, max, sum_squares, db, ext, histogram, error_histogram)
            SELECT * FROM unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[], \(keys.map(\.name))::text[],
                \(keys.map(\.apdexT))::float8[], \(values.map { $0.kind.storageCode })::int2[],
                \(values.map { Int64(clamping: $0.count) })::bigint[], \(values.map { Int64(clamping: $0.errorCount) })::bigint[],
                \(values.map { Int64(clamping: $0.satisfied) })::bigint[], \(values.map { Int64(clamping: $0.tolerating) })::bigint[],
                \(values.map { Int64(clamping: $0.frustrated) })::bigint[], \(values.map(\.totalDuration))::float8[],
                \(values.map(\.minDuration))::float8[], \(values.map(\.maxDuration))::float8[],
                \(values.map(\.sumOfSquares))::float8[], \(values.map(\.breakdown.database))::float8[],
                \(values.map(\.breakdown.external))::float8[], \(values.map { ByteBuffer(bytes: $0.histogram.encoded()) })::bytea[],
                \(values.map { ByteBuffer(bytes: $0.errorHistogram.encoded()) })::bytea[])
            ON CONFLICT (app_id, bucket, name, apdex_t) DO UPDATE SET
                kind = excluded.kind, count = excluded.count, errors = excluded.errors, satisfied = excluded.satisfied,
                tolerating = excluded.tolerating, frustrated = excluded.frustrated, total = excluded.total,
                min = excluded.min, max = excluded.max, sum_squares = excluded.sum_squares, db = excluded.db,
                ext = excluded.ext, histogram = excluded.histogram, error_histogram = excluded.error_histogram
            """,
            logger
        )
    }

    private func writeAppRows(
        _ connection: PostgresConnection,
        _ rows: [WritePlan.AppKey: TransactionMetric],
        resolution: SliceResolution
    ) async throws {
        let table = Self.table("app", resolution)
        let keys = Array(rows.keys)
        var merged = rows
        for row in try await connection.rows(
            """
            SELECT t.* FROM \(unescaped: table) t
            JOIN unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[],
                \(keys.map { $0.kind.storageCode })::int2[]) AS k(app_id, bucket, kind)
            ON t.app_id = k.app_id AND t.bucket = k.bucket AND t.kind = k.kind
            """,
            logger
        ) {
            let key = WritePlan.AppKey(
                appID: try row.get("app_id"),
                bucket: try row.get("bucket"),
                kind: TransactionKind(storageCode: try row.get("kind", as: Int16.self))
            )
            guard let new = merged[key] else { continue }
            merged[key] = WritePlan.merged(try Self.transactionMetric(row, name: "", apdexT: new.apdexT), new)
        }
        let values = keys.map { merged[$0]! }
        try await connection.execute(
            """
            INSERT INTO \(unescaped: table) (app_id, bucket, kind, count, errors, satisfied, tolerating, frustrated, total, min,
                max, db, ext, histogram)
            SELECT * FROM unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[],
                \(keys.map { $0.kind.storageCode })::int2[],
                \(values.map { Int64(clamping: $0.count) })::bigint[], \(values.map { Int64(clamping: $0.errorCount) })::bigint[],
                \(values.map { Int64(clamping: $0.satisfied) })::bigint[], \(values.map { Int64(clamping: $0.tolerating) })::bigint[],
                \(values.map { Int64(clamping: $0.frustrated) })::bigint[], \(values.map(\.totalDuration))::float8[],
                \(values.map(\.minDuration))::float8[], \(values.map(\.maxDuration))::float8[],
                \(values.map(\.breakdown.database))::float8[], \(values.map(\.breakdown.external))::float8[],
                \(values.map { ByteBuffer(bytes: $0.histogram.encoded()) })::bytea[])
            ON CONFLICT (app_id, bucket, kind) DO UPDATE SET
                count = excluded.count, errors = excluded.errors, satisfied = excluded.satisfied,
                tolerating = excluded.tolerating, frustrated = excluded.frustrated, total = excluded.total,
                min = excluded.min, max = excluded.max, db = excluded.db, ext = excluded.ext, histogram = excluded.histogram
            """,
            logger
        )
    }

    private func writeSegmentRows(
        _ connection: PostgresConnection,
        _ rows: [WritePlan.SegmentKey: SegmentMetric],
        resolution: SliceResolution
    ) async throws {
        let table = Self.table("seg", resolution)
        let keys = Array(rows.keys)
        var merged = rows
        for row in try await connection.rows(
            """
            SELECT t.* FROM \(unescaped: table) t
            JOIN unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[], \(keys.map(\.transaction))::text[],
                \(keys.map(\.name))::text[]) AS k(app_id, bucket, transaction_name, name)
            ON t.app_id = k.app_id AND t.bucket = k.bucket AND t.transaction_name = k.transaction_name AND t.name = k.name
            """,
            logger
        ) {
            let key = WritePlan.SegmentKey(
                appID: try row.get("app_id"),
                bucket: try row.get("bucket"),
                transaction: try row.get("transaction_name"),
                name: try row.get("name")
            )
            guard let new = merged[key] else { continue }
            let statement = try row.get("slowest_statement", as: String.self)
            let existing = SegmentMetric(
                transaction: key.transaction,
                name: key.name,
                category: SegmentCategory(storageCode: try row.get("category", as: Int16.self)),
                system: try row.get("system"),
                operation: try row.get("operation"),
                target: try row.get("target"),
                count: UInt64(clamping: try row.get("count", as: Int64.self)),
                totalDuration: try row.get("total"),
                exclusiveDuration: try row.get("exclusive"),
                minDuration: try row.get("min"),
                maxDuration: try row.get("max"),
                errorCount: UInt64(clamping: try row.get("errors", as: Int64.self)),
                slowestStatement: statement.isEmpty ? nil : statement,
                slowestStatementDuration: statement.isEmpty ? nil : try row.get("slowest_duration", as: Double.self),
                histogram: try row.get("histogram", as: ByteBuffer?.self).map {
                    try LatencyHistogram(encoded: Data(bytesOf: $0))
                } ?? LatencyHistogram()
            )
            merged[key] = WritePlan.merged(existing, new)
        }
        let values = keys.map { merged[$0]! }
        try await connection.execute(
            """
            INSERT INTO \(unescaped: table) (app_id, bucket, transaction_name, name, category, system, operation, target, count,
                errors, total, exclusive, min, max, slowest_statement, slowest_duration, histogram)
            SELECT * FROM unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[], \(keys.map(\.transaction))::text[],
                \(keys.map(\.name))::text[], \(values.map { $0.category.storageCode })::int2[],
                \(values.map(\.system))::text[], \(values.map(\.operation))::text[], \(values.map(\.target))::text[],
                \(values.map { Int64(clamping: $0.count) })::bigint[], \(values.map { Int64(clamping: $0.errorCount) })::bigint[],
                \(values.map(\.totalDuration))::float8[], \(values.map(\.exclusiveDuration))::float8[],
                \(values.map(\.minDuration))::float8[], \(values.map(\.maxDuration))::float8[],
                \(values.map { $0.slowestStatement ?? "" })::text[],
                \(values.map { $0.slowestStatement == nil ? 0 : $0.slowestStatementDuration ?? 0 })::float8[],
                \(values.map { ByteBuffer(bytes: $0.histogram.encoded()) })::bytea[])
            ON CONFLICT (app_id, bucket, transaction_name, name) DO UPDATE SET
                count = excluded.count, errors = excluded.errors, total = excluded.total, exclusive = excluded.exclusive,
                min = excluded.min, max = excluded.max, slowest_statement = excluded.slowest_statement,
                slowest_duration = excluded.slowest_duration, histogram = excluded.histogram
            """,
            logger
        )
    }

    static func transactionMetric(
        _ row: PostgresRandomAccessRow,
        name: String,
        apdexT: Double
    ) throws -> TransactionMetric {
        let total = try row.get("total", as: Double.self)
        let database = try row.get("db", as: Double.self)
        let external = try row.get("ext", as: Double.self)
        let errorHistogram: LatencyHistogram
        if row.contains("error_histogram") {
            errorHistogram = try LatencyHistogram(
                encoded: Data(bytesOf: try row.get("error_histogram", as: ByteBuffer.self))
            )
        } else {
            errorHistogram = LatencyHistogram()
        }
        return TransactionMetric(
            name: name,
            kind: TransactionKind(storageCode: try row.get("kind", as: Int16.self)),
            count: UInt64(clamping: try row.get("count", as: Int64.self)),
            errorCount: UInt64(clamping: try row.get("errors", as: Int64.self)),
            apdexT: apdexT,
            satisfied: UInt64(clamping: try row.get("satisfied", as: Int64.self)),
            tolerating: UInt64(clamping: try row.get("tolerating", as: Int64.self)),
            frustrated: UInt64(clamping: try row.get("frustrated", as: Int64.self)),
            totalDuration: total,
            minDuration: try row.get("min"),
            maxDuration: try row.get("max"),
            sumOfSquares: row.contains("sum_squares") ? try row.get("sum_squares") : 0,
            breakdown: TimeBreakdown(
                database: database,
                external: external,
                application: max(0, total - database - external)
            ),
            histogram: try LatencyHistogram(encoded: Data(bytesOf: try row.get("histogram", as: ByteBuffer.self))),
            errorHistogram: errorHistogram
        )
    }

    /// A name as `app_names` stores it (UTF-8 bytes).
    static func nameBytes(_ name: String) -> ByteBuffer {
        ByteBuffer(bytes: Array(name.utf8))
    }
}
