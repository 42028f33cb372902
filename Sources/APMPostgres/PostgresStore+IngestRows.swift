import APMCore
import APMStorage
import Foundation
import NIOCore
import PostgresNIO

/// A commit's minute and hour rows: read, merged in Swift by the planner's rules (histograms exactly) and written
/// back under the app locks.
extension PostgresStore {
    func writeTransactionRows(
        _ connection: PostgresConnection,
        _ rows: [WritePlan.TransactionKey: TransactionMetric],
        resolution: SliceResolution
    ) async throws {
        let table = Self.table("txn", resolution)
        try await mergeRows(
            connection,
            rows,
            read: { keys in
                """
                SELECT t.* FROM \(unescaped: table) t
                JOIN unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[], \(keys.map(\.name))::text[],
                    \(keys.map(\.apdexT))::float8[]) AS k(app_id, bucket, name, apdex_t)
                ON t.app_id = k.app_id AND t.bucket = k.bucket AND t.name = k.name AND t.apdex_t = k.apdex_t
                """
            },
            stored: { row -> (WritePlan.TransactionKey, TransactionMetric)? in
                let key = WritePlan.TransactionKey(
                    appID: try row.get("app_id"),
                    bucket: try row.get("bucket"),
                    name: try row.get("name"),
                    apdexT: try row.get("apdex_t")
                )
                return (key, try Self.transactionMetric(row, name: key.name, apdexT: key.apdexT))
            },
            merge: WritePlan.merged,
            write: { keys, values in
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
                """
            }
        )
    }

    func writeAppRows(
        _ connection: PostgresConnection,
        _ rows: [WritePlan.AppKey: TransactionMetric],
        resolution: SliceResolution
    ) async throws {
        let table = Self.table("app", resolution)
        try await mergeRows(
            connection,
            rows,
            read: { keys in
                """
                SELECT t.* FROM \(unescaped: table) t
                JOIN unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[],
                    \(keys.map { $0.kind.storageCode })::int2[]) AS k(app_id, bucket, kind)
                ON t.app_id = k.app_id AND t.bucket = k.bucket AND t.kind = k.kind
                """
            },
            stored: { row -> (WritePlan.AppKey, TransactionMetric)? in
                let key = WritePlan.AppKey(
                    appID: try row.get("app_id"),
                    bucket: try row.get("bucket"),
                    kind: TransactionKind(storageCode: try row.get("kind", as: Int16.self))
                )
                guard let new = rows[key] else { return nil }
                return (key, try Self.transactionMetric(row, name: "", apdexT: new.apdexT))
            },
            merge: WritePlan.merged,
            write: { keys, values in
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
                """
            }
        )
    }

    func writeSegmentRows(
        _ connection: PostgresConnection,
        _ rows: [WritePlan.SegmentKey: SegmentMetric],
        resolution: SliceResolution
    ) async throws {
        let table = Self.table("seg", resolution)
        try await mergeRows(
            connection,
            rows,
            read: { keys in
                """
                SELECT t.* FROM \(unescaped: table) t
                JOIN unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.bucket))::bigint[], \(keys.map(\.transaction))::text[],
                    \(keys.map(\.name))::text[]) AS k(app_id, bucket, transaction_name, name)
                ON t.app_id = k.app_id AND t.bucket = k.bucket AND t.transaction_name = k.transaction_name AND t.name = k.name
                """
            },
            stored: { row -> (WritePlan.SegmentKey, SegmentMetric)? in
                let key = WritePlan.SegmentKey(
                    appID: try row.get("app_id"),
                    bucket: try row.get("bucket"),
                    transaction: try row.get("transaction_name"),
                    name: try row.get("name")
                )
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
                    slowestStatementDuration: statement.isEmpty
                        ? nil : try row.get("slowest_duration", as: Double.self),
                    histogram: try row.get("histogram", as: ByteBuffer?.self).map {
                        try LatencyHistogram(encoded: Data(bytesOf: $0))
                    } ?? LatencyHistogram()
                )
                return (key, existing)
            },
            merge: WritePlan.merged,
            write: { keys, values in
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
                """
            }
        )
    }

    /// Rows read, merged with the commit's by the planner's rules (histograms exactly) and written back: one
    /// read and one write per table. The app locks the commit holds make the two one step.
    ///
    /// - Parameters:
    ///   - rows: The commit's rows by key.
    ///   - read: The stored rows of these keys.
    ///   - stored: A stored row's key and value; `nil` for a row the commit does not write.
    ///   - merge: Stored and new into one.
    ///   - write: The upsert of the merged values, in the order of the keys.
    func mergeRows<Key: Hashable, Value>(
        _ connection: PostgresConnection,
        _ rows: [Key: Value],
        read: ([Key]) -> PostgresQuery,
        stored: (PostgresRandomAccessRow) throws -> (Key, Value)?,
        merge: (Value, Value) -> Value,
        write: ([Key], [Value]) -> PostgresQuery
    ) async throws {
        let keys = Array(rows.keys)
        var merged = rows
        for row in try await connection.rows(read(keys), logger) {
            guard let (key, existing) = try stored(row), let new = rows[key] else { continue }
            merged[key] = merge(existing, new)
        }
        try await connection.execute(write(keys, keys.map { merged[$0]! }), logger)
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
