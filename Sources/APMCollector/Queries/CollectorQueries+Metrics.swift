import APMCore
public import APMStorage
import Foundation

extension CollectorQueries {
    /// The metrics an app reports, by name.
    ///
    /// - Parameter app: The app.
    /// - Returns: One entry per name.
    public func metrics(app: StoredApp) async throws -> APIMetricList {
        let series = try await store.metricSeries(appID: app.id, name: nil)
        let byName = Dictionary(grouping: series, by: \.name)
        return APIMetricList(
            metrics: byName.keys.sorted().map { name in
                let members = byName[name] ?? []
                let latest = members.max { $0.lastSeen < $1.lastSeen }
                return APIMetric(
                    name: name,
                    unit: latest?.unit ?? "",
                    kind: latest?.kind ?? .gauge,
                    series: members.count,
                    hosts: Set(members.map(\.host)).sorted(),
                    attributeKeys: Set(members.flatMap(\.attributes.keys)).sorted(),
                    lastSeen: latest?.lastSeen ?? 0
                )
            }
        )
    }

    /// One metric over a range: its series (those every filter matches) in groups that share the value of `groupBy`
    /// (an attribute key, or `host`), or each series on its own, bucket by bucket.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - name: The metric.
    ///   - range: The range.
    ///   - groupBy: An attribute key, `host`, or `nil`.
    ///   - filters: Which series (`host=NAME`, `state=idle`); all when empty.
    /// - Returns: The groups' points, or `nil` when the app has no such metric.
    public func metric(
        app: StoredApp,
        name: String,
        range: TimeRange,
        groupBy: String?,
        filters: [MetricSeriesFilter] = []
    ) async throws -> APIMetricSeries? {
        var series = try await store.metricSeries(appID: app.id, name: name)
        guard let first = series.first else { return nil }
        series = series.filter { member in filters.allSatisfy { $0.matches(member) } }
        // Rows of the buckets' resolution: an hour row inside a range of minute buckets would land in one of them.
        let rows = try await store.metricRows(
            appID: app.id,
            seriesIDs: series.map(\.id),
            range: range.from..<range.to,
            resolution: resolution(range)
        )
        let groups = MetricGrouping(series: series, groupBy: groupBy, bucketSeconds: range.bucketSeconds)
            .groups(rows)
        return APIMetricSeries(
            name: name,
            unit: first.unit,
            kind: first.kind,
            from: range.from,
            to: range.to,
            bucketSeconds: range.bucketSeconds,
            groupBy: groupBy,
            groups: groups
        )
    }
}

extension CollectorQueries {
    /// A metric over an alert's window: per series (narrowed by `filter`, `key=value` or `host=NAME`), a gauge's
    /// mean, a counter's rate per second or a histogram's p95 over the window's minutes; the worst of them (the
    /// highest, or the lowest when `worstIsLowest`), and the readings they come from.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - name: The metric.
    ///   - filter: `key=value`, or empty for every series.
    ///   - seconds: The window (whole minutes).
    ///   - worstIsLowest: Whether a lower figure is worse.
    /// - Returns: The worst series' figure (`nil` without readings) and the readings in the window.
    public func metricWindowValue(
        app: StoredApp,
        name: String,
        filter: String,
        seconds: Range<Int64>,
        worstIsLowest: Bool
    ) async throws -> (value: Double?, readings: UInt64) {
        var series = try await store.metricSeries(appID: app.id, name: name)
        if let filter = MetricSeriesFilter(parsing: filter) { series = series.filter(filter.matches) }
        let rows = try await store.metricRows(
            appID: app.id,
            seriesIDs: series.map(\.id),
            range: seconds,
            resolution: .minute
        )
        let grouping = MetricGrouping(
            series: series,
            groupBy: nil,
            bucketSeconds: seconds.upperBound - seconds.lowerBound
        )
        var values: [Double] = []
        var readings: UInt64 = 0
        for member in series {
            let own = rows.filter { $0.seriesID == member.id }.map(MetricAggregate.init)
            guard let first = own.first else { continue }
            let window = own.dropFirst().reduce(first) { $0.merged(with: $1) }
            let point = grouping.point(time: seconds.lowerBound, [window], kind: member.kind)
            readings = readings.addingSaturated(point.count)
            let value: Double? =
                switch member.kind {
                case .gauge: point.avg
                case .counter: point.rate
                case .histogram: point.p95
                }
            if let value { values.append(value) }
        }
        return (worstIsLowest ? values.min() : values.max(), readings)
    }
}

