public import APMCore
import APMStorage
import Foundation

/// An app's metrics (`GET /api/v1/apps/{id}/metrics`).
public struct APIMetricList: Codable, Sendable {
    /// One entry per metric name.
    public var metrics: [APIMetric]
}

/// A metric an app reports: its name, unit and kind, and what its series differ by.
public struct APIMetric: Codable, Sendable, Hashable {
    /// The name (`system.cpu.utilization`).
    public var name: String
    /// The unit (`1`, `By`, `s`), empty when none.
    public var unit: String
    /// `gauge`, `counter` or `histogram`.
    public var kind: MetricPoint.Kind
    /// How many series (hosts, processes, attribute sets).
    public var series: Int
    /// The hosts that report it.
    public var hosts: [String]
    /// The attribute keys its series have (what `group_by` may name).
    public var attributeKeys: [String]
    /// When it was last received (Unix seconds).
    public var lastSeen: Double

    enum CodingKeys: String, CodingKey {
        case name, unit, kind, series, hosts
        case attributeKeys = "attribute_keys"
        case lastSeen = "last_seen"
    }
}

/// One metric over a range, per group of series (`GET /api/v1/apps/{id}/metrics/{name}`).
public struct APIMetricSeries: Codable, Sendable {
    /// The metric.
    public var name: String
    /// Its unit.
    public var unit: String
    /// Its kind, which says which point fields are set.
    public var kind: MetricPoint.Kind
    /// The range's start and end (Unix seconds) and its bucket length.
    public var from: Int64
    /// The range's end.
    public var to: Int64
    /// Seconds per point.
    public var bucketSeconds: Int64
    /// The attribute the series are grouped by (`host` for the host), `nil` when each series is its own group.
    public var groupBy: String?
    /// One group per value of `groupBy` (or per series), by label.
    public var groups: [APIMetricGroup]

    enum CodingKeys: String, CodingKey {
        case name, unit, kind, from, to, groups
        case bucketSeconds = "bucket_seconds"
        case groupBy = "group_by"
    }
}

/// The series of one group, bucket by bucket.
public struct APIMetricGroup: Codable, Sendable, Hashable {
    /// What the group's series share: the value of `group_by`, or the series' host, process and attributes.
    public var label: String
    /// Series in the group.
    public var series: Int
    /// One point per bucket that has readings.
    public var points: [APIMetricPoint]
}

/// A group's figures over one bucket. A gauge has `avg` (the mean of its series' means), `sum` (their sum: a
/// group's total level), `min`, `max`; a counter `increase` and `rate` (per second over the bucket); a histogram
/// `count`, `avg`, `min`/`max` when known, and `p50`/`p95`/`p99` estimated from its buckets as Prometheus'
/// `histogram_quantile` does (linear within a bucket; in the last, open bucket, its lower bound).
public struct APIMetricPoint: Codable, Sendable, Hashable {
    /// The bucket's start (Unix seconds).
    public var time: Int64
    /// Readings (gauge, counter) or observations (histogram).
    public var count: UInt64
    /// Mean.
    public var avg: Double?
    /// Sum of the series' means (gauge).
    public var sum: Double?
    /// Least reading or observation.
    public var min: Double?
    /// Greatest.
    public var max: Double?
    /// Increase over the bucket (counter).
    public var increase: Double?
    /// Increase per second (counter).
    public var rate: Double?
    /// Median (histogram).
    public var p50: Double?
    /// 95th percentile (histogram).
    public var p95: Double?
    /// 99th percentile (histogram).
    public var p99: Double?
}
