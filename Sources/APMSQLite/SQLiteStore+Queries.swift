public import APMCore
public import APMStorage
import Foundation
import GRDB

extension SQLiteStore {
    /// The columns of transaction rows summed over a group (buckets of several Ts, or a range).
    static let transactionSums = """
        MAX(kind) AS kind, sat_sum(count) AS count, sat_sum(errors) AS errors, sat_sum(satisfied) AS satisfied, \
        sat_sum(tolerating) AS tolerating, sat_sum(frustrated) AS frustrated, SUM(total) AS total, MIN(min) AS min, \
        MAX(max) AS max, SUM(db) AS db, SUM(ext) AS ext
        """

    /// The columns of segment rows summed over a group.
    static let segmentSums = """
        MAX(category) AS category, MAX(system) AS system, MAX(operation) AS operation, MAX(target) AS target, \
        sat_sum(count) AS count, sat_sum(errors) AS errors, SUM(total) AS total, SUM(exclusive) AS exclusive, \
        MIN(min) AS min, MAX(max) AS max
        """

    private static func table(_ prefix: String, _ resolution: SliceResolution) -> String {
        "\(prefix)_\(resolution == .minute ? "minutes" : "hours")"
    }

    private static func slice(_ row: Row, bucket: Int64, name: String) throws -> TransactionSlice {
        // Queries without histograms do not select the column.
        let histogram =
            row.hasColumn("histogram") ? try HistogramFunctions.histogram(row["histogram"]) : LatencyHistogram()
        return try TransactionSlice(row: row, bucket: bucket, name: name, histogram: histogram)
    }

