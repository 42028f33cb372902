public import APMCore
public import APMStorage
import Foundation

extension CollectorQueries {
    /// Error groups over the range, with a sparkline per bucket.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    ///   - limit: At most this many.
    ///   - states: Only issues in these states; `nil` for all.
    ///   - order: The sort.
    /// - Returns: Groups in that order (most frequent first by default).
    public func errors(
        app: StoredApp,
        range: TimeRange,
        limit: Int = 50,
        states: Set<ErrorGroupState>? = nil,
        order: ErrorGroupOrder = .count
    ) async throws -> [APIErrorGroup] {
        var result: [APIErrorGroup] = []
        for group in try await store.errorGroups(
            appID: app.id,
            range: range.from..<range.to,
            limit: limit,
            states: states,
            order: order
        ) {
            let counts = try await store.errorGroupSeries(
                appID: app.id,
                groupID: group.id,
                range: range.from..<range.to
            )
            var sparkline = [UInt64](repeating: 0, count: Int((range.to - range.from) / range.bucketSeconds))
            for (minute, count) in counts {
                let index = Int((minute - range.from) / range.bucketSeconds)
                if index >= 0 && index < sparkline.count { sparkline[index] += count }
            }
            result.append(
                APIErrorGroup(
                    id: group.id,
                    type: group.type,
                    message: group.message,
                    transaction: group.transaction,
                    count: group.count,
                    firstSeen: group.firstSeen,
                    lastSeen: group.lastSeen,
                    sample: group.sample,
                    sparkline: sparkline,
                    status: APIIssueStatus(group.status)
                )
            )
        }
        return result
    }

    /// The slowest traces over the range.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: The range.
    ///   - limit: At most this many.
    /// - Returns: Trace summaries, slowest first.
    public func traces(
        app: StoredApp,
        transaction: String? = nil,
        range: TimeRange,
        limit: Int = 20
    ) async throws -> [APITraceSummary] {
        try await store.traces(appID: app.id, transaction: transaction, range: range.from..<range.to, limit: limit).map
        {
            APITraceSummary(
                id: $0.id,
                traceID: $0.trace.traceID,
                transaction: $0.trace.transaction,
                start: $0.trace.start,
                duration: $0.trace.duration,
                status: $0.trace.status,
                error: $0.trace.isError
            )
        }
    }

    /// The latency distribution of an app's web transactions, or of one transaction, over a range (the same
    /// stored rows as its series and figures).
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: The range.
    /// - Returns: The histogram's buckets (1 % resolution).
    public func latencyHistogram(
        app: StoredApp,
        transaction: String?,
        range: TimeRange
    ) async throws -> APILatencyHistogram {
        var histogram = LatencyHistogram()
        for slice in try await slices(app: app, transaction: transaction, range: range) {
            histogram.merge(slice.histogram)
        }
        return APILatencyHistogram(histogram, transaction: transaction)
    }

    /// One kept trace of the app.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - id: The trace's id.
    /// - Returns: The trace, or `nil` when the app has none with that id.
    public func trace(app: StoredApp, id: Int64) async throws -> TransactionTrace? {
        try await store.trace(appID: app.id, id: id)?.trace
    }

    /// The app's deployments in the range.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    /// - Returns: Deployments, oldest first.
    public func deployments(app: StoredApp, range: TimeRange) async throws -> [APIDeployment] {
        try await store.deployments(appID: app.id, range: range.from..<range.to).map(APIDeployment.init)
    }

    /// The app's process resources and events in the range.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    /// - Returns: Samples per minute and start, exit and crash events.
    public func process(app: StoredApp, range: TimeRange) async throws -> ProcessMetricsResponse {
        ProcessMetricsResponse(
            samples: try await store.processSlices(appID: app.id, range: range.from..<range.to).map(
                APIProcessSample.init
            ),
            events: try await store.processEvents(appID: app.id, range: range.from..<range.to).map(APIProcessEvent.init)
        )
    }
}
