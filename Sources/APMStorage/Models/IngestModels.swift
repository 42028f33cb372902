public import APMCore

/// One batch to commit, with who sent it.
public struct IngestItem: Sendable {
    /// The authenticated account.
    public var accountID: Int64
    /// The validated batch.
    public var batch: AgentBatch
    /// When the collector received it (Unix seconds).
    public var receivedAt: Double

    /// Creates an item.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - batch: The batch.
    ///   - receivedAt: Receipt time.
    public init(accountID: Int64, batch: AgentBatch, receivedAt: Double) {
        self.accountID = accountID
        self.batch = batch
        self.receivedAt = receivedAt
    }
}

/// The result of committing one batch.
public struct IngestOutcome: Sendable, Hashable {
    /// The app the batch belongs to.
    public var appID: Int64
    /// Whether the batch had been committed before (and was not counted again).
    public var duplicate: Bool
    /// The app's T, for the reply.
    public var apdexT: Double
    /// The app's per-transaction Ts, for the reply.
    public var transactionApdexT: [String: Double]
    /// Why the batch was refused (nothing of it was stored), `nil` when it was committed.
    public var rejection: String?
    /// Metric readings of the batch that were not stored (a new series past the app's cap, a reading that does
    /// not match its series, an out-of-order cumulative reading).
    public var metricPointsRefused: UInt64 = 0
    /// Why, one sentence per reason.
    public var metricRefusalReasons: [String] = []

    /// Creates an outcome.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - duplicate: Whether it was a duplicate.
    ///   - apdexT: The app's T.
    ///   - transactionApdexT: Per-transaction Ts.
    ///   - rejection: Why the batch was refused, `nil` when committed.
    public init(
        appID: Int64,
        duplicate: Bool,
        apdexT: Double,
        transactionApdexT: [String: Double],
        rejection: String? = nil
    ) {
        self.appID = appID
        self.duplicate = duplicate
        self.apdexT = apdexT
        self.transactionApdexT = transactionApdexT
        self.rejection = rejection
    }
}

/// Caps on distinct names per app and apps per account (the cardinality guard).
public struct CardinalityLimits: Sendable, Hashable {
    /// Distinct transaction names per app.
    public var maxTransactionNames: Int
    /// Distinct segment names per app.
    public var maxSegmentNames: Int
    /// Apps per account: a batch that would create one more is refused (``IngestOutcome/rejection``).
    public var maxApps: Int
    /// Log records stored per app and day (UTC, by receipt); the rest are counted, not stored.
    public var maxLogRecordsPerDay: Int
    /// Metric series per app (`max_metric_series`): readings of new series past it are counted, not stored.
    public var maxMetricSeries: Int

    /// Creates limits.
    ///
    /// - Parameters:
    ///   - maxTransactionNames: Transaction name cap.
    ///   - maxSegmentNames: Segment name cap.
    ///   - maxApps: Apps per account.
    ///   - maxLogRecordsPerDay: Log records stored per app and day.
    ///   - maxMetricSeries: Metric series per app.
    public init(
        maxTransactionNames: Int = 2_000,
        maxSegmentNames: Int = 5_000,
        maxApps: Int = 1_000,
        maxLogRecordsPerDay: Int = 5_000_000,
        maxMetricSeries: Int = 2_000
    ) {
        self.maxTransactionNames = maxTransactionNames
        self.maxSegmentNames = maxSegmentNames
        self.maxApps = maxApps
        self.maxLogRecordsPerDay = maxLogRecordsPerDay
        self.maxMetricSeries = maxMetricSeries
    }
}
