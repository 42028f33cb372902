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
