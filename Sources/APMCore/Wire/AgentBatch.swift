/// One delivery from an agent to the collector: the metrics of one or more harvests, sampled traces and
/// error samples. Documented field by field in `docs/protocol.md`.
///
/// A batch is immutable once sent: a retry sends the same ``batchID`` with the same content, so the collector
/// counts it once. Metrics are grouped into minute ``intervals`` so that data held back during an outage still
/// lands in the minutes it was recorded in.
public struct AgentBatch: Codable, Sendable, Hashable {
    /// The protocol version this build writes.
    public static let currentVersion = 1

    /// The protocol version of this batch.
    public var version: Int
    /// A unique id (UUID); the collector ignores a batch whose id it has already committed.
    public var batchID: String
    /// Who sent the batch.
    public var agent: AgentIdentity
    /// When the batch was sealed (Unix seconds).
    public var createdAt: Double
    /// The Apdex T (seconds) the agent classified with unless a transaction carries its own.
    public var apdexT: Double
    /// Aggregated metrics, one entry per minute.
    public var intervals: [MetricInterval]
    /// Sampled slow transaction traces.
    public var traces: [TransactionTrace]
    /// Sampled errors.
    public var errors: [ErrorSample]
    /// Application log lines (optional on the wire: a batch without them has none).
    public var logs: [LogRecord]
    /// What the agent had to drop before this batch, by reason.
    public var dropped: DropCounters

    /// Creates a batch.
    ///
    /// - Parameters:
    ///   - batchID: A unique id for idempotent delivery.
    ///   - agent: The sender.
    ///   - createdAt: Unix seconds when the batch was sealed.
    ///   - apdexT: The default Apdex T in seconds.
    ///   - intervals: Minute intervals with metrics.
    ///   - traces: Sampled traces.
    ///   - errors: Sampled errors.
    ///   - logs: Log lines.
    ///   - dropped: Drop counters.
    public init(
        batchID: String,
        agent: AgentIdentity,
        createdAt: Double,
        apdexT: Double,
        intervals: [MetricInterval] = [],
        traces: [TransactionTrace] = [],
        errors: [ErrorSample] = [],
        logs: [LogRecord] = [],
        dropped: DropCounters = DropCounters()
    ) {
        self.version = Self.currentVersion
        self.batchID = batchID
        self.agent = agent
        self.createdAt = createdAt
        self.apdexT = apdexT
        self.intervals = intervals
        self.traces = traces
        self.errors = errors
        self.logs = logs
        self.dropped = dropped
    }

    enum CodingKeys: String, CodingKey {
        case version
        case batchID = "batch_id"
        case agent
        case createdAt = "created_at"
        case apdexT = "apdex_t"
        case intervals, traces, errors, logs, dropped
    }

    /// Creates one.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        batchID = try container.decode(String.self, forKey: .batchID)
        agent = try container.decode(AgentIdentity.self, forKey: .agent)
        createdAt = try container.decode(Double.self, forKey: .createdAt)
        apdexT = try container.decode(Double.self, forKey: .apdexT)
        intervals = try container.decode([MetricInterval].self, forKey: .intervals)
        traces = try container.decode([TransactionTrace].self, forKey: .traces)
        errors = try container.decode([ErrorSample].self, forKey: .errors)
        logs = try container.decodeIfPresent([LogRecord].self, forKey: .logs) ?? []
        dropped = try container.decode(DropCounters.self, forKey: .dropped)
    }

    /// Encodes it as the wire format has it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(batchID, forKey: .batchID)
        try container.encode(agent, forKey: .agent)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(apdexT, forKey: .apdexT)
        try container.encode(intervals, forKey: .intervals)
        try container.encode(traces, forKey: .traces)
        try container.encode(errors, forKey: .errors)
        // Left out when empty: a batch without logs reads as before to a collector that predates them.
        if !logs.isEmpty { try container.encode(logs, forKey: .logs) }
        try container.encode(dropped, forKey: .dropped)
    }
}

/// The sender of a batch.
public struct AgentIdentity: Codable, Sendable, Hashable {
    /// The application's name as configured (`app_name`).
    public var appName: String
    /// The deployment environment (`environment`), empty when none.
    public var environment: String
    /// The host name.
    public var host: String
    /// The process id.
    public var pid: Int
    /// The agent's language (`swift` for APMAgent).
    public var language: String
    /// The agent's version.
    public var agentVersion: String
    /// Labels from the config (`labels`).
    public var labels: [String: String]

