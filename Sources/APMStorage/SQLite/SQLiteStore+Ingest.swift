import APMCore
import Foundation
import GRDB
import Synchronization

extension SQLiteStore {
    static let overflowName = "(overflow)"

    /// Accumulated rows of one commit, keyed like the tables, so that many batches touching the same minute
    /// and name cost one upsert per table.
    struct CommitAccumulator {
        struct TransactionKey: Hashable {
            var appID: Int64
            var bucket: Int64
            var name: String
            var apdexT: Double
        }
        struct AppKey: Hashable {
            var appID: Int64
            var bucket: Int64
            var kind: TransactionKind
        }
        struct SegmentKey: Hashable {
            var appID: Int64
            var bucket: Int64
            var transaction: String
            var name: String
        }

        var transactions: [SliceResolution: [TransactionKey: TransactionMetric]] = [:]
        var apps: [SliceResolution: [AppKey: TransactionMetric]] = [:]
        var segments: [SliceResolution: [SegmentKey: SegmentMetric]] = [:]
        var drops: [AppKey: DropCounters] = [:]

        mutating func add(_ metric: TransactionMetric, appID: Int64, minute: Int64) {
            for resolution in [SliceResolution.minute, .hour] {
                let bucket = minute - minute % resolution.seconds
                let key = TransactionKey(appID: appID, bucket: bucket, name: metric.name, apdexT: metric.apdexT)
                transactions[resolution, default: [:]][key] = Self.merged(transactions[resolution]?[key], metric)
                let appKey = AppKey(appID: appID, bucket: bucket, kind: metric.kind)
                apps[resolution, default: [:]][appKey] = Self.merged(apps[resolution]?[appKey], metric)
            }
        }

        mutating func add(_ metric: SegmentMetric, appID: Int64, minute: Int64) {
            for resolution in [SliceResolution.minute, .hour] {
                let bucket = minute - minute % resolution.seconds
                let key = SegmentKey(appID: appID, bucket: bucket, transaction: metric.transaction, name: metric.name)
                if var existing = segments[resolution]?[key] {
                    existing.count += metric.count
                    existing.errorCount += metric.errorCount
                    existing.totalDuration += metric.totalDuration
                    existing.exclusiveDuration += metric.exclusiveDuration
                    existing.minDuration = min(existing.minDuration, metric.minDuration)
                    existing.maxDuration = max(existing.maxDuration, metric.maxDuration)
                    if let statement = metric.slowestStatement,
                        (metric.slowestStatementDuration ?? 0) > (existing.slowestStatementDuration ?? -1)
                    {
                        existing.slowestStatement = statement
                        existing.slowestStatementDuration = metric.slowestStatementDuration
                    }
                    segments[resolution, default: [:]][key] = existing
                } else {
                    segments[resolution, default: [:]][key] = metric
                }
            }
        }

        static func merged(_ existing: TransactionMetric?, _ metric: TransactionMetric) -> TransactionMetric {
            guard var merged = existing else { return metric }
            merged.count += metric.count
            merged.errorCount += metric.errorCount
            merged.satisfied += metric.satisfied
            merged.tolerating += metric.tolerating
            merged.frustrated += metric.frustrated
            merged.totalDuration += metric.totalDuration
            merged.minDuration = min(merged.minDuration, metric.minDuration)
            merged.maxDuration = max(merged.maxDuration, metric.maxDuration)
            merged.sumOfSquares += metric.sumOfSquares
            merged.breakdown.add(metric.breakdown)
            merged.histogram.merge(metric.histogram)
            merged.errorHistogram.merge(metric.errorHistogram)
            return merged
        }
    }

    /// Commits batches in one transaction.
    ///
    /// - Parameters:
    ///   - items: Validated batches.
    ///   - limits: Cardinality caps.
    /// - Returns: Outcomes in order.
    public func commit(_ items: [IngestItem], limits: CardinalityLimits) async throws -> [IngestOutcome] {
        do {
            return try await commitInTransaction(items, limits: limits)
        } catch {
            // The name cache may hold names of the rolled-back transaction: reload it from the table.
            knownNames.withLock { $0 = [:] }
            throw error
        }
    }

