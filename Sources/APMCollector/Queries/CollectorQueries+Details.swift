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
    ///   - filter: Which issues (states, transaction, first seen).
    ///   - order: The sort.
    /// - Returns: Groups in that order (most frequent first by default).
    public func errors(
        app: StoredApp,
        range: TimeRange,
        limit: Int = 50,
        filter: ErrorGroupFilter = ErrorGroupFilter(),
        order: ErrorGroupOrder = .count
    ) async throws -> [APIErrorGroup] {
        var result: [APIErrorGroup] = []
        for group in try await store.errorGroups(
            appID: app.id,
            range: range.from..<range.to,
            limit: limit,
            filter: filter,
            order: order
        ) {
            result.append(try await apiErrorGroup(group, app: app, range: range))
        }
        return result
    }

    /// A group as the API shows it, with its sparkline over the range.
    private func apiErrorGroup(_ group: ErrorGroup, app: StoredApp, range: TimeRange) async throws -> APIErrorGroup {
        let counts = try await store.errorGroupSeries(appID: app.id, groupID: group.id, range: range.from..<range.to)
        var sparkline = [UInt64](repeating: 0, count: Int((range.to - range.from) / range.bucketSeconds))
        for (minute, count) in counts {
            let index = Int((minute - range.from) / range.bucketSeconds)
            if index >= 0 && index < sparkline.count { sparkline[index] += count }
        }
        var result = APIErrorGroup(
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
        result.usersAffected = group.usersAffected
        return result
    }

    /// One issue in detail over a range: occurrences over time and by deployment, counts by transaction and host,
    /// the deployments of its first and latest occurrence, its latest samples with the traces kept of them.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - id: The issue.
    ///   - range: The range of the occurrences over time and by deployment.
    /// - Returns: The detail, `nil` when the app has no such issue.
    public func issue(app: StoredApp, id: Int64, range: TimeRange) async throws -> APIIssueDetail? {
        guard let stored = try await store.errorGroup(appID: app.id, id: id) else { return nil }
        var inRange = stored
        let counts = try await store.errorGroupSeries(appID: app.id, groupID: id, range: range.from..<range.to)
        inRange.count = counts.values.reduce(0) { $0.addingSaturated($1) }
        let issue = try await apiErrorGroup(inRange, app: app, range: range)
        // Every deployment up to the range's end: which one was in effect at each occurrence.
        let deployments = try await store.deployments(
            appID: app.id,
            range: 0..<max(range.to, Int64(stored.lastSeen) + 1)
        )
        .sorted { $0.at < $1.at }
        func inEffect(at time: Double) -> Deployment? { deployments.last { $0.at <= time } }
        var byDeployment: [Int64: (deployment: Deployment?, count: UInt64)] = [:]
        for (minute, count) in counts {
            let deployment = inEffect(at: Double(minute))
            let key = deployment?.id ?? 0
            byDeployment[key] = (deployment, (byDeployment[key]?.count ?? 0).addingSaturated(count))
        }
        let facets = try await store.errorGroupFacets(appID: app.id, groupID: id, limit: 20)
        func facet(_ kind: ErrorFacetKind) -> [APIFacetCount] {
            (facets[kind] ?? []).map { APIFacetCount(value: $0.value, count: $0.count, lastSeen: $0.lastSeen) }
        }
        let samples = try await store.errorGroupSamples(appID: app.id, groupID: id)
        let traceIDs = Set(samples.map(\.sample.traceID).filter { !$0.isEmpty })
        let traceRows = try await store.traceRowIDs(appID: app.id, traceIDs: traceIDs)
        // Logs in context: each sample's lines, from the lines of its trace.
        var sampleLogs: [String: [APILogRecord]] = [:]
        for traceID in traceIDs {
            sampleLogs[traceID] = try await logsOfTrace(app: app, traceID: traceID, limit: Self.linesPerTrace)
        }
        return APIIssueDetail(
            issue: issue,
            totalCount: stored.count,
            from: range.from,
            bucketSeconds: range.bucketSeconds,
            firstSeenDeployment: inEffect(at: stored.firstSeen).map(APIDeployment.init),
            lastSeenDeployment: inEffect(at: stored.lastSeen).map(APIDeployment.init),
            transactions: facet(.transaction),
            hosts: facet(.host),
            deployments: byDeployment.values.sorted { ($0.deployment?.at ?? 0) > ($1.deployment?.at ?? 0) }.map {
                APIDeploymentCount(revision: $0.deployment?.revision ?? "", at: $0.deployment?.at, count: $0.count)
            },
            samples: samples.map {
                APIIssueSample(
                    at: $0.at,
                    host: $0.host,
                    sample: $0.sample,
                    traceRowID: $0.sample.traceID.isEmpty ? nil : traceRows[$0.sample.traceID],
                    logs: sampleLogs[$0.sample.traceID] ?? []
                )
            }
        )
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