extension MetricAggregate {
    /// A stored row's figures.
    init(_ row: MetricRowRecord) {
        self.init(
            count: row.count,
            sum: row.sum,
            min: row.min,
            max: row.max,
            last: row.last,
            lastTime: row.lastTime,
            counts: row.counts
        )
    }
}

/// Series' rows combined into groups and buckets: the rules of ``APIMetricPoint``.
struct MetricGrouping {
    let series: [MetricSeriesRecord]
    let groupBy: String?
    let bucketSeconds: Int64

    func label(_ series: MetricSeriesRecord) -> String {
        switch groupBy {
        case "host": return series.host
        case let key?: return series.attributes[key] ?? ""
        case nil:
            let attributes = series.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return ([series.host] + (series.process == 0 ? [] : ["pid \(series.process)"]) + attributes)
                .joined(separator: " ")
        }
    }

    func groups(_ rows: [MetricRowRecord]) -> [APIMetricGroup] {
        let byID = Dictionary(uniqueKeysWithValues: series.map { ($0.id, $0) })
        // Per group, bucket and series: the series' rows in the bucket merged.
        var merged: [String: [Int64: [Int64: MetricAggregate]]] = [:]
        for row in rows {
            guard let member = byID[row.seriesID] else { continue }
            let bucket = row.bucket - ((row.bucket % bucketSeconds) + bucketSeconds) % bucketSeconds
            let aggregate = MetricAggregate(row)
            let label = label(member)
            let existing = merged[label]?[bucket]?[row.seriesID]
            merged[label, default: [:]][bucket, default: [:]][row.seriesID] =
                existing?.merged(with: aggregate) ?? aggregate
        }
        let members = Dictionary(grouping: series, by: label)
        return members.keys.sorted().map { label in
            let buckets = merged[label] ?? [:]
            return APIMetricGroup(
                label: label,
                series: members[label]?.count ?? 0,
                points: buckets.keys.sorted().map { bucket in
                    point(time: bucket, Array((buckets[bucket] ?? [:]).values), kind: members[label]?.first?.kind)
                }
            )
        }
    }

    func point(time: Int64, _ perSeries: [MetricAggregate], kind: MetricPoint.Kind?) -> APIMetricPoint {
        let total = perSeries.dropFirst().reduce(perSeries[0]) { $0.merged(with: $1) }
        var point = APIMetricPoint(time: time, count: total.count)
        switch kind ?? .gauge {
        case .gauge:
            let means = perSeries.map { $0.count == 0 ? 0 : $0.sum / Double($0.count) }
            point.sum = means.reduce(0, +)
            point.avg = point.sum.map { $0 / Double(means.count) }
            point.min = total.min
            point.max = total.max
        case .counter:
            point.increase = total.sum
            point.rate = total.sum / Double(bucketSeconds)
        case .histogram:
            point.avg = total.count == 0 ? nil : total.sum / Double(total.count)
            point.min = total.min
            point.max = total.max
            let bounds = series.first?.bounds ?? []
            point.p50 = Self.quantile(0.5, counts: total.counts, bounds: bounds)
            point.p95 = Self.quantile(0.95, counts: total.counts, bounds: bounds)
            point.p99 = Self.quantile(0.99, counts: total.counts, bounds: bounds)
        }
        return point
    }

    /// The `q` quantile of bucket counts over explicit bounds, as Prometheus' `histogram_quantile`: linear within
    /// the bucket holding the rank; the first bucket starts at 0 (when its bound is positive); in the last, open
    /// bucket the answer is the last bound. `nil` without observations.
    static func quantile(_ q: Double, counts: [UInt64], bounds: [Double]) -> Double? {
        let total = counts.reduce(0) { $0 + Double($1) }
        guard total > 0, counts.count == bounds.count + 1 else { return nil }
        let rank = q * total
        var below = 0.0
        for (index, count) in counts.enumerated() {
            let count = Double(count)
            if below + count >= rank && count > 0 {
                guard index < bounds.count else { return bounds.last }
                let upper = bounds[index]
                let lower = index == 0 ? Swift.min(0, upper) : bounds[index - 1]
                return lower + (upper - lower) * (rank - below) / count
            }
            below += count
        }
        return bounds.last
    }
}
