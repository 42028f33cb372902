public import APMCore

/// An account: owns license keys and apps.
public struct Account: Sendable, Hashable {
    /// The account's id.
    public var id: Int64
    /// The account's name.
    public var name: String
    /// Creation time (Unix seconds).
    public var createdAt: Double

    /// Creates an account value.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - name: The name.
    ///   - createdAt: Creation time.
    public init(id: Int64, name: String, createdAt: Double) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// A license key as stored: only its SHA-256 hash and a short prefix for display, never the key.
public struct LicenseKeyRecord: Sendable, Hashable {
    /// The key's id.
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// A label (`default`, `ci`, ...).
    public var name: String
    /// The first characters of the key, to tell keys apart.
    public var prefix: String
    /// Creation time (Unix seconds).
    public var createdAt: Double
    /// Revocation time, `nil` while the key is active.
    public var revokedAt: Double?

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - name: The label.
    ///   - prefix: The display prefix.
    ///   - createdAt: Creation time.
    ///   - revokedAt: Revocation time.
    public init(id: Int64, accountID: Int64, name: String, prefix: String, createdAt: Double, revokedAt: Double?) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.prefix = prefix
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// An application: appears on its first report.
public struct StoredApp: Sendable, Hashable {
    /// The app's id.
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// The app's name (`app_name` of its agents).
    public var name: String
    /// The app's Apdex T in seconds.
    public var apdexT: Double
    /// Per-transaction Apdex Ts in seconds.
    public var transactionApdexT: [String: Double]
    /// First report (Unix seconds).
    public var createdAt: Double
    /// Last report (Unix seconds).
    public var lastSeenAt: Double
    /// The agent's language.
    public var language: String
    /// The agent's version.
    public var agentVersion: String

    /// Creates an app value.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - name: The name.
    ///   - apdexT: The T.
    ///   - transactionApdexT: Per-transaction Ts.
    ///   - createdAt: First report.
    ///   - lastSeenAt: Last report.
    ///   - language: The agent's language.
    ///   - agentVersion: The agent's version.
    public init(
        id: Int64,
        accountID: Int64,
        name: String,
        apdexT: Double,
        transactionApdexT: [String: Double],
        createdAt: Double,
        lastSeenAt: Double,
        language: String,
        agentVersion: String
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.apdexT = apdexT
        self.transactionApdexT = transactionApdexT
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.language = language
        self.agentVersion = agentVersion
    }
}

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

    /// Creates limits.
    ///
    /// - Parameters:
    ///   - maxTransactionNames: Transaction name cap.
    ///   - maxSegmentNames: Segment name cap.
    ///   - maxApps: Apps per account.
    ///   - maxLogRecordsPerDay: Log records stored per app and day.
    public init(
        maxTransactionNames: Int = 2_000,
        maxSegmentNames: Int = 5_000,
        maxApps: Int = 1_000,
        maxLogRecordsPerDay: Int = 5_000_000
    ) {
        self.maxTransactionNames = maxTransactionNames
        self.maxSegmentNames = maxSegmentNames
        self.maxApps = maxApps
        self.maxLogRecordsPerDay = maxLogRecordsPerDay
    }
}

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

/// Errors grouped by fingerprint (type, normalised message, top frame).
public struct ErrorGroup: Sendable, Hashable {
    /// The group's id.
    public var id: Int64
    /// The fingerprint.
    public var fingerprint: String
    /// The error type.
    public var type: String
    /// The normalised message.
    public var message: String
    /// The top stack frame.
    public var topFrame: String
    /// The transaction of the latest sample.
    public var transaction: String
    /// Samples received in the queried range (all time for ``firstSeen``/``lastSeen``).
    public var count: UInt64
    /// First occurrence (Unix seconds).
    public var firstSeen: Double
    /// Last occurrence (Unix seconds).
    public var lastSeen: Double
    /// The latest sample.
    public var sample: ErrorSample
    /// Its state as an issue: unresolved, resolved, ignored, regressed.
    public var status = ErrorGroupStatus()
    /// Distinct users it happened to (from `enduser.id`, `user.id` or `usr.id`), counted up to 1,000.
    public var usersAffected = 0