    /// Creates an identity.
    ///
    /// - Parameters:
    ///   - appName: The application's name.
    ///   - environment: The environment, or empty.
    ///   - host: The host name.
    ///   - pid: The process id.
    ///   - language: The agent's language.
    ///   - agentVersion: The agent's version.
    ///   - labels: Labels.
    public init(
        appName: String,
        environment: String = "",
        host: String,
        pid: Int,
        language: String = "swift",
        agentVersion: String,
        labels: [String: String] = [:]
    ) {
        self.appName = appName
        self.environment = environment
        self.host = host
        self.pid = pid
        self.language = language
        self.agentVersion = agentVersion
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey {
        case appName = "app_name"
        case environment, host, pid, language
        case agentVersion = "agent_version"
        case labels
    }

    /// The longest app name, environment and host accepted (UTF-8 bytes).
    public static let maxTextBytes = 255
    /// The longest language and agent version accepted (UTF-8 bytes).
    public static let maxShortTextBytes = 64

    /// This identity with every field cut to what a batch may carry (at a character boundary, NULs removed), and
    /// the wire names of the fields that were cut: for senders that do not choose their own (OTLP resources).
    public func withinLimits() -> (identity: AgentIdentity, cut: [String]) {
        var cut: [String] = []
        func limited(_ value: String, _ field: String, _ maxBytes: Int) -> String {
            let clean =
                value.utf8.contains(0)
                ? String(value.unicodeScalars.filter { $0.value != 0 }.map(Character.init)) : value
            let result = AgentBatch.cut(clean, maxBytes)
            if result != value { cut.append(field) }
            return result
        }
        var identity = self
        identity.appName = limited(appName, "app_name", Self.maxTextBytes)
        identity.environment = limited(environment, "environment", Self.maxTextBytes)
        identity.host = limited(host, "host", Self.maxTextBytes)
        identity.language = limited(language, "language", Self.maxShortTextBytes)
        identity.agentVersion = limited(agentVersion, "agent_version", Self.maxShortTextBytes)
        return (identity, cut)
    }
}

/// Metrics recorded during one minute.
public struct MetricInterval: Codable, Sendable, Hashable {
    /// The first second of the minute (Unix seconds, a multiple of 60).
    public var start: Int64
    /// Per transaction name.
    public var transactions: [TransactionMetric]
    /// Per (transaction, segment) name.
    public var segments: [SegmentMetric]

    /// Creates an interval.
    ///
    /// - Parameters:
    ///   - start: The minute's first second (Unix seconds).
    ///   - transactions: Transaction metrics.
    ///   - segments: Segment metrics.
    public init(start: Int64, transactions: [TransactionMetric] = [], segments: [SegmentMetric] = []) {
        self.start = start
        self.transactions = transactions
        self.segments = segments
    }
}

/// Whether a transaction served a request or ran in the background.
public enum TransactionKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// A web request.
    case web
    /// A background job, a scheduled task, a queue consumer.
    case background
}

/// The time a transaction spent by category, in seconds.
public struct TimeBreakdown: Codable, Sendable, Hashable {
    /// Time in datastore segments.
    public var database: Double
    /// Time in external calls.
    public var external: Double
    /// The rest: the transaction's own code (total − database − external).
    public var application: Double

    /// Creates a breakdown.
    ///
    /// - Parameters:
    ///   - database: Seconds in datastore segments.
    ///   - external: Seconds in external calls.
    ///   - application: Seconds in the app's own code.
    public init(database: Double = 0, external: Double = 0, application: Double = 0) {
        self.database = database
        self.external = external
        self.application = application
    }

    /// Adds another breakdown.
    ///
    /// - Parameter other: The breakdown to add.
    public mutating func add(_ other: TimeBreakdown) {
        database += other.database
        external += other.external
        application += other.application
    }
}

/// Aggregated figures for one transaction name during one minute.
public struct TransactionMetric: Codable, Sendable, Hashable {
    /// The transaction's name, e.g. `GET /users/{id}`.
    public var name: String
    /// Web or background.
    public var kind: TransactionKind
    /// How many transactions ended.
    public var count: UInt64
    /// How many of them failed (5xx or a noticed error).
    public var errorCount: UInt64
    /// The Apdex T (seconds) the counts below were classified with.
    public var apdexT: Double
    /// Transactions at or under T and not failed.
    public var satisfied: UInt64
    /// Transactions over T, at or under 4T and not failed.
    public var tolerating: UInt64
    /// Transactions over 4T, or failed.
    public var frustrated: UInt64
    /// Sum of durations (seconds).
    public var totalDuration: Double
    /// Shortest duration (seconds).
    public var minDuration: Double
    /// Longest duration (seconds).
    public var maxDuration: Double
    /// Sum of squared durations (seconds²), for the standard deviation.
    public var sumOfSquares: Double
    /// Time by category, summed over the transactions.
    public var breakdown: TimeBreakdown
    /// The latency histogram of all the durations.
    public var histogram: LatencyHistogram
    /// The latency histogram of the failed transactions' durations (a subset of ``histogram``), so that Apdex
    /// can be recomputed for another T with errors still frustrated.
    public var errorHistogram: LatencyHistogram

