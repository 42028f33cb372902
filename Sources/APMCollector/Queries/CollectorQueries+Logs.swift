import APMCore
public import APMStorage

extension CollectorQueries {
    /// Log lines shown with a trace or an error sample (logs in context).
    static let linesPerTrace = 100

    /// A page of an app's log lines, newest first, with the kept traces they link to.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - filter: Range (Unix nanoseconds), level, words, trace, transaction, host.
    ///   - after: The cursor of the previous page.
    ///   - limit: Lines per page.
    public func logs(app: StoredApp, filter: LogFilter, after: LogCursor?, limit: Int) async throws -> APILogPage {
        // One more than asked says whether a next page exists.
        let records = try await store.logs(appID: app.id, filter: filter, after: after, limit: limit + 1)
        let page = Array(records.prefix(limit))
        let traceIDs = Set(page.map(\.traceID).filter { !$0.isEmpty })
        return APILogPage(
            logs: page.map(APILogRecord.init),
            nextCursor: records.count > limit
                ? page.last.map { LogCursor(timeUnixNano: $0.timeUnixNano, id: $0.id).token } : nil,
            traces: try await store.traceRowIDs(appID: app.id, traceIDs: traceIDs)
        )
    }

    /// Lines per level per bucket over the range (the range's own bucket size), the totals and the volume.
    public func logHistogram(app: StoredApp, filter: LogFilter, range: TimeRange) async throws -> APILogHistogram {
        let rows = try await store.logHistogram(appID: app.id, filter: filter, bucketSeconds: range.bucketSeconds)
        var buckets: [Int64: [LogLevel: UInt64]] = [:]
        var totals: [LogLevel: UInt64] = [:]
        for row in rows {
            buckets[row.bucket, default: [:]][row.level, default: 0] += row.count
            totals[row.level, default: 0] += row.count
        }
        let volume = try await store.logVolume(appID: app.id, range: range.from..<range.to)
        return APILogHistogram(
            from: range.from,
            to: range.to,
            bucketSeconds: range.bucketSeconds,
            buckets: buckets.keys.sorted().map { APILogHistogram.Bucket(start: $0, counts: buckets[$0] ?? [:]) },
            totals: totals,
            volume: APILogHistogram.Volume(
                stored: volume.stored,
                droppedByCap: volume.droppedByCap,
                cut: volume.cut,
                droppedByAgent: volume.droppedByAgent
            )
        )
    }

    /// The lines logged in one trace, oldest first (at most `limit`, the latest of them).
    public func logsOfTrace(app: StoredApp, traceID: String, limit: Int) async throws -> [APILogRecord] {
        let filter = LogFilter(range: 0..<Int64.max, traceID: traceID)
        return try await store.logs(appID: app.id, filter: filter, after: nil, limit: limit).reversed()
            .map(APILogRecord.init)
    }

    /// Lines at `error` or `fatal` logged in whole minutes `seconds` (Unix seconds), of one transaction or all:
    /// what an `error_logs` alert condition counts.
    public func errorLogLines(app: StoredApp, transaction: String?, seconds: Range<Int64>) async throws -> UInt64 {
        let filter = LogFilter(
            range: (seconds.lowerBound &* 1_000_000_000)..<(seconds.upperBound &* 1_000_000_000),
            minimumLevel: .error,
            transaction: transaction
        )
        return try await store.logHistogram(appID: app.id, filter: filter, bucketSeconds: 60).reduce(0) {
            $0 + $1.count
        }
    }
}