    /// Creates a group.
    ///
    /// - Parameters:
    ///   - id: Id.
    ///   - fingerprint: Fingerprint.
    ///   - type: Type.
    ///   - message: Normalised message.
    ///   - topFrame: Top frame.
    ///   - transaction: Transaction.
    ///   - count: Count.
    ///   - firstSeen: First seen.
    ///   - lastSeen: Last seen.
    ///   - sample: Latest sample.
    public init(
        id: Int64,
        fingerprint: String,
        type: String,
        message: String,
        topFrame: String,
        transaction: String,
        count: UInt64,
        firstSeen: Double,
        lastSeen: Double,
        sample: ErrorSample
    ) {
        self.id = id
        self.fingerprint = fingerprint
        self.type = type
        self.message = message
        self.topFrame = topFrame
        self.transaction = transaction
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.sample = sample
    }
}

/// The state of an error group as an issue.
public enum ErrorGroupState: String, Sendable, Hashable, Codable, CaseIterable {
    /// New, or seen again after being ignored past its limit.
    case unresolved
    /// Fixed: seen again after the change, it regresses.
    case resolved
    /// Fixed in the next deployment: seen again after a deployment recorded later than the change, it regresses
    /// (occurrences before that deployment are the old code's).
    case resolvedInNextDeployment = "resolved_next_deployment"
    /// Not to be shown as a problem: forever, or until more occurrences or a date (then unresolved again).
    case ignored
    /// Resolved, and seen again.
    case regressed
}

/// An error group's state, who changed it and when, and what ends an ignore.
public struct ErrorGroupStatus: Sendable, Hashable {
    /// The state.
    public var state: ErrorGroupState
    /// When it changed (Unix seconds), 0 for a group never changed.
    public var changedAt: Double
    /// Who changed it: a user's or token's name, or `apm` for a change made by the collector (a regression).
    public var changedBy: String
    /// Ignored: unresolved again once the group's total count exceeds this.
    public var ignoreUntilCount: UInt64?
    /// Ignored: unresolved again once it occurs after this time (Unix seconds).
    public var ignoreUntil: Double?
    /// When it last regressed.
    public var regressedAt: Double?

    /// Creates a status.
    ///
    /// - Parameters:
    ///   - state: The state.
    ///   - changedAt: When it changed.
    ///   - changedBy: Who changed it.
    ///   - ignoreUntilCount: The count past which an ignored group reopens.
    ///   - ignoreUntil: The time after which an ignored group reopens.
    ///   - regressedAt: When it last regressed.
    public init(
        state: ErrorGroupState = .unresolved,
        changedAt: Double = 0,
        changedBy: String = "",
        ignoreUntilCount: UInt64? = nil,
        ignoreUntil: Double? = nil,
        regressedAt: Double? = nil
    ) {
        self.state = state
        self.changedAt = changedAt
        self.changedBy = changedBy
        self.ignoreUntilCount = ignoreUntilCount
        self.ignoreUntil = ignoreUntil
        self.regressedAt = regressedAt
    }
}

/// How a list of error groups is sorted.
public enum ErrorGroupOrder: String, Sendable, Hashable, CaseIterable {
    /// Most occurrences in the range first.
    case count
    /// Most recently seen first.
    case lastSeen = "last_seen"
    /// Newest first.
    case firstSeen = "first_seen"
    /// Most users affected first.
    case users
}

extension ErrorGroupOrder {
    /// The ORDER BY of the error group queries (`g` the group, `range_count` its count in the range) on both
    /// backends: fixed text per case, so nothing from a request reaches the SQL.
    package var orderBy: String {
        switch self {
        case .count: "range_count DESC, g.last_seen DESC, g.id"
        case .lastSeen: "g.last_seen DESC, range_count DESC, g.id"
        case .firstSeen: "g.first_seen DESC, range_count DESC, g.id"
        case .users: "users_affected DESC, range_count DESC, g.id"
        }
    }
}

/// Which issues a list holds, besides having occurred in the range.
public struct ErrorGroupFilter: Sendable, Hashable {
    /// Only issues in these states; `nil` for all.
    public var states: Set<ErrorGroupState>?
    /// Only issues that occurred in this transaction (at any time the counts by transaction hold).
    public var transaction: String?
    /// Only issues first seen in this range (Unix seconds).
    public var firstSeen: Range<Double>?

    /// Creates a filter; the default lets every issue through.
    ///
    /// - Parameters:
    ///   - states: The states.
    ///   - transaction: The transaction.
    ///   - firstSeen: The range of the first occurrence.
    public init(states: Set<ErrorGroupState>? = nil, transaction: String? = nil, firstSeen: Range<Double>? = nil) {
        self.states = states
        self.transaction = transaction
        self.firstSeen = firstSeen
    }
}

/// What an issue's occurrences are counted by.
public enum ErrorFacetKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// The transaction it occurred in.
    case transaction
    /// The host of the agent or exporter that reported it.
    case host
    /// The user it happened to (`enduser.id`, `user.id`, `usr.id`).
    case user
}

