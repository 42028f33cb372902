import APMCore
public import APMStorage
import Foundation

extension CollectorQueries {
    /// What the databases page shows, reading each category's totals once: the operations and hosts, and the time
    /// per bucket of the top ones.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    ///   - top: How many operations and hosts to chart.
    /// - Returns: The rows and the two charts' series.
    public func callsView(
        app: StoredApp,
        range: TimeRange,
        top: Int = 5
    ) async throws -> (
        databases: [APIDatabaseRow], externals: [APIExternalRow], databaseSeries: APICallTimeSeries,
        externalSeries: APICallTimeSeries
    ) {
        let datastore = try await segmentTotals(app: app, transaction: nil, category: .datastore, range: range)
        let external = try await segmentTotals(app: app, transaction: nil, category: .external, range: range)
        return (
            try await databaseRows(datastore, app: app, transaction: nil, range: range),
            Self.hosts(external).map(\.row),
            try await callTimeSeries(app: app, range: range, lines: Self.topOperations(datastore, top: top)),
            try await callTimeSeries(app: app, range: range, lines: Self.topHosts(external, top: top))
        )
    }

    /// Database operations over the range.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: The range.
    /// - Returns: Rows by total time.
    public func databases(app: StoredApp, transaction: String? = nil, range: TimeRange) async throws -> [APIDatabaseRow]
    {
        let segments = try await segmentTotals(app: app, transaction: transaction, category: .datastore, range: range)
        return try await databaseRows(segments, app: app, transaction: transaction, range: range)
    }

    /// External hosts over the range.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: The range.
    /// - Returns: Rows by total time.
    public func externals(app: StoredApp, transaction: String? = nil, range: TimeRange) async throws -> [APIExternalRow]
    {
        Self.hosts(
            try await segmentTotals(app: app, transaction: transaction, category: .external, range: range)
        ).map(\.row)
    }

    /// Time per bucket in the app's top database operations (by total time over the range).
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    ///   - top: How many operations.
    /// - Returns: One line per operation.
    public func databaseTimeSeries(app: StoredApp, range: TimeRange, top: Int = 5) async throws -> APICallTimeSeries {
        let segments = try await segmentTotals(app: app, transaction: nil, category: .datastore, range: range)
        return try await callTimeSeries(app: app, range: range, lines: Self.topOperations(segments, top: top))
    }

    /// Time per bucket in the app's top external hosts (by total time over the range). A host's calls may be
    /// recorded under several segment names (one per method or route): a line sums them.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    ///   - top: How many hosts.
    /// - Returns: One line per host.
    public func externalTimeSeries(app: StoredApp, range: TimeRange, top: Int = 5) async throws -> APICallTimeSeries {
        let segments = try await segmentTotals(app: app, transaction: nil, category: .external, range: range)
        return try await callTimeSeries(app: app, range: range, lines: Self.topHosts(segments, top: top))
    }

    private func segmentTotals(
        app: StoredApp,
        transaction: String?,
        category: SegmentCategory,
        range: TimeRange
    ) async throws -> [SegmentSlice] {
        try await store.segmentTotals(
            appID: app.id,
            transaction: transaction,
            category: category,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
    }

    /// Rows of datastore segments, each with the slowest statement of the metrics or of the kept traces.
    private func databaseRows(
        _ segments: [SegmentSlice],
        app: StoredApp,
        transaction: String?,
        range: TimeRange
    ) async throws -> [APIDatabaseRow] {
        let traces = try await store.traces(
            appID: app.id,
            transaction: transaction,
            range: range.from..<range.to,
            limit: 200
        )
        var slowest: [String: (Double, String)] = [:]
        for stored in traces {
            for segment in stored.trace.segments where segment.category == .datastore && !segment.statement.isEmpty {
                if segment.duration > (slowest[segment.name]?.0 ?? -1) {
                    slowest[segment.name] = (segment.duration, segment.statement)
                }
            }
        }
        return segments.map { segment in
            // The slower of the statement the agents reported with their metrics and the one in kept traces.
            var statement = segment.slowestStatement
            if let traced = slowest[segment.name], traced.0 > segment.slowestStatementDuration || statement.isEmpty {
                statement = traced.1
            }
            return APIDatabaseRow(
                name: segment.name,
                system: segment.system,
                operation: segment.operation,
                table: segment.target,
                calls: segment.count,
                average: segment.count > 0 ? segment.total / Double(segment.count) : 0,
                totalTime: segment.total,
                max: segment.max,
                slowestStatement: statement
            )
        }
    }

    /// External segments by host (a host's calls may be recorded under several segment names), most time first.
    private static func hosts(_ segments: [SegmentSlice]) -> [(row: APIExternalRow, segments: [String])] {
        var byHost: [String: (row: APIExternalRow, segments: [String])] = [:]
        for segment in segments {
            var host =
                byHost[segment.operation]
                ?? (APIExternalRow(host: segment.operation, calls: 0, errors: 0, average: 0, totalTime: 0, max: 0), [])
            host.row.calls += segment.count
            host.row.errors += segment.errors
            host.row.totalTime += segment.total
            host.row.max = Swift.max(host.row.max, segment.max)
            host.row.average = host.row.calls > 0 ? host.row.totalTime / Double(host.row.calls) : 0
            host.segments.append(segment.name)
            byHost[segment.operation] = host
        }
        return byHost.values.sorted { ($0.row.totalTime, $1.row.host) > ($1.row.totalTime, $0.row.host) }
    }

    /// The chart lines of the top operations: one segment each.
    private static func topOperations(_ segments: [SegmentSlice], top: Int) -> [(name: String, segments: [String])] {
        segments.sorted { ($0.total, $1.name) > ($1.total, $0.name) }.prefix(top).map { ($0.name, [$0.name]) }
    }

    /// The chart lines of the top hosts: every segment of the host.
    private static func topHosts(_ segments: [SegmentSlice], top: Int) -> [(name: String, segments: [String])] {
        hosts(segments).prefix(top).map { ($0.row.host, $0.segments) }
    }

    /// The per-bucket time of groups of segments, read with one query.
    private func callTimeSeries(
        app: StoredApp,
        range: TimeRange,
        lines: [(name: String, segments: [String])]
    ) async throws -> APICallTimeSeries {
        let buckets = Int((range.to - range.from) / range.bucketSeconds)
        var lineOfSegment: [String: Int] = [:]
        for (index, line) in lines.enumerated() {
            for segment in line.segments { lineOfSegment[segment] = index }
        }
        var seconds = [[Double?]](repeating: [Double?](repeating: nil, count: buckets), count: lines.count)
        for slice in try await store.segmentSeries(
            appID: app.id,
            names: Array(lineOfSegment.keys),
            range: range.from..<range.to,
            resolution: resolution(range)
        ) {
            let bucket = Int((slice.bucket - range.from) / range.bucketSeconds)
            guard let line = lineOfSegment[slice.name], bucket >= 0 && bucket < buckets else { continue }
            seconds[line][bucket] = (seconds[line][bucket] ?? 0) + slice.total
        }
        return APICallTimeSeries(
            from: range.from,
            to: range.to,
            bucketSeconds: range.bucketSeconds,
            resolution: range.resolution.rawValue,
            lines: zip(lines, seconds).map { APICallTimeSeries.Line(name: $0.0.name, seconds: $0.1) }
        )
    }
}
