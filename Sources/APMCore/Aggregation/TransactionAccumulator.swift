/// Aggregated figures of one transaction name in one minute, in integer nanoseconds: the one aggregation that
/// the agent (per harvest) and the collector's OTLP path (per export) both use, so that a request counts the
/// same whichever client reported it.
package struct TransactionAccumulator: Sendable {
    package var kind: TransactionKind
    package var count: UInt64 = 0
    package var errors: UInt64 = 0
    package var apdex = ApdexCounts()
    package var total: UInt64 = 0
    package var min: UInt64 = .max
    package var max: UInt64 = 0
    package var sumOfSquares: Double = 0
    package var database: UInt64 = 0
    package var external: UInt64 = 0
    package var histogram = LatencyHistogram()
    package var errorHistogram = LatencyHistogram()
    /// Durations (error flag in the top bit) recorded before the agent knew the collector's T, not yet in
    /// `apdex`: classified once the T is known (``classify(at:)``).
    package var unclassified: [UInt64] = []

    package init(kind: TransactionKind) { self.kind = kind }

    static let errorBit: UInt64 = 1 << 63

    /// Puts the durations recorded before the T was known into Apdex zones at `threshold`.
    package mutating func classify(at threshold: ApdexThreshold) {
        for entry in unclassified {
            let isError = entry & Self.errorBit != 0
            apdex.record(threshold.zone(durationNanoseconds: entry & ~Self.errorBit, isError: isError))
        }
        unclassified = []
    }

    /// Records one transaction; `zone` `nil` keeps its duration to classify later.
    ///
    /// - Parameters:
    ///   - duration: Its duration.
    ///   - zone: Its Apdex zone, `nil` while the T is unknown.
    ///   - isError: Whether it failed.
    ///   - database: Its database time (see ``TimeBreakdown/categoryTimes(database:external:within:)``).
    ///   - external: Its external time.
    /// - Returns: Whether it is the longest recorded so far (it raised `max`).
    @discardableResult
    package mutating func record(
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

    /// Adds another accumulator of the same name and minute.
    package mutating func merge(_ other: TransactionAccumulator) {
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

    /// Bytes this entry takes, roughly (for the agent's memory bound).
    package var estimatedBytes: Int { 256 + (histogram.counts.count + errorHistogram.counts.count) * 8 }

    /// The wire metric.
    ///
    /// - Parameters:
    ///   - name: The transaction's name.
    ///   - apdexT: The T its Apdex counts were classified at (seconds).
    /// - Returns: The metric.
    package func metric(name: String, apdexT: Double) -> TransactionMetric {
        let totalSeconds = Double(total) / 1e9
        let database = Double(self.database) / 1e9
        let external = Double(self.external) / 1e9
        return TransactionMetric(
            name: name,
            kind: kind,
            count: count,
            errorCount: errors,
            apdexT: apdexT,
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

extension TimeBreakdown {
    /// A transaction's database and external time from its segments' own times, scaled down when parallel
    /// segments add up to more than the transaction, so that application time is never negative.
    ///
    /// - Parameters:
    ///   - database: The datastore segments' exclusive time.
    ///   - external: The external segments' exclusive time.
    ///   - total: The transaction's duration.
    /// - Returns: The two times, their sum at most `total`.
    package static func categoryTimes(
        database: UInt64,
        external: UInt64,
        within total: UInt64
    ) -> (database: UInt64, external: UInt64) {
        let sum = database &+ external
        guard sum > total && sum > 0 else { return (database, external) }
        let scale = Double(total) / Double(sum)
        let scaledDatabase = UInt64(Double(database) * scale)
        return (scaledDatabase, Swift.min(total - scaledDatabase, UInt64(Double(external) * scale)))
    }
}

extension ErrorSample {
    /// The sample of a failed transaction that recorded no error of its own: named after its response status
    /// when that is a server error, else `Failed` with the reason the client gave for the failure.
    ///
    /// - Parameters:
    ///   - timestamp: When it ended (Unix seconds).
    ///   - transaction: Its name.
    ///   - status: Its HTTP response status, 0 when none.
    ///   - reason: Why it failed otherwise (`the transaction failed`, `the span's status was ERROR`).
    ///   - traceID: Its trace.
    ///   - attributes: Its attributes.
    /// - Returns: The sample.
    package static func failedTransaction(
        timestamp: Double,
        transaction: String,
        status: Int,
        reason: String,
        traceID: String,
        attributes: [String: String] = [:]
    ) -> ErrorSample {
        ErrorSample(
            timestamp: timestamp,
            transaction: transaction,
            type: status >= 500 ? "HTTP \(status)" : "Failed",
            message: status >= 500 ? "the response status was \(status)" : reason,
            status: status,
            traceID: traceID,
            attributes: attributes
        )
    }
}