/// Occurrences of an issue with one value of a facet.
public struct ErrorFacetCount: Sendable, Hashable {
    /// The value (`(other)` for the values past the facet's cap).
    public var value: String
    /// Occurrences.
    public var count: UInt64
    /// The latest (Unix seconds).
    public var lastSeen: Double

    /// Creates a count.
    ///
    /// - Parameters:
    ///   - value: The value.
    ///   - count: Occurrences.
    ///   - lastSeen: The latest.
    public init(value: String, count: UInt64, lastSeen: Double) {
        self.value = value
        self.count = count
        self.lastSeen = lastSeen
    }
}

/// One occurrence of an issue as stored whole: the latest few per issue are kept.
public struct StoredErrorSample: Sendable, Hashable {
    /// The row id.
    public var id: Int64
    /// When it occurred (Unix seconds).
    public var at: Double
    /// The host that reported it.
    public var host: String
    /// The occurrence.
    public var sample: ErrorSample

    /// Creates a sample.
    ///
    /// - Parameters:
    ///   - id: The row id.
    ///   - at: When.
    ///   - host: The host.
    ///   - sample: The occurrence.
    public init(id: Int64, at: Double, host: String, sample: ErrorSample) {
        self.id = id
        self.at = at
        self.host = host
        self.sample = sample
    }
}

/// A change of an error group's state asked for by a user.
public enum ErrorGroupStateChange: Sendable, Hashable {
    /// Resolved now.
    case resolve
    /// Resolved in the next deployment.
    case resolveInNextDeployment
    /// Ignored: forever (both `nil`), or until `moreOccurrences` more, or until a time, whichever comes first.
    case ignore(moreOccurrences: UInt64?, until: Double?)
    /// Unresolved again.
    case reopen

    /// An ignore's limits as stored (more occurrences, clamped to a stored integer; the time); `nil` otherwise.
    package var ignoreLimits: (moreOccurrences: Int64?, until: Double?) {
        guard case .ignore(let more, let until) = self else { return (nil, nil) }
        return (more.map { Int64(clamping: $0) }, until)
    }

    /// The state it sets.
    public var state: ErrorGroupState {
        switch self {
        case .resolve: .resolved
        case .resolveInNextDeployment: .resolvedInNextDeployment
        case .ignore: .ignored
        case .reopen: .unresolved
        }
    }
}

/// A deployment marker.
public struct Deployment: Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// The app.
    public var appID: Int64
    /// When (Unix seconds).
    public var at: Double
    /// The revision deployed.
    public var revision: String
    /// A description.
    public var description: String
    /// Who recorded it.
    public var user: String

    /// Creates a deployment.
    ///
    /// - Parameters:
    ///   - id: Id.
    ///   - appID: App.
    ///   - at: Time.
    ///   - revision: Revision.
    ///   - description: Description.
    ///   - user: User.
    public init(id: Int64, appID: Int64, at: Double, revision: String, description: String, user: String) {
        self.id = id
        self.appID = appID
        self.at = at
        self.revision = revision
        self.description = description
        self.user = user
    }
}

/// Names that went to the overflow bucket.
public struct NameOverflow: Sendable, Hashable {
    /// Transactions or segments recorded under `(overflow)`.
    public var transactionCount: UInt64
    /// Segments recorded under `(overflow)`.
    public var segmentCount: UInt64
    /// Up to 20 example names that overflowed.
    public var examples: [String]

    /// Creates a value.
    ///
    /// - Parameters:
    ///   - transactionCount: Overflowed transactions.
    ///   - segmentCount: Overflowed segments.
    ///   - examples: Examples.
    public init(transactionCount: UInt64, segmentCount: UInt64, examples: [String]) {
        self.transactionCount = transactionCount
        self.segmentCount = segmentCount
        self.examples = examples
    }
}

/// What the retention job did.
public struct RetentionReport: Sendable, Hashable {
    /// Minute rows deleted (they are already in the hour tables).
    public var minuteRowsDeleted: Int
    /// Hour rows deleted.
    public var hourRowsDeleted: Int
    /// Traces, error groups, deployments and batch ids deleted.
    public var otherRowsDeleted: Int
    /// Log lines deleted (``LogStore/applyLogRetention(cutoff:)``).
    public var logRecordsDeleted = 0

    /// Creates a report.
    ///
    /// - Parameters:
    ///   - minuteRowsDeleted: Minute rows.
    ///   - hourRowsDeleted: Hour rows.
    ///   - otherRowsDeleted: Other rows.
    public init(minuteRowsDeleted: Int, hourRowsDeleted: Int, otherRowsDeleted: Int) {
        self.minuteRowsDeleted = minuteRowsDeleted
        self.hourRowsDeleted = hourRowsDeleted
        self.otherRowsDeleted = otherRowsDeleted
    }
}

