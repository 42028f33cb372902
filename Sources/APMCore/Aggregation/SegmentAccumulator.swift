/// Aggregated figures of one segment name in one transaction name and minute, in integer nanoseconds; shared by
/// the agent and the collector's OTLP path.
package struct SegmentAccumulator: Sendable {
    package var count: UInt64 = 0
    package var errors: UInt64 = 0
    package var total: UInt64 = 0
    package var exclusive: UInt64 = 0
    package var min: UInt64 = .max
    package var max: UInt64 = 0
    /// The statement of the slowest call that had one (the agent keeps it raw and obfuscates it when the batch
    /// is built, off the record path). Longer statements keep their first ``longestStatement`` bytes, so memory
    /// stays bounded.
    package var slowestStatement = ""
    package var slowestStatementDuration: UInt64 = 0
    /// The calls' durations, for percentiles per call.
    package var histogram = LatencyHistogram()

    /// The most bytes of a statement kept.
    package static let longestStatement = 4_000

    /// Charged when a key is admitted: the fields, and a histogram of calls spanning about a decade (a histogram
    /// grows with the span of its durations: ~115 buckets per decade at 1 % accuracy, 8 bytes each).
    package static let estimatedBytes = 192 + 1024

    package init() {}

    /// Records one call.
    ///
    /// - Parameters:
    ///   - duration: Its duration.
    ///   - exclusive: Its duration less its children's.
    ///   - isError: Whether it failed.
    ///   - statement: Its statement, empty when none.
    package mutating func record(duration: UInt64, exclusive: UInt64, isError: Bool, statement: String = "") {
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

    /// Adds another accumulator of the same segment, transaction and minute.
    package mutating func merge(_ other: SegmentAccumulator) {
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

    /// The wire metric.
    ///
    /// - Parameters:
    ///   - transaction: The transaction's name.
    ///   - name: The segment's name.
    ///   - category: Its category.
    ///   - system: Datastore system or HTTP method.
    ///   - operation: Operation or host.
    ///   - target: Table.
    ///   - statement: The slowest statement as sent (obfuscated, raw, or `nil` when not sent).
    /// - Returns: The metric.
    package func metric(
        transaction: String,
        name: String,
        category: SegmentCategory,
        system: String,
        operation: String,
        target: String,
        statement: String?
    ) -> SegmentMetric {
        SegmentMetric(
            transaction: transaction,
            name: name,
            category: category,
            system: system,
            operation: operation,
            target: target,
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
