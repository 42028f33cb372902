import APMCore
import APMStorage
import GRDB

/// A commit's minute and hour rows, merged into what is stored in SQL (sums saturate, histograms merge with
/// `hist_merge`), and the minutes' drop counts.
extension SQLiteStore {
    func writeRows(_ db: Database, _ plan: WritePlan) throws {
        try writeTransactionRows(db, plan)
        try writeAppRows(db, plan)
        try writeSegmentRows(db, plan)
        try writeDrops(db, plan)
    }

    private func writeTransactionRows(_ db: Database, _ accumulator: WritePlan) throws {
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
    }

    private func writeAppRows(_ db: Database, _ accumulator: WritePlan) throws {
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
    }

    private func writeSegmentRows(_ db: Database, _ accumulator: WritePlan) throws {
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
    }

    private func writeDrops(_ db: Database, _ accumulator: WritePlan) throws {
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