/// Figures about the store for `/metrics`.
public struct StoreStatistics: Sendable, Hashable {
    /// Rows per table.
    public var rows: [String: Int]
    /// Bytes on disk (database plus write-ahead log).
    public var fileSize: Int64

    /// Creates statistics.
    ///
    /// - Parameters:
    ///   - rows: Rows per table.
    ///   - fileSize: Bytes on disk.
    public init(rows: [String: Int], fileSize: Int64) {
        self.rows = rows
        self.fileSize = fileSize
    }
}

/// Process resources of an app in one bucket (all its processes summed for CPU, maxima otherwise).
public struct ProcessSlice: Sendable, Hashable {
    /// Bucket start (Unix seconds).
    public var bucket: Int64
    /// Average CPU in percent of one core, summed over processes.
    public var cpuPercent: Double
    /// Highest CPU sample.
    public var cpuPercentMax: Double
    /// Average resident memory in bytes, summed over processes.
    public var residentBytes: Double
    /// Highest resident memory of one process.
    public var residentBytesMax: UInt64
    /// Most threads of one process.
    public var threadsMax: Int
    /// Most open files of one process.
    public var openFilesMax: Int
    /// Processes seen.
    public var processes: Int

    /// Creates a slice.
    ///
    /// - Parameters:
    ///   - bucket: Bucket start.
    ///   - cpuPercent: Average CPU.
    ///   - cpuPercentMax: Highest CPU.
    ///   - residentBytes: Average RSS.
    ///   - residentBytesMax: Highest RSS.
    ///   - threadsMax: Most threads.
    ///   - openFilesMax: Most open files.
    ///   - processes: Processes seen.
    public init(
        bucket: Int64,
        cpuPercent: Double,
        cpuPercentMax: Double,
        residentBytes: Double,
        residentBytesMax: UInt64,
        threadsMax: Int,
        openFilesMax: Int,
        processes: Int
    ) {
        self.bucket = bucket
        self.cpuPercent = cpuPercent
        self.cpuPercentMax = cpuPercentMax
        self.residentBytes = residentBytes
        self.residentBytesMax = residentBytesMax
        self.threadsMax = threadsMax
        self.openFilesMax = openFilesMax
        self.processes = processes
    }
}

/// A stored process event.
public struct StoredProcessEvent: Sendable, Hashable {
    /// When (Unix seconds).
    public var at: Double
    /// The host.
    public var host: String
    /// The process id.
    public var pid: Int
    /// `start`, `exit` or `crash`.
    public var kind: String
    /// Exit status for `exit`.
    public var exitCode: Int?
    /// Signal for `crash`.
    public var signal: Int?
    /// Detail.
    public var detail: String

    /// Creates an event.
    ///
    /// - Parameters:
    ///   - at: When.
    ///   - host: Host.
    ///   - pid: Process id.
    ///   - kind: Kind.
    ///   - exitCode: Exit status.
    ///   - signal: Signal.
    ///   - detail: Detail.
    public init(at: Double, host: String, pid: Int, kind: String, exitCode: Int?, signal: Int?, detail: String) {
        self.at = at
        self.host = host
        self.pid = pid
        self.kind = kind
        self.exitCode = exitCode
        self.signal = signal
        self.detail = detail
    }
}

/// A dashboard user. The password is stored only as a salted scrypt hash.
public struct StoredUser: Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// The account.
    public var accountID: Int64
    /// The login name.
    public var name: String
    /// The password hash (`scrypt$N$r$p$salt$hash`).
    public var passwordHash: String
    /// Creation time (Unix seconds).
    public var createdAt: Double
    /// Last password change (Unix seconds).
    public var passwordChangedAt: Double
    /// What the user may do.
    public var role: UserRole

    /// Creates a user value.
    ///
    /// - Parameters:
    ///   - id: Id.
    ///   - accountID: Account.
    ///   - name: Name.
    ///   - passwordHash: Hash.
    ///   - createdAt: Creation time.
    ///   - passwordChangedAt: Last password change.
    public init(
        id: Int64,
        accountID: Int64,
        name: String,
        passwordHash: String,
        createdAt: Double,
        passwordChangedAt: Double,
        role: UserRole = .admin
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.passwordChangedAt = passwordChangedAt
        self.role = role
    }
}

/// What a dashboard user may do.
public enum UserRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// Reads every page of the account; changes nothing, and sees no credential (channel URLs are redacted).
    case viewer
    /// Reads and changes everything: apps' T, keys, tokens, users, alerts.
    case admin
}
