import APMCore

/// What identifies a transaction metric: the minute, the name and the T its Apdex counts use.
struct TransactionKey: Hashable, Sendable {
    var minute: Int64
    var name: String
    var apdexNanoseconds: UInt64
}

/// What identifies a segment metric: the minute, the transaction and the segment.
struct ScopedSegmentKey: Hashable, Sendable {
    var minute: Int64
    var transaction: String
    var segment: SegmentKey
}

/// Aggregated figures of one transaction name in one minute, in integer nanoseconds.
struct TransactionAccumulator: Sendable {
    var kind: TransactionKind
    var count: UInt64 = 0
    var errors: UInt64 = 0
    var apdex = ApdexCounts()
    var total: UInt64 = 0
    var min: UInt64 = .max
    var max: UInt64 = 0
    var sumOfSquares: Double = 0
    var database: UInt64 = 0
    var external: UInt64 = 0
    var histogram = LatencyHistogram()
    var errorHistogram = LatencyHistogram()
    /// Durations (error flag in the top bit) recorded before the agent knew the collector's T, not yet in
    /// `apdex`: classified once the T is known (``classify(at:)``).
    var unclassified: [UInt64] = []

    init(kind: TransactionKind) { self.kind = kind }

    static let errorBit: UInt64 = 1 << 63

    /// Puts the durations recorded before the T was known into Apdex zones at `threshold`.
    mutating func classify(at threshold: ApdexThreshold) {
        for entry in unclassified {
            let isError = entry & Self.errorBit != 0
            apdex.record(threshold.zone(durationNanoseconds: entry & ~Self.errorBit, isError: isError))
        }
        unclassified = []
    }

    /// Records one transaction; `zone` `nil` keeps its duration to classify later.
    ///
    /// - Returns: Whether it is the longest recorded so far (it raised `max`).
    @discardableResult
    mutating func record(
        duration: UInt64,
        zone: ApdexZone?,
        isError: Bool,
        database: UInt64,
        external: UInt64
    )
        -> Bool
    {
        let longest = duration > max
        count += 1
        if isError { errors += 1 }
        if let zone {
            apdex.record(zone)
        } else {
            // Durations fit in 63 bits (292 years).
            unclassified.append(Swift.min(duration, ~Self.errorBit) | (isError ? Self.errorBit : 0))
        }
        total &+= duration
        min = Swift.min(min, duration)
        max = Swift.max(max, duration)
        let seconds = Double(duration) / 1e9
        sumOfSquares += seconds * seconds
        self.database &+= database
        self.external &+= external
        histogram.record(nanoseconds: duration)
        if isError { errorHistogram.record(nanoseconds: duration) }
        return longest
    }

    mutating func merge(_ other: TransactionAccumulator) {
        count += other.count
        errors += other.errors
        apdex.add(other.apdex)
        total &+= other.total
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        sumOfSquares += other.sumOfSquares
        database &+= other.database
        external &+= other.external
        histogram.merge(other.histogram)
        errorHistogram.merge(other.errorHistogram)
        unclassified += other.unclassified
    }

    /// Bytes this entry takes, roughly (for the memory bound).
    var estimatedBytes: Int { 256 + (histogram.counts.count + errorHistogram.counts.count) * 8 }

    func metric(name: String, apdexNanoseconds: UInt64) -> TransactionMetric {
        let totalSeconds = Double(total) / 1e9
        let database = Double(self.database) / 1e9
        let external = Double(self.external) / 1e9
        return TransactionMetric(
            name: name,
            kind: kind,
            count: count,
            errorCount: errors,
            apdexT: Double(apdexNanoseconds) / 1e9,
            satisfied: apdex.satisfied,
            tolerating: apdex.tolerating,
            frustrated: apdex.frustrated,
            totalDuration: totalSeconds,
            minDuration: count == 0 ? 0 : Double(min) / 1e9,
            maxDuration: Double(max) / 1e9,
            sumOfSquares: sumOfSquares,
            breakdown: TimeBreakdown(
                database: database,
                external: external,
                application: Swift.max(0, totalSeconds - database - external)
            ),
            histogram: histogram,
            errorHistogram: errorHistogram
        )
    }
}

/// Aggregated figures of one segment name in one transaction name and minute.
struct SegmentAccumulator: Sendable {
    var count: UInt64 = 0
    var errors: UInt64 = 0
    var total: UInt64 = 0
    var exclusive: UInt64 = 0
    var min: UInt64 = .max
    var max: UInt64 = 0
    /// The raw statement of the slowest call that had one; obfuscated only when the batch is built, off the
    /// record path. Longer statements keep their first ``longestStatement`` bytes, so memory stays bounded.
    var slowestStatement = ""
    var slowestStatementDuration: UInt64 = 0
    /// The calls' durations, for percentiles per call.
    var histogram = LatencyHistogram()

    /// The most bytes of a statement kept.
    static let longestStatement = 4_000

    mutating func record(duration: UInt64, exclusive: UInt64, isError: Bool, statement: String = "") {
        count += 1
        if isError { errors += 1 }
        total &+= duration
        self.exclusive &+= exclusive
        min = Swift.min(min, duration)
        max = Swift.max(max, duration)
        histogram.record(nanoseconds: duration)
        if !statement.isEmpty && (duration > slowestStatementDuration || slowestStatement.isEmpty) {
            slowestStatement =
                statement.utf8.count <= Self.longestStatement
                ? statement : String(decoding: statement.utf8.prefix(Self.longestStatement), as: UTF8.self)
            slowestStatementDuration = duration
        }
    }

    mutating func merge(_ other: SegmentAccumulator) {
        count += other.count
        errors += other.errors
        total &+= other.total
        exclusive &+= other.exclusive
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        histogram.merge(other.histogram)
        if !other.slowestStatement.isEmpty
            && (other.slowestStatementDuration > slowestStatementDuration || slowestStatement.isEmpty)
        {
            slowestStatement = other.slowestStatement
            slowestStatementDuration = other.slowestStatementDuration
        }
    }

    /// Charged when a key is admitted: the fields, and a histogram of calls spanning about a decade (a histogram
    /// grows with the span of its durations: ~115 buckets per decade at 1 % accuracy, 8 bytes each).
    static let estimatedBytes = 192 + 1024

    func metric(
        transaction: String,
        key: SegmentKey,
        recordSQL: AgentConfiguration.RecordSQL
    ) -> SegmentMetric {
        var statement: String?
        if !slowestStatement.isEmpty {
            switch recordSQL {
            case .off: statement = nil
            case .obfuscated: statement = SQLObfuscator.obfuscate(slowestStatement, dialect: .forSystem(key.system))
            case .raw: statement = slowestStatement
            }
        }
        return SegmentMetric(
            transaction: transaction,
            name: key.displayName,
            category: key.category,
            system: key.system,
            operation: key.operation,
            target: key.target,
            count: count,
            totalDuration: Double(total) / 1e9,
            exclusiveDuration: Double(exclusive) / 1e9,
            minDuration: count == 0 ? 0 : Double(min) / 1e9,
            maxDuration: Double(max) / 1e9,
            errorCount: errors,
            slowestStatement: statement,
            slowestStatementDuration: statement == nil ? nil : Double(slowestStatementDuration) / 1e9,
            histogram: histogram
        )
    }
}