    /// Creates a metric.
    ///
    /// - Parameters:
    ///   - name: Transaction name.
    ///   - kind: Web or background.
    ///   - count: Number of transactions.
    ///   - errorCount: Number of failed transactions.
    ///   - apdexT: The T used for classification.
    ///   - satisfied: Satisfied count.
    ///   - tolerating: Tolerating count.
    ///   - frustrated: Frustrated count.
    ///   - totalDuration: Sum of durations.
    ///   - minDuration: Minimum duration.
    ///   - maxDuration: Maximum duration.
    ///   - sumOfSquares: Sum of squared durations.
    ///   - breakdown: Time by category.
    ///   - histogram: Latency histogram.
    ///   - errorHistogram: Latency histogram of the failed transactions.
    public init(
        name: String,
        kind: TransactionKind,
        count: UInt64,
        errorCount: UInt64,
        apdexT: Double,
        satisfied: UInt64,
        tolerating: UInt64,
        frustrated: UInt64,
        totalDuration: Double,
        minDuration: Double,
        maxDuration: Double,
        sumOfSquares: Double,
        breakdown: TimeBreakdown,
        histogram: LatencyHistogram,
        errorHistogram: LatencyHistogram = LatencyHistogram()
    ) {
        self.name = name
        self.kind = kind
        self.count = count
        self.errorCount = errorCount
        self.apdexT = apdexT
        self.satisfied = satisfied
        self.tolerating = tolerating
        self.frustrated = frustrated
        self.totalDuration = totalDuration
        self.minDuration = minDuration
        self.maxDuration = maxDuration
        self.sumOfSquares = sumOfSquares
        self.breakdown = breakdown
        self.histogram = histogram
        self.errorHistogram = errorHistogram
    }

    /// The Apdex counts.
    public var apdex: ApdexCounts {
        ApdexCounts(satisfied: satisfied, tolerating: tolerating, frustrated: frustrated)
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, count
        case errorCount = "error_count"
        case apdexT = "apdex_t"
        case satisfied, tolerating, frustrated
        case totalDuration = "total_duration"
        case minDuration = "min_duration"
        case maxDuration = "max_duration"
        case sumOfSquares = "sum_of_squares"
        case breakdown, histogram
        case errorHistogram = "error_histogram"
    }
}

/// What a segment did.
public enum SegmentCategory: String, Codable, Sendable, Hashable, CaseIterable {
    /// A database or cache call.
    case datastore
    /// An outgoing HTTP (or other network) call.
    case external
    /// Any other timed block of the app's own code.
    case custom
}

/// Aggregated figures for one segment name inside one transaction name during one minute.
public struct SegmentMetric: Codable, Sendable, Hashable {
    /// The name of the transaction the segments ran in.
    public var transaction: String
    /// The segment's name: `Postgres SELECT users`, `External api.example.com`, `Custom render`.
    public var name: String
    /// Datastore, external or custom.
    public var category: SegmentCategory
    /// Datastore system (`postgresql`, `sqlite`, ...) or, for externals, the HTTP method; empty otherwise.
    public var system: String
    /// Datastore operation (`SELECT`) or, for externals, the host; empty otherwise.
    public var operation: String
    /// Datastore table (`users`), empty when unknown.
    public var target: String
    /// Number of calls.
    public var count: UInt64
    /// Sum of durations (seconds).
    public var totalDuration: Double
    /// Sum of exclusive durations (seconds): duration minus time in child segments.
    public var exclusiveDuration: Double
    /// Shortest call (seconds).
    public var minDuration: Double
    /// Longest call (seconds).
    public var maxDuration: Double
    /// Calls that failed (an error was recorded, or an external call got a 5xx).
    public var errorCount: UInt64
    /// The statement of the slowest call that had one (datastore segments), as the agent's `record_sql`
    /// setting allows: obfuscated by default, absent when off. At most 4,096 bytes.
    public var slowestStatement: String?
    /// The duration of that call (seconds).
    public var slowestStatementDuration: Double?
    /// The latency histogram of the calls' durations, for percentiles per call. Agents before it sent none:
    /// an empty histogram then (percentiles are shown only where a histogram holds every call).
    public var histogram: LatencyHistogram

