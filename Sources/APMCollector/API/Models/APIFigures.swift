public import APMCore
public import APMStorage

/// Apdex counts, score and the T they were measured against.
public struct APIApdex: Codable, Sendable, Hashable {
    /// Satisfied transactions.
    public var satisfied: UInt64
    /// Tolerating transactions.
    public var tolerating: UInt64
    /// Frustrated transactions.
    public var frustrated: UInt64
    /// `(S + T/2) / total`, `nil` without transactions.
    public var score: Double?
    /// The app's T in seconds.
    public var t: Double
    /// `true` when every transaction counted was classified at `t` when it was recorded. `false` when some were
    /// classified at another T (an agent that had not heard the collector's T yet, data from before a change of
    /// T) and were classified again at `t` from their latency histograms: the counts are then the best estimate,
    /// and the score lies between ``scoreMin`` and ``scoreMax``.
    public var exact: Bool
    /// The lowest score the data allows (the score itself when exact).
    public var scoreMin: Double?
    /// The highest score the data allows (the score itself when exact).
    public var scoreMax: Double?
    /// Transactions classified again from histograms.
    public var reclassified: UInt64

    /// Creates a value from counts classified at `t`.
    ///
    /// - Parameters:
    ///   - counts: The counts.
    ///   - t: The T.
    public init(_ counts: ApdexCounts, t: Double) {
        self.satisfied = counts.satisfied
        self.tolerating = counts.tolerating
        self.frustrated = counts.frustrated
        self.score = counts.score
        self.t = t
        self.exact = true
        self.scoreMin = counts.score
        self.scoreMax = counts.score
        self.reclassified = 0
    }

    enum CodingKeys: String, CodingKey {
        case satisfied, tolerating, frustrated, score, t, exact
        case scoreMin = "score_min"
        case scoreMax = "score_max"
        case reclassified
    }
}

/// Average time per request by category, in seconds.
public struct APIBreakdown: Codable, Sendable, Hashable {
    /// Database time per request.
    public var database: Double
    /// External time per request.
    public var external: Double
    /// Application time per request.
    public var application: Double

    /// Creates a breakdown.
    ///
    /// - Parameters:
    ///   - database: Seconds.
    ///   - external: Seconds.
    ///   - application: Seconds.
    public init(database: Double, external: Double, application: Double) {
        self.database = database
        self.external = external
        self.application = application
    }
}

/// The requests of one complete minute.
public struct APILatestMinute: Codable, Sendable, Hashable {
    /// The minute's start (Unix seconds).
    public var start: Int64
    /// Requests in that minute, which is its rate per minute.
    public var count: UInt64

    /// Creates a value.
    ///
    /// - Parameters:
    ///   - start: The minute's start.
    ///   - count: Its requests.
    public init(start: Int64, count: UInt64) {
        self.start = start
        self.count = count
    }
}

/// Figures for a range or a bucket.
public struct APIFigures: Codable, Sendable, Hashable {
    /// Start (Unix seconds).
    public var start: Int64
    /// Length in seconds.
    public var seconds: Int64
    /// Transactions.
    public var count: UInt64
    /// Requests per minute.
    public var rpm: Double
    /// Average duration (seconds), `nil` without transactions.
    public var average: Double?
    /// Median (seconds, within 1 %).
    public var p50: Double?
    /// 95th percentile.
    public var p95: Double?
    /// 99th percentile.
    public var p99: Double?
    /// Shortest duration.
    public var min: Double?
    /// Longest duration.
    public var max: Double?
    /// Failed transactions.
    public var errors: UInt64
    /// errors / count, `nil` without transactions.
    public var errorRate: Double?
    /// Apdex.
    public var apdex: APIApdex
    /// Time per request by category.
    public var breakdown: APIBreakdown
    /// The rate of the range's last complete minute, the figure a throughput chart ends on (``rpm`` averages the
    /// whole range, minutes before the app existed included). Only in a range's figures, never in a series'
    /// points; `nil` when no minute of the range is complete yet.
    public var latestMinute: APILatestMinute?

    enum CodingKeys: String, CodingKey {
        case start, seconds, count, rpm, average, p50, p95, p99, min, max, errors
        case errorRate = "error_rate"
        case apdex, breakdown
        case latestMinute = "latest_minute"
    }

    /// Computes the figures of slices merged together.
    ///
    /// - Parameters:
    ///   - slices: The slices.
    ///   - start: The range's start.
    ///   - seconds: The range's length.
    ///   - t: The app's T, reported with the Apdex.
    public init(merging slices: [TransactionSlice], start: Int64, seconds: Int64, t: Double) {
        var count: UInt64 = 0
        var errors: UInt64 = 0
        var apdex = ApdexCounts()
        var total = 0.0
        var database = 0.0
        var external = 0.0
        var minimum = Double.infinity
        var maximum = 0.0
        var histogram = LatencyHistogram()
        for slice in slices where slice.count > 0 {
            count += slice.count
            errors += slice.errors
            apdex.add(slice.apdex)
            total += slice.total
            database += slice.breakdown.database
            external += slice.breakdown.external
            minimum = Swift.min(minimum, slice.min)
            maximum = Swift.max(maximum, slice.max)
            histogram.merge(slice.histogram)
        }
        self.start = start
        self.seconds = seconds
        self.count = count
        self.rpm = seconds > 0 ? Double(count) / (Double(seconds) / 60) : 0
        self.average = count > 0 ? total / Double(count) : nil
        // Percentiles are clamped into [min, max], which are exact.
        func quantile(_ q: Double) -> Double? {
            histogram.value(atQuantile: q).map { Swift.min(Swift.max($0, minimum), maximum) }
        }
        self.p50 = quantile(0.5)
        self.p95 = quantile(0.95)
        self.p99 = quantile(0.99)
        self.min = count > 0 ? minimum : nil
        self.max = count > 0 ? maximum : nil
        self.errors = errors
        self.errorRate = count > 0 ? Double(errors) / Double(count) : nil
        self.apdex = APIApdex(apdex, t: t)
        let perRequest = count > 0 ? 1 / Double(count) : 0
        self.breakdown = APIBreakdown(
            database: database * perRequest,
            external: external * perRequest,
            application: Swift.max(0, total - database - external) * perRequest
        )
    }
}
