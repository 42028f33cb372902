package import APMCore

/// What one commit writes, computed by ``WritePlanner`` from validated batches and applied by a store in one
/// durable transaction. Rows are accumulated per table key, so that many batches touching the same minute and
/// name cost one upsert per row.
package struct WritePlan: Sendable {
    /// The outcome of each item, in order.
    package var outcomes: [IngestOutcome] = []
    /// Batch ids to record (account, batch id), so that a retried batch is never counted twice.
    package var batches: [BatchRecord] = []
    /// Names admitted under the caps for the first time.
    package var admittedNames: [AdmittedName] = []
    /// Names that did not fit under a cap (an example per name, the store keeps at most 20 per app).
    package var overflowExamples: [AdmittedName] = []
    /// Per app: transactions and segments renamed `(overflow)`.
    package var overflowCounts: [Int64: OverflowCount] = [:]
    /// Per app: the latest receipt time of its batches.
    package var lastSeen: [Int64: Double] = [:]
    /// Transaction rows per resolution.
    package var transactions: [SliceResolution: [TransactionKey: TransactionMetric]] = [:]
    /// App-level rows (all transactions of a kind) per resolution.
    package var apps: [SliceResolution: [AppKey: TransactionMetric]] = [:]
    /// Segment rows per resolution.
    package var segments: [SliceResolution: [SegmentKey: SegmentMetric]] = [:]
    /// What agents dropped, per app and minute of receipt.
    package var drops: [AppKey: DropCounters] = [:]
    /// Sampled traces to insert.
    package var traces: [TraceRow] = []
    /// Error occurrences grouped by fingerprint.
    package var errorGroups: [ErrorGroupKey: ErrorGroupDelta] = [:]
    /// Log records to insert (cut, scrubbed, under the daily cap).
    package var logs: [LogRow] = []
    /// Stored log records per app, minute and level (the histogram's and the alerts' counts).
    package var logCounts: [LogCountKey: UInt64] = [:]
    /// Per app and day of receipt: log records stored, refused by the cap, cut, dropped by agents.
    package var logVolume: [LogVolumeKey: LogVolumeDelta] = [:]
    /// Metric series created or updated (last seen, a cumulative series' last reading).
    package var metricSeries: [MetricSeriesKey: MetricSeriesWrite] = [:]
    /// Metric rows per resolution.
    package var metricRows: [SliceResolution: [MetricRowKey: MetricAggregate]] = [:]
    /// Filled by the backend as it writes: the series as stored after the commit (ids of new ones included), for a
    /// backend that caches them.
    package var writtenMetricSeries: [MetricSeriesKey: StoredMetricSeries] = [:]

    package init() {}

    package struct BatchRecord: Sendable, Hashable {
        package var accountID: Int64
        package var batchID: String
        package var appID: Int64
        package var receivedAt: Double
    }

    package struct AdmittedName: Sendable, Hashable {
        package var appID: Int64
        package var kind: NameKind
        package var name: String
        package var at: Double

        package init(appID: Int64, kind: NameKind, name: String, at: Double) {
            self.appID = appID
            self.kind = kind
            self.name = name
            self.at = at
        }
    }

    package struct OverflowCount: Sendable, Hashable {
        package var transactions: UInt64 = 0
        package var segments: UInt64 = 0
    }

    package struct TransactionKey: Sendable, Hashable {
        package var appID: Int64
        package var bucket: Int64
        package var name: String
        package var apdexT: Double

        package init(appID: Int64, bucket: Int64, name: String, apdexT: Double) {
            self.appID = appID
            self.bucket = bucket
            self.name = name
            self.apdexT = apdexT
        }
    }

    package struct AppKey: Sendable, Hashable {
        package var appID: Int64
        package var bucket: Int64
        package var kind: TransactionKind

        package init(appID: Int64, bucket: Int64, kind: TransactionKind) {
            self.appID = appID
            self.bucket = bucket
            self.kind = kind
        }
    }

    package struct SegmentKey: Sendable, Hashable {
        package var appID: Int64
        package var bucket: Int64
        package var transaction: String
        package var name: String

        package init(appID: Int64, bucket: Int64, transaction: String, name: String) {
            self.appID = appID
            self.bucket = bucket
            self.transaction = transaction
            self.name = name
        }
    }

    package struct TraceRow: Sendable, Hashable {
        package var appID: Int64
        package var traceID: String
        package var transaction: String
        package var start: Double
        package var duration: Double
        package var isError: Bool
        /// The trace as JSON (the wire format's encoding).
        package var payload: String
    }

    package struct ErrorGroupKey: Sendable, Hashable {
        package var appID: Int64
        package var fingerprint: String

        package init(appID: Int64, fingerprint: String) {
            self.appID = appID
            self.fingerprint = fingerprint
        }
    }

    /// Occurrences of one error group in this commit.
    package struct ErrorGroupDelta: Sendable, Hashable {
        package var type: String
        package var message: String
        package var topFrame: String
        package var count: UInt64
        package var firstSeen: Double
        package var lastSeen: Double
        /// The transaction and sample of the latest occurrence (the last one, of equal times).
        package var transaction: String
        package var sample: String
        /// Occurrences per minute.
        package var minutes: [Int64: UInt64]
        /// Occurrences per transaction, host and user.
        package var facets: [ErrorFacetKey: ErrorFacetDelta] = [:]
        /// The latest occurrences whole (at most ``IngestRules/samplesPerIssue``).
        package var samples: [ErrorSampleRow] = []
    }

    package struct ErrorFacetKey: Sendable, Hashable {
        package var kind: ErrorFacetKind
        package var value: String

        package init(kind: ErrorFacetKind, value: String) {
            self.kind = kind
            self.value = value
        }
    }

    package struct ErrorFacetDelta: Sendable, Hashable {
        package var count: UInt64
        package var lastSeen: Double

        package init(count: UInt64, lastSeen: Double) {
            self.count = count
            self.lastSeen = lastSeen
        }
    }

    package struct ErrorSampleRow: Sendable, Hashable {
        package var at: Double
        package var host: String
        package var payload: String
    }

    /// Adds a transaction metric to its minute and hour rows, and to the app's.
    package mutating func add(_ metric: TransactionMetric, appID: Int64, minute: Int64) {
        for resolution in [SliceResolution.minute, .hour] {
            let bucket = minute - minute % resolution.seconds
            let key = TransactionKey(appID: appID, bucket: bucket, name: metric.name, apdexT: metric.apdexT)
            transactions[resolution, default: [:]][key] = Self.merged(transactions[resolution]?[key], metric)
            let appKey = AppKey(appID: appID, bucket: bucket, kind: metric.kind)
            apps[resolution, default: [:]][appKey] = Self.merged(apps[resolution]?[appKey], metric)
        }
    }

    /// Adds a segment metric to its minute and hour rows.
    package mutating func add(_ metric: SegmentMetric, appID: Int64, minute: Int64) {
        for resolution in [SliceResolution.minute, .hour] {
            let bucket = minute - minute % resolution.seconds
            let key = SegmentKey(appID: appID, bucket: bucket, transaction: metric.transaction, name: metric.name)
            segments[resolution, default: [:]][key] = Self.merged(segments[resolution]?[key], metric)
        }
    }

    /// Two transaction rows of one key as one: sums, extremes, and histograms merged exactly.
    package static func merged(_ existing: TransactionMetric?, _ metric: TransactionMetric) -> TransactionMetric {
        guard var merged = existing else { return metric }
        merged.count = merged.count.addingSaturated(metric.count)
        merged.errorCount = merged.errorCount.addingSaturated(metric.errorCount)
        merged.satisfied = merged.satisfied.addingSaturated(metric.satisfied)
        merged.tolerating = merged.tolerating.addingSaturated(metric.tolerating)
        merged.frustrated = merged.frustrated.addingSaturated(metric.frustrated)
        merged.totalDuration += metric.totalDuration
        merged.minDuration = min(merged.minDuration, metric.minDuration)
        merged.maxDuration = max(merged.maxDuration, metric.maxDuration)
        merged.sumOfSquares += metric.sumOfSquares
        merged.breakdown.add(metric.breakdown)
        merged.histogram.merge(metric.histogram)
        merged.errorHistogram.merge(metric.errorHistogram)
        return merged
    }

    /// Two segment rows of one key as one; the slowest statement is the one of the longest duration.
    package static func merged(_ existing: SegmentMetric?, _ metric: SegmentMetric) -> SegmentMetric {
        guard var merged = existing else { return metric }
        merged.count = merged.count.addingSaturated(metric.count)
        merged.errorCount = merged.errorCount.addingSaturated(metric.errorCount)
        merged.totalDuration += metric.totalDuration
        merged.exclusiveDuration += metric.exclusiveDuration
        merged.minDuration = min(merged.minDuration, metric.minDuration)
        merged.maxDuration = max(merged.maxDuration, metric.maxDuration)
        merged.histogram.merge(metric.histogram)
        if let statement = metric.slowestStatement,
            (metric.slowestStatementDuration ?? 0) > (merged.slowestStatementDuration ?? -1)
        {
            merged.slowestStatement = statement
            merged.slowestStatementDuration = metric.slowestStatementDuration
        }
        return merged
    }
}