    /// Creates a segment metric.
    ///
    /// - Parameters:
    ///   - transaction: The enclosing transaction's name.
    ///   - name: The segment's name.
    ///   - category: The category.
    ///   - system: Datastore system or HTTP method.
    ///   - operation: Datastore operation or host.
    ///   - target: Datastore table.
    ///   - count: Number of calls.
    ///   - totalDuration: Sum of durations.
    ///   - exclusiveDuration: Sum of exclusive durations.
    ///   - minDuration: Shortest call.
    ///   - maxDuration: Longest call.
    ///   - errorCount: Failed calls.
    ///   - slowestStatement: The statement of the slowest call that had one.
    ///   - slowestStatementDuration: That call's duration.
    ///   - histogram: The calls' latency histogram, empty when unknown.
    public init(
        transaction: String,
        name: String,
        category: SegmentCategory,
        system: String = "",
        operation: String = "",
        target: String = "",
        count: UInt64,
        totalDuration: Double,
        exclusiveDuration: Double,
        minDuration: Double,
        maxDuration: Double,
        errorCount: UInt64 = 0,
        slowestStatement: String? = nil,
        slowestStatementDuration: Double? = nil,
        histogram: LatencyHistogram = LatencyHistogram()
    ) {
        self.histogram = histogram
        self.slowestStatement = slowestStatement
        self.slowestStatementDuration = slowestStatementDuration
        self.transaction = transaction
        self.name = name
        self.category = category
        self.system = system
        self.operation = operation
        self.target = target
        self.count = count
        self.totalDuration = totalDuration
        self.exclusiveDuration = exclusiveDuration
        self.minDuration = minDuration
        self.maxDuration = maxDuration
        self.errorCount = errorCount
    }

    enum CodingKeys: String, CodingKey {
        case transaction, name, category, system, operation, target, count
        case totalDuration = "total_duration"
        case exclusiveDuration = "exclusive_duration"
        case minDuration = "min_duration"
        case maxDuration = "max_duration"
        case errorCount = "error_count"
        case slowestStatement = "slowest_statement"
        case slowestStatementDuration = "slowest_statement_duration"
        case histogram
    }

    /// Decodes a segment metric; `histogram` may be absent (agents before it).
    ///
    /// - Parameter decoder: The decoder.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        transaction = try container.decode(String.self, forKey: .transaction)
        name = try container.decode(String.self, forKey: .name)
        category = try container.decode(SegmentCategory.self, forKey: .category)
        system = try container.decode(String.self, forKey: .system)
        operation = try container.decode(String.self, forKey: .operation)
        target = try container.decode(String.self, forKey: .target)
        count = try container.decode(UInt64.self, forKey: .count)
        totalDuration = try container.decode(Double.self, forKey: .totalDuration)
        exclusiveDuration = try container.decode(Double.self, forKey: .exclusiveDuration)
        minDuration = try container.decode(Double.self, forKey: .minDuration)
        maxDuration = try container.decode(Double.self, forKey: .maxDuration)
        errorCount = try container.decode(UInt64.self, forKey: .errorCount)
        slowestStatement = try container.decodeIfPresent(String.self, forKey: .slowestStatement)
        slowestStatementDuration = try container.decodeIfPresent(Double.self, forKey: .slowestStatementDuration)
        histogram = try container.decodeIfPresent(LatencyHistogram.self, forKey: .histogram) ?? LatencyHistogram()
    }
}

/// Counts of data the agent could not keep, by reason. Reported so the dashboard can warn.
public struct DropCounters: Codable, Sendable, Hashable {
    /// Transactions whose metrics were dropped because the memory bound was reached.
    public var transactions: UInt64
    /// Segments not kept in a trace because the trace reached `transaction_tracer.max_segments`.
    public var segments: UInt64
    /// Slow traces not kept because the per-harvest cap was reached.
    public var traces: UInt64
    /// Error samples not kept because the per-harvest cap was reached (their counts are still in metrics).
    public var errors: UInt64
    /// Transactions recorded under the overflow name because the name cap was reached.
    public var overflowedNames: UInt64
    /// Log lines not kept by the agent (past `log_forwarding.max_per_harvest` or its memory budget).
    public var logs: UInt64

