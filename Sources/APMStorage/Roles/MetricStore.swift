public import APMCore

/// Metric series and their minute and hour rows (OpenTelemetry metrics, the host readings of `apm run-program`).
public protocol MetricStore: Sendable {
    /// An app's series, by name, host, process and attributes.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - name: Only the series of this metric, or every series when `nil`.
    /// - Returns: The series.
    func metricSeries(appID: Int64, name: String?) async throws -> [MetricSeriesRecord]

    /// The rows of some series of an app in a range, by series and bucket.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - seriesIDs: The series.
    ///   - range: Unix seconds; rows whose bucket starts in it.
    ///   - resolution: Minute or hour rows.
    /// - Returns: The rows.
    func metricRows(
        appID: Int64,
        seriesIDs: [Int64],
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [MetricRowRecord]

    /// The hosts some apps' series come from: per host and app, when its series were last received and whether
    /// they include the host's own figures (`system.*`, as `apm run-program` and OpenTelemetry's host metrics
    /// receiver send).
    ///
    /// - Parameter appIDs: The apps (an account's).
    /// - Returns: One record per host and app, by host.
    func metricHosts(appIDs: [Int64]) async throws -> [MetricHostRecord]
}

/// A host an app's metric series come from.
public struct MetricHostRecord: Sendable, Hashable {
    /// The host's name.
    public var host: String
    /// The app.
    public var appID: Int64
    /// When the app's series from the host were last received (Unix seconds).
    public var lastSeen: Double
    /// Whether they include the host's own figures (`system.*`).
    public var hasSystemMetrics: Bool

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - host: The host.
    ///   - appID: The app.
    ///   - lastSeen: Last received.
    ///   - hasSystemMetrics: Whether `system.*` series are among them.
    public init(host: String, appID: Int64, lastSeen: Double, hasSystemMetrics: Bool) {
        self.host = host
        self.appID = appID
        self.lastSeen = lastSeen
        self.hasSystemMetrics = hasSystemMetrics
    }
}

/// A stored metric series.
public struct MetricSeriesRecord: Sendable, Hashable {
    /// Its id.
    public var id: Int64
    /// The metric's name.
    public var name: String
    /// The host that reported it.
    public var host: String
    /// The process (0 for host-wide readings).
    public var process: Int64
    /// The attributes.
    public var attributes: [String: String]
    /// The unit.
    public var unit: String
    /// What its readings mean.
    public var kind: MetricPoint.Kind
    /// A histogram's bucket bounds.
    public var bounds: [Double]
    /// When it was first and last received (Unix seconds).
    public var firstSeen: Double
    /// When it was last received.
    public var lastSeen: Double

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - name: The name.
    ///   - host: The host.
    ///   - process: The process.
    ///   - attributes: The attributes.
    ///   - unit: The unit.
    ///   - kind: The kind.
    ///   - bounds: Bucket bounds.
    ///   - firstSeen: First received.
    ///   - lastSeen: Last received.
    public init(
        id: Int64,
        name: String,
        host: String,
        process: Int64,
        attributes: [String: String],
        unit: String,
        kind: MetricPoint.Kind,
        bounds: [Double],
        firstSeen: Double,
        lastSeen: Double
    ) {
        self.id = id
        self.name = name
        self.host = host
        self.process = process
        self.attributes = attributes
        self.unit = unit
        self.kind = kind
        self.bounds = bounds
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

/// A series' figures over a minute or an hour (``MetricSeriesRecord/kind`` says how to read them).
public struct MetricRowRecord: Sendable, Hashable {
    /// The series.
    public var seriesID: Int64
    /// The bucket's first second (Unix seconds).
    public var bucket: Int64
    /// Readings (a gauge, a counter) or observations (a histogram).
    public var count: UInt64
    /// The readings' sum (a gauge), the increase (a counter), the observations' sum (a histogram).
    public var sum: Double
    /// The least reading or observation, when known.
    public var min: Double?
    /// The greatest, when known.
    public var max: Double?
    /// The last reading's value.
    public var last: Double
    /// When it was read (Unix nanoseconds).
    public var lastTime: Int64
    /// A histogram's counts per bucket.
    public var counts: [UInt64]

    /// Creates a row.
    ///
    /// - Parameters:
    ///   - seriesID: The series.
    ///   - bucket: The bucket.
    ///   - count: Readings or observations.
    ///   - sum: Their sum or the increase.
    ///   - min: The least.
    ///   - max: The greatest.
    ///   - last: The last reading.
    ///   - lastTime: Its time.
    ///   - counts: Bucket counts.
    public init(
        seriesID: Int64,
        bucket: Int64,
        count: UInt64,
        sum: Double,
        min: Double?,
        max: Double?,
        last: Double,
        lastTime: Int64,
        counts: [UInt64]
    ) {
        self.seriesID = seriesID
        self.bucket = bucket
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
        self.last = last
        self.lastTime = lastTime
        self.counts = counts
    }
}

/// Which series of a metric: those whose attribute `key` is `value`, or, for the key `host`, those of that host.
/// Written `key=value` (an alert's `metric_filter`, the API's `filter`).
public struct MetricSeriesFilter: Sendable, Hashable {
    /// An attribute key, or `host`.
    public var key: String
    /// The value it must have.
    public var value: String

    /// Creates a filter.
    ///
    /// - Parameters:
    ///   - key: An attribute key, or `host`.
    ///   - value: The value.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// Parses `key=value` (the value may contain `=`); `nil` when there is no `=` or no key.
    ///
    /// - Parameter text: The filter as written.
    public init?(parsing text: String) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, text.utf8.count <= 512 else { return nil }
        self.init(key: String(parts[0]), value: String(parts[1]))
    }

    /// What is written for it.
    public var text: String { "\(key)=\(value)" }

    /// Whether a series is one of those it names.
    ///
    /// - Parameter series: The series.
    /// - Returns: Whether it matches.
    public func matches(_ series: MetricSeriesRecord) -> Bool {
        key == "host" ? series.host == value : series.attributes[key] == value
    }
}
