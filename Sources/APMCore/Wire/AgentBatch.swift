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
    /// Metric readings (optional on the wire: a batch without them has none).
    public var metrics: [MetricPoint]
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
    ///   - metrics: Metric readings.
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
        metrics: [MetricPoint] = [],
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
        self.metrics = metrics
        self.dropped = dropped
    }

    enum CodingKeys: String, CodingKey {
        case version
        case batchID = "batch_id"
        case agent
        case createdAt = "created_at"
        case apdexT = "apdex_t"
        case intervals, traces, errors, logs, metrics, dropped
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
        metrics = try container.decodeIfPresent([MetricPoint].self, forKey: .metrics) ?? []
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
        if !metrics.isEmpty { try container.encode(metrics, forKey: .metrics) }
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