/// Whether a name under the cap is a transaction's or a segment's (stored as 0 and 1).
package enum NameKind: Int, Sendable, Hashable {
    case transaction = 0
    case segment = 1
}

/// The names an app has under its caps: those a commit may meet (a backend may list only those), and how many
/// there are of each kind.
package struct KnownNames: Sendable, Hashable {
    package var transactions: Set<String> = []
    package var segments: Set<String> = []
    /// Names stored but not listed (a backend that reads only the names a commit names).
    package var unlistedTransactions = 0
    package var unlistedSegments = 0

    package init(
        transactions: Set<String> = [],
        segments: Set<String> = [],
        unlistedTransactions: Int = 0,
        unlistedSegments: Int = 0
    ) {
        self.transactions = transactions
        self.segments = segments
        self.unlistedTransactions = unlistedTransactions
        self.unlistedSegments = unlistedSegments
    }

    package func contains(_ name: String, kind: NameKind) -> Bool {
        kind == .segment ? segments.contains(name) : transactions.contains(name)
    }

    /// How many names of a kind the app has.
    package func count(of kind: NameKind) -> Int {
        kind == .segment ? segments.count + unlistedSegments : transactions.count + unlistedTransactions
    }

    package mutating func insert(_ name: String, kind: NameKind) {
        switch kind {
        case .transaction: transactions.insert(name)
        case .segment: segments.insert(name)
        }
    }
}

extension UInt64 {
    /// The sum, or `UInt64.max` past it: counters saturate instead of trapping.
    package func addingSaturated(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
