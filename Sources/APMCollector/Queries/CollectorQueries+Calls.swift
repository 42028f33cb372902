import APMCore
public import APMStorage
import Foundation

extension CollectorQueries {
    /// Database operations over the range.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: The range.
    /// - Returns: Rows by total time.
    public func databases(app: StoredApp, transaction: String? = nil, range: TimeRange) async throws -> [APIDatabaseRow]
    {
        let segments = try await store.segmentTotals(
            appID: app.id,
            transaction: transaction,
            category: .datastore,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
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

    /// External hosts over the range.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: The range.
    /// - Returns: Rows by total time.
    public func externals(app: StoredApp, transaction: String? = nil, range: TimeRange) async throws -> [APIExternalRow]
    {
        let segments = try await store.segmentTotals(
            appID: app.id,
            transaction: transaction,
            category: .external,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
        var byHost: [String: APIExternalRow] = [:]
        for segment in segments {
            var row =
                byHost[segment.operation]
                ?? APIExternalRow(host: segment.operation, calls: 0, errors: 0, average: 0, totalTime: 0, max: 0)
            row.calls += segment.count
            row.errors += segment.errors
            row.totalTime += segment.total
            row.max = Swift.max(row.max, segment.max)
            row.average = row.calls > 0 ? row.totalTime / Double(row.calls) : 0
            byHost[segment.operation] = row
        }
        return byHost.values.sorted { ($0.totalTime, $1.host) > ($1.totalTime, $0.host) }
    }

    /// Time per bucket in the app's top database operations (by total time over the range).
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    ///   - top: How many operations.
    /// - Returns: One line per operation.
    public func databaseTimeSeries(app: StoredApp, range: TimeRange, top: Int = 5) async throws -> APICallTimeSeries {
        let operations = try await store.segmentTotals(
            appID: app.id,
            transaction: nil,
            category: .datastore,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
        .sorted { ($0.total, $1.name) > ($1.total, $0.name) }
        return try await callTimeSeries(
            app: app,
            range: range,
            lines: operations.prefix(top).map { (name: $0.name, segments: [$0.name]) }
        )
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
        let segments = try await store.segmentTotals(
            appID: app.id,
            transaction: nil,
            category: .external,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
        var byHost: [String: (total: Double, segments: [String])] = [:]
        for segment in segments {
            byHost[segment.operation, default: (0, [])].total += segment.total
            byHost[segment.operation, default: (0, [])].segments.append(segment.name)
        }
        let hosts = byHost.sorted { ($0.value.total, $1.key) > ($1.value.total, $0.key) }
        return try await callTimeSeries(
            app: app,
            range: range,
            lines: hosts.prefix(top).map { (name: $0.key, segments: $0.value.segments) }
        )
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
