public import APMCore
public import APMStorage
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    /// Transaction rows summed over a group (saturating like SQLite's `sat_sum`), histograms collected for a
    /// merge in Swift. (Only over groups that have rows: PostgreSQL's `LEAST` skips a NULL, so the sum of no
    /// rows needs a `COALESCE`, as in ``droppedCounts(appID:range:)``.)
    static let transactionSums = """
        MAX(kind) AS kind, LEAST(SUM(count), \(bigintMax))::bigint AS count,
        LEAST(SUM(errors), \(bigintMax))::bigint AS errors, LEAST(SUM(satisfied), \(bigintMax))::bigint AS satisfied,
        LEAST(SUM(tolerating), \(bigintMax))::bigint AS tolerating,
        LEAST(SUM(frustrated), \(bigintMax))::bigint AS frustrated, SUM(total) AS total, MIN(min) AS min,
        MAX(max) AS max, SUM(db) AS db, SUM(ext) AS ext
        """

    static let segmentSums = """
        MAX(category) AS category, MAX(system) AS system, MAX(operation) AS operation, MAX(target) AS target,
        LEAST(SUM(count), \(bigintMax))::bigint AS count, LEAST(SUM(errors), \(bigintMax))::bigint AS errors,
        SUM(total) AS total, SUM(exclusive) AS exclusive, MIN(min) AS min, MAX(max) AS max
        """

    /// Histograms merged, from one stored histogram or an array of them.
    static func histogram(_ row: PostgresRandomAccessRow, _ column: String) throws -> LatencyHistogram {
        guard row.contains(column) else { return LatencyHistogram() }
        if let many = try? row.get(column, as: [ByteBuffer].self) {
            var merged = LatencyHistogram()
            for buffer in many { try merged.merge(encoded: Data(bytesOf: buffer)) }
            return merged
        }
        return try LatencyHistogram(encoded: Data(bytesOf: try row.get(column, as: ByteBuffer.self)))
    }

    private static func slice(_ row: PostgresRandomAccessRow, bucket: Int64, name: String) throws -> TransactionSlice {
        try TransactionSlice(
            row: PostgresStoredRow(row),
            bucket: bucket,
            name: name,
            histogram: histogram(row, "histogram")
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func appSlices(
        appID: Int64,
        kind: TransactionKind,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [TransactionSlice] {
        try await rows(
            """
            SELECT * FROM \(unescaped: Self.table("app", resolution)) WHERE app_id = \(appID)
                AND kind = \(kind.storageCode) AND bucket >= \(range.lowerBound) AND bucket < \(range.upperBound)
            ORDER BY bucket
            """
        ).map { try Self.slice($0, bucket: try $0.get("bucket"), name: "") }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func transactionSlices(
        appID: Int64,
        name: String,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [TransactionSlice] {
        try await rows(
            """
            SELECT bucket, \(unescaped: Self.transactionSums), array_agg(histogram) AS histogram
            FROM \(unescaped: Self.table("txn", resolution))
            WHERE app_id = \(appID) AND name = \(name) AND bucket >= \(range.lowerBound) AND bucket < \(range.upperBound)
            GROUP BY bucket ORDER BY bucket
            """
        ).map { try Self.slice($0, bucket: try $0.get("bucket"), name: name) }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func transactionTotals(
        appID: Int64,
        range: Range<Int64>,
        resolution: SliceResolution,
        withHistograms: Bool
    ) async throws -> [TransactionSlice] {
        try await rows(
            """
            SELECT name, \(unescaped: Self.transactionSums)
                \(unescaped: withHistograms ? ", array_agg(histogram) AS histogram" : "")
            FROM \(unescaped: Self.table("txn", resolution))
            WHERE app_id = \(appID) AND bucket >= \(range.lowerBound) AND bucket < \(range.upperBound)
            GROUP BY name
            """
        ).map { try Self.slice($0, bucket: range.lowerBound, name: try $0.get("name")) }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func apdexRowsAtOtherT(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        resolution: SliceResolution,
        background: Bool
    ) async throws -> [ApdexRowAtOtherT] {
        try await rows(
            """
            SELECT t.bucket, t.name, t.apdex_t, t.count, t.errors, t.satisfied, t.tolerating, t.frustrated,
                t.histogram, t.error_histogram
            FROM \(unescaped: Self.table("txn", resolution)) AS t JOIN apps ON apps.id = t.app_id
            LEFT JOIN transaction_apdex AS o ON o.app_id = t.app_id AND o.name = t.name
            WHERE t.app_id = \(appID) AND t.bucket >= \(range.lowerBound) AND t.bucket < \(range.upperBound)
                AND (\(transaction)::text IS NULL OR t.name = \(transaction))
                AND (\(transaction)::text IS NOT NULL OR \(background) OR t.kind = 0)
                AND abs(t.apdex_t - COALESCE(o.apdex_t, apps.apdex_t)) > 1e-9
            """
        ).map { row in
            ApdexRowAtOtherT(
                bucket: try row.get("bucket"),
                name: try row.get("name"),
                source: try Self.apdexSource(row)
            )
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func apdexSources(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [ApdexSourceRow] {
        try await rows(
            """
            SELECT apdex_t, LEAST(SUM(count), \(unescaped: bigintMax))::bigint AS count,
                LEAST(SUM(errors), \(unescaped: bigintMax))::bigint AS errors,
                LEAST(SUM(satisfied), \(unescaped: bigintMax))::bigint AS satisfied,
                LEAST(SUM(tolerating), \(unescaped: bigintMax))::bigint AS tolerating,
                LEAST(SUM(frustrated), \(unescaped: bigintMax))::bigint AS frustrated,
                array_agg(histogram) AS histogram, array_agg(error_histogram) AS error_histogram
            FROM \(unescaped: Self.table("txn", resolution))
            WHERE app_id = \(appID) AND bucket >= \(range.lowerBound) AND bucket < \(range.upperBound)
                AND ((\(transaction)::text IS NULL AND kind = 0) OR name = \(transaction))
            GROUP BY apdex_t
            """
        ).map(Self.apdexSource)
    }

    private static func apdexSource(_ row: PostgresRandomAccessRow) throws -> ApdexSourceRow {
        try ApdexSourceRow(
            row: PostgresStoredRow(row),
            histogram: histogram(row, "histogram"),
            errorHistogram: histogram(row, "error_histogram")
        )
    }

    private static func segmentSlice(
        _ row: PostgresRandomAccessRow,
        bucket: Int64,
        transaction: String
    ) throws
        -> SegmentSlice
    {
        try SegmentSlice(row: PostgresStoredRow(row), bucket: bucket, transaction: transaction)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func segmentTotals(
        appID: Int64,
        transaction: String?,
        category: SegmentCategory?,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice] {
        let categoryCode = category.map(\.storageCode)
        return try await rows(
            """
            SELECT name, \(unescaped: Self.segmentSums),
                (array_agg(slowest_statement ORDER BY slowest_duration DESC, slowest_statement DESC))[1] AS slowest,
                MAX(slowest_duration) AS slowest_duration,
                -- Rows from before segment histograms have none (NULL): the others merged, counts then fall short.
                COALESCE(array_agg(histogram) FILTER (WHERE histogram IS NOT NULL), '{}') AS histogram
            FROM \(unescaped: Self.table("seg", resolution))
            WHERE app_id = \(appID) AND bucket >= \(range.lowerBound) AND bucket < \(range.upperBound)
                AND (\(transaction)::text IS NULL OR transaction_name = \(transaction))
                AND (\(categoryCode)::int2 IS NULL OR category = \(categoryCode))
            GROUP BY name ORDER BY SUM(total) DESC
            """
        ).map { row in
            var slice = try Self.segmentSlice(row, bucket: range.lowerBound, transaction: transaction ?? "")
            let slowest = try row.get("slowest", as: String?.self) ?? ""
            if !slowest.isEmpty {
                slice.slowestStatement = slowest
                slice.slowestStatementDuration = try row.get("slowest_duration", as: Double?.self) ?? 0
            }
            slice.histogram = try Self.histogram(row, "histogram")
            return slice
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func segmentCallers(
        appID: Int64,
        category: SegmentCategory,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice] {
        try await rows(
            """
            SELECT transaction_name, name, \(unescaped: Self.segmentSums)
            FROM \(unescaped: Self.table("seg", resolution))
            WHERE app_id = \(appID) AND bucket >= \(range.lowerBound) AND bucket < \(range.upperBound)
                AND category = \(category.storageCode)
            GROUP BY transaction_name, name ORDER BY SUM(total) DESC, transaction_name COLLATE "C", name COLLATE "C"
            """
        ).map { try Self.segmentSlice($0, bucket: range.lowerBound, transaction: try $0.get("transaction_name")) }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func segmentSeries(
        appID: Int64,
        names: [String],
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice] {
        guard !names.isEmpty else { return [] }
        return try await rows(
            """
            SELECT bucket, name, \(unescaped: Self.segmentSums)
            FROM \(unescaped: Self.table("seg", resolution))
            WHERE app_id = \(appID) AND name = ANY(\(names)::text[]) AND bucket >= \(range.lowerBound) AND bucket < \(range.upperBound)
            GROUP BY bucket, name ORDER BY bucket, name
            """
        ).map { try Self.segmentSlice($0, bucket: try $0.get("bucket"), transaction: "") }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func droppedCounts(appID: Int64, range: Range<Int64>) async throws -> DropCounters {
        guard
            let row = try await rows(
                """
                SELECT LEAST(COALESCE(SUM(transactions), 0), \(unescaped: bigintMax))::bigint AS t,
                    LEAST(COALESCE(SUM(segments), 0), \(unescaped: bigintMax))::bigint AS s,
                    LEAST(COALESCE(SUM(traces), 0), \(unescaped: bigintMax))::bigint AS r,
                    LEAST(COALESCE(SUM(errors), 0), \(unescaped: bigintMax))::bigint AS e,
                    LEAST(COALESCE(SUM(overflowed_names), 0), \(unescaped: bigintMax))::bigint AS o
                FROM drop_minutes WHERE app_id = \(appID) AND bucket >= \(range.lowerBound - range.lowerBound % 60)
                    AND bucket < \(range.upperBound)
                """
            ).first
        else { return DropCounters() }
        return DropCounters(
            transactions: UInt64(clamping: try row.get("t", as: Int64?.self) ?? 0),
            segments: UInt64(clamping: try row.get("s", as: Int64?.self) ?? 0),
            traces: UInt64(clamping: try row.get("r", as: Int64?.self) ?? 0),
            errors: UInt64(clamping: try row.get("e", as: Int64?.self) ?? 0),
            overflowedNames: UInt64(clamping: try row.get("o", as: Int64?.self) ?? 0)
        )
    }
}