    private func commitInTransaction(_ items: [IngestItem], limits: CardinalityLimits) async throws -> [IngestOutcome] {
        try await writer.write { db in try self.commitItems(db, items, limits: limits) }
    }

    /// Writes batches inside the caller's transaction: duplicates skipped, names admitted, rows accumulated and
    /// upserted once per key.
    func commitItems(_ db: Database, _ items: [IngestItem], limits: CardinalityLimits) throws -> [IngestOutcome] {
        var outcomes: [IngestOutcome] = []
        outcomes.reserveCapacity(items.count)
        var accumulator = CommitAccumulator()
        var seen: Set<String> = []
        var appCache: [String: StoredApp] = [:]
        for item in items {
            let batch = item.batch
            let cacheKey = "\(item.accountID)\u{0}\(batch.agent.appName)"
            let app: StoredApp
            if let cached = appCache[cacheKey] {
                app = cached
            } else {
                do {
                    app = try self.findOrCreateApp(
                        db,
                        accountID: item.accountID,
                        agent: batch.agent,
                        at: item.receivedAt,
                        maxApps: limits.maxApps
                    )
                } catch let error as StoreError where error.code == .appLimit {
                    // Nothing of this batch was written; the others of the group go on.
                    outcomes.append(
                        IngestOutcome(
                            appID: 0,
                            duplicate: false,
                            apdexT: ApdexThreshold.default.seconds,
                            transactionApdexT: [:],
                            rejection: error.message
                        )
                    )
                    continue
                }
                appCache[cacheKey] = app
            }
            let stored =
                try Bool.fetchOne(
                    db,
                    sql: "SELECT 1 FROM batches WHERE account_id = ? AND batch_id = ?",
                    arguments: [item.accountID, batch.batchID]
                ) ?? false
            let seenKey = "\(item.accountID)\u{0}\(batch.batchID)"
            let duplicate = seen.contains(seenKey) || stored
            outcomes.append(
                IngestOutcome(
                    appID: app.id,
                    duplicate: duplicate,
                    apdexT: app.apdexT,
                    transactionApdexT: app.transactionApdexT
                )
            )
            guard !duplicate else { continue }
            seen.insert(seenKey)
            try db.execute(
                sql: "INSERT INTO batches (account_id, batch_id, app_id, received_at) VALUES (?, ?, ?, ?)",
                arguments: [item.accountID, batch.batchID, app.id, item.receivedAt]
            )
            try self.accumulate(
                db,
                batch: batch,
                app: app,
                limits: limits,
                into: &accumulator,
                receivedAt: item.receivedAt
            )
        }
        try self.write(db, accumulator)
        let lastSeen = appCache.values.map(\.id)
        for id in Set(lastSeen) {
            try db.execute(
                sql: "UPDATE apps SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?",
                arguments: [items.map(\.receivedAt).max() ?? 0, id]
            )
        }
        return outcomes
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
            // Process reports from `apm run-program` name no language or agent version: they keep the agent's.
            let language = agent.language.isEmpty ? row["language"] as String : agent.language
            let version = agent.agentVersion.isEmpty ? row["agent_version"] as String : agent.agentVersion
            if row["agent_version"] as String != version || row["language"] as String != language {
                try db.execute(
                    sql: "UPDATE apps SET language = ?, agent_version = ? WHERE id = ?",
                    arguments: [language, version, row["id"] as Int64]
                )
            }
            return try Self.app(row, db: db)
        }
        let apps = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM apps WHERE account_id = ?", arguments: [accountID])
        guard (apps ?? 0) < maxApps else {
            throw StoreError(
                .appLimit,
                "the account has \(maxApps) apps, the limit (max_apps in collector.ini); app \"\(agent.appName.prefix(100))\" was not created. Reuse an app name, or raise max_apps"
            )
        }
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

