public import APMCore

/// Time resolution of stored slices.
public enum SliceResolution: String, Sendable, Hashable, Codable {
    /// One row per minute.
    case minute
    /// One row per hour.
    case hour

    /// The slice length in seconds.
    public var seconds: Int64 { self == .minute ? 60 : 3600 }
}

/// Aggregated transaction figures for a time bucket (and a name, for per-transaction queries).
public struct TransactionSlice: Sendable, Hashable {
    /// The bucket's first second (Unix seconds); for totals over a range, the range's start.
    public var bucket: Int64
    /// The transaction name; empty for app-level slices.
    public var name: String
    /// Web or background.
    public var kind: TransactionKind
    /// Transactions.
    public var count: UInt64
    /// Failed transactions.
    public var errors: UInt64
    /// Exact Apdex counts as classified at ingest.
    public var apdex: ApdexCounts
    /// Sum of durations (seconds).
    public var total: Double
    /// Shortest duration.
    public var min: Double
    /// Longest duration.
    public var max: Double
    /// Time by category (seconds).
    public var breakdown: TimeBreakdown
    /// Merged latency histogram.
    public var histogram: LatencyHistogram

    /// Creates a slice.
    ///
    /// - Parameters:
    ///   - bucket: Bucket start.
    ///   - name: Transaction name.
    ///   - kind: Kind.
    ///   - count: Count.
    ///   - errors: Errors.
    ///   - apdex: Apdex counts.
    ///   - total: Total seconds.
    ///   - min: Minimum.
    ///   - max: Maximum.
    ///   - breakdown: Breakdown.
    ///   - histogram: Histogram.
    public init(
        bucket: Int64,
        name: String,
        kind: TransactionKind,
        count: UInt64,
        errors: UInt64,
        apdex: ApdexCounts,
        total: Double,
        min: Double,
        max: Double,
        breakdown: TimeBreakdown,
        histogram: LatencyHistogram
    ) {
        self.bucket = bucket
        self.name = name
        self.kind = kind
        self.count = count
        self.errors = errors
        self.apdex = apdex
        self.total = total
        self.min = min
        self.max = max
        self.breakdown = breakdown
        self.histogram = histogram
    }
}

/// A stored row whose Apdex counts were classified at another T than the one now in force for its transaction
/// (an agent that had not heard from the collector yet, or data from before a change of T).
public struct ApdexRowAtOtherT: Sendable, Hashable {
    /// The row's bucket.
    public var bucket: Int64
    /// The transaction.
    public var name: String
    /// The counts, the T they were classified at, and the histograms to classify them again.
    public var source: ApdexSourceRow

    /// Creates a row.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - name: The transaction.
    ///   - source: Counts and histograms.
    public init(bucket: Int64, name: String, source: ApdexSourceRow) {
        self.bucket = bucket
        self.name = name
        self.source = source
    }
}

/// One stored row of a transaction, with the T its Apdex counts were classified at and its error histogram;
/// what the what-if Apdex needs.
public struct ApdexSourceRow: Sendable, Hashable {
    /// The T (seconds) the exact counts were classified with.
    public var apdexT: Double
    /// Exact counts at that T.
    public var apdex: ApdexCounts
    /// Transactions.
    public var count: UInt64
    /// Failed transactions.
    public var errors: UInt64
    /// All durations.
    public var histogram: LatencyHistogram
    /// Failed transactions' durations.
    public var errorHistogram: LatencyHistogram

    /// Creates a row.
    ///
    /// - Parameters:
    ///   - apdexT: The T.
    ///   - apdex: The counts.
    ///   - count: Count.
    ///   - errors: Errors.
    ///   - histogram: Histogram.
    ///   - errorHistogram: Error histogram.
    public init(
        apdexT: Double,
        apdex: ApdexCounts,
        count: UInt64,
        errors: UInt64,
        histogram: LatencyHistogram,
        errorHistogram: LatencyHistogram
    ) {
        self.apdexT = apdexT
        self.apdex = apdex
        self.count = count
        self.errors = errors
        self.histogram = histogram
        self.errorHistogram = errorHistogram
    }
}

/// Aggregated segment figures over a range.
public struct SegmentSlice: Sendable, Hashable {
    /// The bucket start, or the range start for totals.
    public var bucket: Int64
    /// The enclosing transaction, empty when summed over transactions.
    public var transaction: String
    /// The segment name.
    public var name: String
    /// The category.
    public var category: SegmentCategory
    /// Datastore system or HTTP method.
    public var system: String
    /// Operation or host.
    public var operation: String
    /// Table.
    public var target: String
    /// Calls.
    public var count: UInt64
    /// Failed calls.
    public var errors: UInt64
    /// Total seconds.
    public var total: Double
    /// Exclusive seconds.
    public var exclusive: Double
    /// Shortest call.
    public var min: Double
    /// Longest call.
    public var max: Double
    /// The statement of the slowest call that had one (from the agents' metrics), empty when none did.
    public var slowestStatement: String = ""
    /// That call's duration (seconds), 0 when none.
    public var slowestStatementDuration: Double = 0
    /// The calls' latency histogram (segment totals only; empty elsewhere). It holds fewer than ``count`` calls
    /// when some came from agents before segment histograms: percentiles are then unknown.
    public var histogram = LatencyHistogram()

    /// The duration at a quantile of the calls (within 1 %, and never outside the shortest and longest call),
    /// `nil` when the histogram does not hold every call.
    ///
    /// - Parameter quantile: 0...1.
    /// - Returns: Seconds, or `nil`.
    public func callDuration(atQuantile quantile: Double) -> Double? {
        guard count > 0, histogram.totalCount == count else { return nil }
        return histogram.value(atQuantile: quantile).map { Swift.min(Swift.max($0, min), max) }
    }

    /// Creates a slice.
    ///
    /// - Parameters:
    ///   - bucket: Bucket start.
    ///   - transaction: Transaction name.
    ///   - name: Segment name.
    ///   - category: Category.
    ///   - system: System.
    ///   - operation: Operation.
    ///   - target: Target.
    ///   - count: Calls.
    ///   - errors: Failures.
    ///   - total: Total seconds.
    ///   - exclusive: Exclusive seconds.
    ///   - min: Minimum.
    ///   - max: Maximum.
    public init(
        bucket: Int64,
        transaction: String,
        name: String,
        category: SegmentCategory,
        system: String,
        operation: String,
        target: String,
        count: UInt64,
        errors: UInt64,
        total: Double,
        exclusive: Double,
        min: Double,
        max: Double
    ) {
        self.bucket = bucket
        self.transaction = transaction
        self.name = name
        self.category = category
        self.system = system
        self.operation = operation
        self.target = target
        self.count = count
        self.errors = errors
        self.total = total
        self.exclusive = exclusive
        self.min = min
        self.max = max
    }
}

/// A stored trace summary; the full trace is in ``TransactionTrace``.
public struct StoredTrace: Sendable, Hashable {
    /// The row id.
    public var id: Int64
    /// The trace.
    public var trace: TransactionTrace

    /// Creates a stored trace.
    ///
    /// - Parameters:
    ///   - id: Row id.
    ///   - trace: The trace.
    public init(id: Int64, trace: TransactionTrace) {
        self.id = id
        self.trace = trace
    }
}