    /// Creates counters.
    ///
    /// - Parameters:
    ///   - transactions: Transactions dropped by the memory bound.
    ///   - segments: Segments dropped from traces.
    ///   - traces: Traces dropped.
    ///   - errors: Error samples dropped.
    ///   - overflowedNames: Transactions recorded under the overflow name.
    ///   - logs: Log lines not kept.
    public init(
        transactions: UInt64 = 0,
        segments: UInt64 = 0,
        traces: UInt64 = 0,
        errors: UInt64 = 0,
        overflowedNames: UInt64 = 0,
        logs: UInt64 = 0
    ) {
        self.transactions = transactions
        self.segments = segments
        self.traces = traces
        self.errors = errors
        self.overflowedNames = overflowedNames
        self.logs = logs
    }

    /// Whether nothing was dropped.
    public var isZero: Bool { self == DropCounters() }

    /// Adds other counters.
    ///
    /// - Parameter other: Counters to add.
    public mutating func add(_ other: DropCounters) {
        transactions &+= other.transactions
        segments &+= other.segments
        traces &+= other.traces
        errors &+= other.errors
        overflowedNames &+= other.overflowedNames
        logs &+= other.logs
    }

    enum CodingKeys: String, CodingKey {
        case transactions, segments, traces, errors
        case overflowedNames = "overflowed_names"
        case logs
    }

    /// Creates one.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        transactions = try container.decode(UInt64.self, forKey: .transactions)
        segments = try container.decode(UInt64.self, forKey: .segments)
        traces = try container.decode(UInt64.self, forKey: .traces)
        errors = try container.decode(UInt64.self, forKey: .errors)
        overflowedNames = try container.decode(UInt64.self, forKey: .overflowedNames)
        logs = try container.decodeIfPresent(UInt64.self, forKey: .logs) ?? 0
    }

    /// Encodes it as the wire format has it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(transactions, forKey: .transactions)
        try container.encode(segments, forKey: .segments)
        try container.encode(traces, forKey: .traces)
        try container.encode(errors, forKey: .errors)
        try container.encode(overflowedNames, forKey: .overflowedNames)
        if logs > 0 { try container.encode(logs, forKey: .logs) }
    }
}

/// The collector's answer to `GET /v1/agent/settings?app=NAME`: the app's Apdex T and per-transaction Ts, which
/// an agent asks for when it starts so that it classifies its first transactions at the collector's T.
public struct AgentSettingsReply: Codable, Sendable, Hashable {
    /// The app's name, as asked.
    public var app: String
    /// Whether the collector has seen the app (an app not seen yet has the default T).
    public var known: Bool
    /// The app's T in seconds.
    public var apdexT: Double
    /// Per-transaction Ts (seconds) by transaction name.
    public var transactionApdexT: [String: Double]

    /// Creates a reply.
    ///
    /// - Parameters:
    ///   - app: The app's name.
    ///   - known: Whether the collector has seen it.
    ///   - apdexT: The app's T.
    ///   - transactionApdexT: Per-transaction Ts.
    public init(app: String, known: Bool, apdexT: Double, transactionApdexT: [String: Double] = [:]) {
        self.app = app
        self.known = known
        self.apdexT = apdexT
        self.transactionApdexT = transactionApdexT
    }

    enum CodingKeys: String, CodingKey {
        case app, known
        case apdexT = "apdex_t"
        case transactionApdexT = "transaction_apdex_t"
    }
}

/// The collector's answer to an accepted batch.
public struct IngestReply: Codable, Sendable, Hashable {
    /// The id of the batch acknowledged.
    public var batchID: String
    /// `true` when the batch had been committed before and was not counted again.
    public var duplicate: Bool
    /// The app's Apdex T in seconds; the agent classifies with it from now on.
    public var apdexT: Double
    /// Per-transaction Apdex Ts (seconds) by transaction name.
    public var transactionApdexT: [String: Double]

    /// Creates a reply.
    ///
    /// - Parameters:
    ///   - batchID: The acknowledged batch id.
    ///   - duplicate: Whether the batch was a duplicate.
    ///   - apdexT: The app's T.
    ///   - transactionApdexT: Per-transaction Ts.
    public init(batchID: String, duplicate: Bool, apdexT: Double, transactionApdexT: [String: Double] = [:]) {
        self.batchID = batchID
        self.duplicate = duplicate
        self.apdexT = apdexT
        self.transactionApdexT = transactionApdexT
    }

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id"
        case duplicate
        case apdexT = "apdex_t"
        case transactionApdexT = "transaction_apdex_t"
    }
}