    /// Admits a name under the app's cap, or returns the overflow name (and records an example).
    private func admit(
        _ db: Database,
        appID: Int64,
        name: String,
        segment: Bool,
        limits: CardinalityLimits,
        at now: Double
    ) throws -> String {
        if name == Self.overflowName { return name }
        var names =
            try knownNames.withLock { cache -> KnownNames? in cache[appID] }
            ?? {
                var loaded = KnownNames()
                for row in try Row.fetchAll(
                    db,
                    sql: "SELECT kind, name FROM app_names WHERE app_id = ?",
                    arguments: [appID]
                ) {
                    if row["kind"] as Int == 0 {
                        loaded.transactions.insert(row["name"])
                    } else {
                        loaded.segments.insert(row["name"])
                    }
                }
                return loaded
            }()
        let known = segment ? names.segments.contains(name) : names.transactions.contains(name)
        if known {
            knownNames.withLock { $0[appID] = names }
            return name
        }
        let count = segment ? names.segments.count : names.transactions.count
        let cap = segment ? limits.maxSegmentNames : limits.maxTransactionNames
        guard count < cap else {
            try db.execute(
                sql:
                    "INSERT OR IGNORE INTO name_overflow_examples (app_id, name, first_seen) SELECT ?, ?, ? WHERE (SELECT COUNT(*) FROM name_overflow_examples WHERE app_id = ?) < 20",
                arguments: [appID, name, now, appID]
            )
            knownNames.withLock { $0[appID] = names }
            return Self.overflowName
        }
        try db.execute(
            sql: "INSERT OR IGNORE INTO app_names (app_id, kind, name) VALUES (?, ?, ?)",
            arguments: [appID, segment ? 1 : 0, name]
        )
        if segment { names.segments.insert(name) } else { names.transactions.insert(name) }
        knownNames.withLock { $0[appID] = names }
        return name
    }