    /// App-level slices.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - kind: Web or background.
    ///   - range: Unix seconds.
    ///   - resolution: Row resolution.
    /// - Returns: Slices by bucket.
    public func appSlices(
        appID: Int64,
        kind: TransactionKind,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [TransactionSlice] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM \(Self.table("app", resolution)) WHERE app_id = ? AND kind = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
                arguments: [appID, Int(kind.storageCode), range.lowerBound, range.upperBound]
            ).map { try Self.slice($0, bucket: $0["bucket"], name: "") }
        }
    }

    /// One transaction's slices.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - name: The transaction.
    ///   - range: Unix seconds.
    ///   - resolution: Row resolution.
    /// - Returns: Slices by bucket (rows of different Ts summed).
    public func transactionSlices(
        appID: Int64,
        name: String,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [TransactionSlice] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT bucket, \(Self.transactionSums), hist_sum(histogram) AS histogram
                    FROM \(Self.table("txn", resolution))
                    WHERE app_id = ? AND name = ? AND bucket >= ? AND bucket < ?
                    GROUP BY bucket ORDER BY bucket
                    """,
                arguments: [appID, name, range.lowerBound, range.upperBound]
            ).map { try Self.slice($0, bucket: $0["bucket"], name: name) }
        }
    }

    /// Totals per transaction name.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    ///   - resolution: Row resolution.
    ///   - withHistograms: Whether to merge histograms.
    /// - Returns: One slice per name.
    public func transactionTotals(
        appID: Int64,
        range: Range<Int64>,
        resolution: SliceResolution,
        withHistograms: Bool
    ) async throws -> [TransactionSlice] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT name, \(Self.transactionSums)
                        \(withHistograms ? ", hist_sum(histogram) AS histogram" : "")
                    FROM \(Self.table("txn", resolution))
                    WHERE app_id = ? AND bucket >= ? AND bucket < ?
                    GROUP BY name
                    """,
                arguments: [appID, range.lowerBound, range.upperBound]
            ).map { try Self.slice($0, bucket: range.lowerBound, name: $0["name"]) }
        }
    }

    /// The transaction rows whose Apdex counts were classified at another T than the one in force now.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction, or `nil` for the app's web transactions.
    ///   - range: Bucket range.
    ///   - resolution: Minute or hour rows.
    ///   - background: With no transaction: background transactions' rows too.
    /// - Returns: The rows.
    public func apdexRowsAtOtherT(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        resolution: SliceResolution,
        background: Bool
    ) async throws -> [ApdexRowAtOtherT] {
        try await writer.read { db in
            let filter = transaction != nil ? "t.name = ?" : background ? "1" : "t.kind = 0"
            var arguments: StatementArguments = [appID, range.lowerBound, range.upperBound]
            if let transaction { arguments += [transaction] }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT t.bucket, t.name, t.apdex_t, t.count, t.errors, t.satisfied, t.tolerating, t.frustrated,
                        t.histogram, t.error_histogram
                    FROM \(Self.table("txn", resolution)) AS t JOIN apps ON apps.id = t.app_id
                    LEFT JOIN transaction_apdex AS o ON o.app_id = t.app_id AND o.name = t.name
                    WHERE t.app_id = ? AND t.bucket >= ? AND t.bucket < ? AND \(filter)
                        AND abs(t.apdex_t - COALESCE(o.apdex_t, apps.apdex_t)) > 1e-9
                    """,
                arguments: arguments
            ).map { row in
                ApdexRowAtOtherT(
                    bucket: row["bucket"],
                    name: row["name"],
                    source: try Self.apdexSource(row)
                )
            }
        }
    }

    /// The stored rows behind Apdex for a range, grouped by the T their counts were classified at.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction, or `nil` for the app's web transactions.
    ///   - range: Bucket range.
    ///   - resolution: Minute or hour rows.
    /// - Returns: Rows by T.
    public func apdexSources(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [ApdexSourceRow] {
        try await writer.read { db in
            let filter = transaction == nil ? "kind = 0" : "name = ?"
            var arguments: StatementArguments = [appID, range.lowerBound, range.upperBound]
            if let transaction { arguments += [transaction] }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT apdex_t, sat_sum(count) AS count, sat_sum(errors) AS errors, sat_sum(satisfied) AS satisfied,
                        sat_sum(tolerating) AS tolerating, sat_sum(frustrated) AS frustrated,
                        hist_sum(histogram) AS histogram, hist_sum(error_histogram) AS error_histogram
                    FROM \(Self.table("txn", resolution))
                    WHERE app_id = ? AND bucket >= ? AND bucket < ? AND \(filter)
                    GROUP BY apdex_t
                    """,
                arguments: arguments
            ).map(Self.apdexSource)
        }
    }

    /// A transaction row's Apdex counts, the T they were classified at, and its histograms.
    private static func apdexSource(_ row: Row) throws -> ApdexSourceRow {
        try ApdexSourceRow(
            row: row,
            histogram: LatencyHistogram(encoded: row["histogram"]),
            errorHistogram: LatencyHistogram(encoded: row["error_histogram"])
        )
    }

    private static func segmentSlice(_ row: Row, bucket: Int64, transaction: String) throws -> SegmentSlice {
        try SegmentSlice(row: row, bucket: bucket, transaction: transaction)
    }

    /// Segment totals.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction or `nil`.
    ///   - category: One category or `nil`.
    ///   - range: Unix seconds.
    ///   - resolution: Row resolution.
    /// - Returns: One slice per segment name.
    public func segmentTotals(
        appID: Int64,
        transaction: String?,
        category: SegmentCategory?,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice] {
        try await writer.read { db in
            var conditions = ["app_id = ?", "bucket >= ?", "bucket < ?"]
            var arguments: StatementArguments = [appID, range.lowerBound, range.upperBound]
            if let transaction {
                conditions.append("transaction_name = ?")
                arguments += [transaction]
            }
            if let category {
                conditions.append("category = ?")
                arguments += [Int(category.storageCode)]
            }
            return try Row.fetchAll(
                db,
                // The slowest statement: the greatest "duration, statement" string, the duration printed at a
                // fixed width so that strings sort as durations do (SQLite's bare columns are unreliable next
                // to several MIN/MAX aggregates).
                sql: """
                    SELECT name, \(Self.segmentSums),
                        MAX(printf('%020.9f', slowest_duration) || slowest_statement) AS slowest,
                        hist_sum(histogram) AS histogram
                    FROM \(Self.table("seg", resolution))
                    WHERE \(conditions.joined(separator: " AND "))
                    GROUP BY name ORDER BY SUM(total) DESC
                    """,
                arguments: arguments
            ).map { row in
                var slice = try Self.segmentSlice(row, bucket: range.lowerBound, transaction: transaction ?? "")
                let slowest: String = row["slowest"] ?? ""
                if slowest.utf8.count > 20 {
                    slice.slowestStatement = String(slowest.dropFirst(20))
                    slice.slowestStatementDuration = Double(slowest.prefix(20)) ?? 0
                }
                slice.histogram = try HistogramFunctions.histogram(row["histogram"] as DatabaseValue)
                return slice
            }
        }
    }

    /// Segment totals per calling transaction.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - category: The category.
    ///   - range: Unix seconds.
    ///   - resolution: Minute or hour rows.
    /// - Returns: One slice per (transaction, segment name), most time first.
    public func segmentCallers(
        appID: Int64,
        category: SegmentCategory,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT transaction_name, name, \(Self.segmentSums)
                    FROM \(Self.table("seg", resolution))
                    WHERE app_id = ? AND bucket >= ? AND bucket < ? AND category = ?
                    GROUP BY transaction_name, name ORDER BY SUM(total) DESC, transaction_name, name
                    """,
                arguments: [appID, range.lowerBound, range.upperBound, Int(category.storageCode)]
            ).map { row in
                try Self.segmentSlice(row, bucket: range.lowerBound, transaction: row["transaction_name"])
            }
        }
    }

    /// Per-bucket figures of one segment name.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - name: The segment name.
    ///   - range: Unix seconds.
    ///   - resolution: Row resolution.
    /// - Returns: Slices by bucket.
    public func segmentSeries(
        appID: Int64,
        names: [String],
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice] {
        guard !names.isEmpty else { return [] }
        return try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT bucket, name, \(Self.segmentSums)
                    FROM \(Self.table("seg", resolution))
                    WHERE app_id = ? AND name IN (\(databaseQuestionMarks(count: names.count))) AND bucket >= ? AND bucket < ?
                    GROUP BY bucket, name ORDER BY bucket, name
                    """,
                arguments: StatementArguments(
                    [appID] + names.map { $0 as any DatabaseValueConvertible }
                        + [range.lowerBound, range.upperBound]
                )
            ).map { try Self.segmentSlice($0, bucket: $0["bucket"], transaction: "") }
        }
    }

    /// Slowest traces.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction or `nil`.
    ///   - range: Unix seconds.
    ///   - limit: At most this many.
    /// - Returns: Traces.
    public func traces(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        limit: Int
    ) async throws -> [StoredTrace] {
        try await writer.read { db in
            var arguments: StatementArguments = [appID, range.lowerBound, range.upperBound]
            if let transaction { arguments += [transaction] }
            arguments += [limit]
            let decoder = WireCoding.makeDecoder()
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT id, payload FROM traces WHERE app_id = ? AND start >= ? AND start < ?
                    \(transaction == nil ? "" : "AND transaction_name = ?")
                    ORDER BY duration DESC LIMIT ?
                    """,
                arguments: arguments
            ).map {
                StoredTrace(
                    id: $0["id"],
                    trace: try decoder.decode(TransactionTrace.self, from: Data(($0["payload"] as String).utf8))
                )
            }
        }
    }

    /// One trace.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - id: The trace.
    /// - Returns: The trace or `nil`.
    public func trace(appID: Int64, id: Int64) async throws -> StoredTrace? {
        try await writer.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT id, payload FROM traces WHERE app_id = ? AND id = ?",
                arguments: [appID, id]
            ).map {
                StoredTrace(
                    id: $0["id"],
                    trace: try WireCoding.makeDecoder().decode(
                        TransactionTrace.self,
                        from: Data(($0["payload"] as String).utf8)
                    )
                )
            }
        }
    }

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

    /// Dropped counters summed over a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    /// - Returns: Counters.
    public func droppedCounts(appID: Int64, range: Range<Int64>) async throws -> DropCounters {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT sat_sum(transactions) AS t, sat_sum(segments) AS s, sat_sum(traces) AS r, sat_sum(errors) AS e, sat_sum(overflowed_names) AS o
                        FROM drop_minutes WHERE app_id = ? AND bucket >= ? AND bucket < ?
                        """,
                    arguments: [appID, range.lowerBound - range.lowerBound % 60, range.upperBound]
                )
            else { return DropCounters() }
            return DropCounters(
                transactions: UInt64(clamping: row["t"] as Int64? ?? 0),
                segments: UInt64(clamping: row["s"] as Int64? ?? 0),
                traces: UInt64(clamping: row["r"] as Int64? ?? 0),
                errors: UInt64(clamping: row["e"] as Int64? ?? 0),
                overflowedNames: UInt64(clamping: row["o"] as Int64? ?? 0)
            )
        }
    }
}
