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

    /// One metric over a range: its series (on one host, when `host` is given) in groups that share the value of
    /// `groupBy` (an attribute key, or `host`), or each series on its own, bucket by bucket.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - name: The metric.
    ///   - range: The range.
    ///   - groupBy: An attribute key, `host`, or `nil`.
    ///   - host: Only the series of this host, or all.
    /// - Returns: The groups' points, or `nil` when the app has no such metric.
    public func metric(
        app: StoredApp,
        name: String,
        range: TimeRange,
        groupBy: String?,
        host: String?
    ) async throws -> APIMetricSeries? {
        var series = try await store.metricSeries(appID: app.id, name: name)
        guard let first = series.first else { return nil }
        if let host { series = series.filter { $0.host == host } }
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
            let aggregate = MetricAggregate(
                count: row.count,
                sum: row.sum,
                min: row.min,
                max: row.max,
                last: row.last,
                lastTime: row.lastTime,
                counts: row.counts
            )
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