    private func accumulate(
        _ db: Database,
        batch: AgentBatch,
        app: StoredApp,
        limits: CardinalityLimits,
        into accumulator: inout CommitAccumulator,
        receivedAt: Double
    ) throws {
        var renamed: [String: String] = [:]
        func transactionName(_ name: String) throws -> String {
            if let mapped = renamed[name] { return mapped }
            let admitted = try admit(db, appID: app.id, name: name, segment: false, limits: limits, at: receivedAt)
            renamed[name] = admitted
            return admitted
        }
        var overflowTransactions: UInt64 = 0
        var overflowSegments: UInt64 = 0
        for interval in batch.intervals {
            for var metric in interval.transactions {
                metric.name = try transactionName(metric.name)
                if metric.name == Self.overflowName { overflowTransactions += metric.count }
                accumulator.add(metric, appID: app.id, minute: interval.start)
            }
            for var metric in interval.segments {
                metric.transaction = try transactionName(metric.transaction)
                let admitted = try admit(
                    db,
                    appID: app.id,
                    name: "\(metric.transaction)\u{0}\(metric.name)",
                    segment: true,
                    limits: limits,
                    at: receivedAt
                )
                if admitted == Self.overflowName {
                    metric.name = Self.overflowName
                    metric.system = ""
                    metric.operation = Self.overflowName
                    metric.target = ""
                    metric.slowestStatement = nil
                    metric.slowestStatementDuration = nil
                    overflowSegments += metric.count
                }
                accumulator.add(metric, appID: app.id, minute: interval.start)
            }
        }
        if overflowTransactions > 0 || overflowSegments > 0 {
            try db.execute(
                sql:
                    "UPDATE apps SET overflow_transactions = sat_add(overflow_transactions, ?), overflow_segments = sat_add(overflow_segments, ?) WHERE id = ?",
                arguments: [Int64(clamping: overflowTransactions), Int64(clamping: overflowSegments), app.id]
            )
        }
        let encoder = WireCoding.makeEncoder()
        for var trace in batch.traces {
            trace.transaction = try transactionName(trace.transaction)
            try db.execute(
                sql:
                    "INSERT INTO traces (app_id, trace_id, transaction_name, start, duration, is_error, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    app.id, trace.traceID, trace.transaction, trace.start, trace.duration, trace.isError,
                    String(decoding: try encoder.encode(trace), as: UTF8.self),
                ]
            )
        }
        for var sample in batch.errors {
            sample.transaction = try transactionName(sample.transaction)
            try recordError(db, sample: sample, appID: app.id, encoder: encoder)
        }
        if !batch.dropped.isZero {
            let minute = Int64(receivedAt) - Int64(receivedAt) % 60
            accumulator.drops[
                CommitAccumulator.AppKey(appID: app.id, bucket: minute, kind: .web),
                default: DropCounters()
            ].add(batch.dropped)
        }
    }

    private func recordError(_ db: Database, sample: ErrorSample, appID: Int64, encoder: JSONEncoder) throws {
        let message = Self.normalizedMessage(sample.message)
        let topFrame = Self.normalizedFrame(sample.stack.first ?? "")
        let fingerprint = Self.fingerprint([sample.type, message, topFrame])
        let payload = String(decoding: try encoder.encode(sample), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT INTO error_groups (app_id, fingerprint, type, message, top_frame, transaction_name, count, first_seen, last_seen, sample)
                VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
                ON CONFLICT (app_id, fingerprint) DO UPDATE SET
                    count = sat_add(count, 1),
                    first_seen = MIN(first_seen, excluded.first_seen),
                    last_seen = MAX(last_seen, excluded.last_seen),
                    transaction_name = CASE WHEN excluded.last_seen >= last_seen THEN excluded.transaction_name ELSE transaction_name END,
                    sample = CASE WHEN excluded.last_seen >= last_seen THEN excluded.sample ELSE sample END
                """,
            arguments: [
                appID, fingerprint, sample.type, message, topFrame, sample.transaction, sample.timestamp,
                sample.timestamp, payload,
            ]
        )
        let groupID =
            try Int64.fetchOne(
                db,
                sql: "SELECT id FROM error_groups WHERE app_id = ? AND fingerprint = ?",
                arguments: [appID, fingerprint]
            ) ?? 0
        let minute = Int64(sample.timestamp) - Int64(sample.timestamp) % 60
        try db.execute(
            sql:
                "INSERT INTO error_minutes (app_id, group_id, bucket, count) VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = sat_add(count, 1)",
            arguments: [appID, groupID, minute]
        )
    }

    /// The message with literals (numbers, ids, quoted strings) replaced, so that "user 42 not found" and
    /// "user 43 not found" are one group.
    static func normalizedMessage(_ message: String) -> String {
        String(SQLObfuscator.obfuscate(String(message.prefix(1024)), dialect: .generic).prefix(512))
    }

    /// A stack frame without addresses and offsets, which differ between builds and runs.
    static func normalizedFrame(_ frame: String) -> String {
        frame.split(separator: " ").filter { !$0.hasPrefix("0x") && !$0.allSatisfy(\.isNumber) }.joined(separator: " ")
    }

    /// FNV-1a 64 of the parts, hex: stable across processes (unlike `Hasher`).
    static func fingerprint(_ parts: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            hash ^= 0xff
            hash &*= 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private func write(_ db: Database, _ accumulator: CommitAccumulator) throws {
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
                    key.appID, key.bucket, key.name, key.apdexT, metric.kind == .web ? 0 : 1,
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
                    key.appID, key.bucket, key.kind == .web ? 0 : 1, Int64(clamping: metric.count),
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
                         total, exclusive, min, max, slowest_statement, slowest_duration)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET
                        count = sat_add(count, excluded.count), errors = sat_add(errors, excluded.errors),
                        total = total + excluded.total, exclusive = exclusive + excluded.exclusive,
                        min = MIN(min, excluded.min), max = MAX(max, excluded.max),
                        slowest_statement = CASE WHEN excluded.slowest_duration > slowest_duration
                            THEN excluded.slowest_statement ELSE slowest_statement END,
                        slowest_duration = MAX(slowest_duration, excluded.slowest_duration)
                    """
            )
            for (key, metric) in rows {
                try statement.execute(arguments: [
                    key.appID, key.bucket, key.transaction, key.name, Self.categoryCode(metric.category), metric.system,
                    metric.operation, metric.target, Int64(clamping: metric.count), Int64(clamping: metric.errorCount),
                    metric.totalDuration,
                    metric.exclusiveDuration, metric.minDuration, metric.maxDuration, metric.slowestStatement ?? "",
                    metric.slowestStatement == nil ? 0 : metric.slowestStatementDuration ?? 0,
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

    static func categoryCode(_ category: SegmentCategory) -> Int {
        switch category {
        case .datastore: 0
        case .external: 1
        case .custom: 2
        }
    }

    static func category(_ code: Int) -> SegmentCategory {
        switch code {
        case 0: .datastore
        case 1: .external
        default: .custom
        }
    }
}
