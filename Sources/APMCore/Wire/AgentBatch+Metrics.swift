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
