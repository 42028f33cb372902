import APMCore

/// Harvested data not yet sealed into a batch. Harvests merge into it while a batch is being retried, so an
/// outage costs no counts, up to a memory budget past which the oldest minutes are dropped (and counted).
struct PendingData: Sendable {
    var transactions: [TransactionKey: TransactionAccumulator] = [:]
    var segments: [ScopedSegmentKey: SegmentAccumulator] = [:]
    var traces: [TransactionTrace] = []
    /// Traces of names that had no slow one: the slowest of each name per harvest.
    var nameTraces: [TransactionTrace] = []
    var errors: [ErrorSample] = []
    var logs: [LogRecord] = []
    var logBytes = 0
    var dropped = DropCounters()

    var isEmpty: Bool {
        transactions.isEmpty && segments.isEmpty && traces.isEmpty && nameTraces.isEmpty && errors.isEmpty
            && logs.isEmpty && dropped.isZero
    }

    /// Adds a harvest's log lines, keeping the newest `maxLogs` of what waits (the older are counted as dropped).
    mutating func absorb(logs harvested: (records: [LogRecord], dropped: UInt64), maxLogs: Int) {
        dropped.logs &+= harvested.dropped
        logs.append(contentsOf: harvested.records)
        logBytes += harvested.records.reduce(0) { $0 + LogBuffer.estimatedBytes($1) }
        if logs.count > maxLogs {
            dropOldestLogs(logs.count - maxLogs)
        }
    }

    /// The most log lines one batch carries, and their estimated bytes: well under what the collector accepts
    /// in one batch (50,000 lines, 16 MiB decompressed by default). The rest wait for the next batch.
    static let maxLogsPerBatch = 40_000
    static let maxLogBytesPerBatch = 6 * 1024 * 1024

    /// Removes and returns the lines past one batch's share (the newest), which go in the next batch.
    mutating func logsBeyondOneBatch() -> [LogRecord] {
        var bytes = 0
        var kept = 0
        for record in logs {
            let size = LogBuffer.estimatedBytes(record)
            guard kept < Self.maxLogsPerBatch, bytes + size <= Self.maxLogBytesPerBatch || kept == 0 else { break }
            bytes += size
            kept += 1
        }
        guard kept < logs.count else { return [] }
        let rest = Array(logs[kept...])
        logs.removeLast(logs.count - kept)
        logBytes = bytes
        return rest
    }

    private mutating func dropOldestLogs(_ count: Int) {
        let gone = logs.prefix(count)
        logBytes -= gone.reduce(0) { $0 + LogBuffer.estimatedBytes($1) }
        dropped.logs &+= UInt64(gone.count)
        logs.removeFirst(gone.count)
    }

    mutating func absorb(
        _ harvest: Aggregator.Harvest,
        samples: SampleReservoir.State,
        maxTraces: Int,
        maxNameTraces: Int = 0,
        maxErrors: Int,
        symbolicator: StackSymbolicator = StackSymbolicator()
    ) {
        transactions.merge(harvest.transactions) { a, b in
            var merged = a
            merged.merge(b)
            return merged
        }
        segments.merge(harvest.segments) { a, b in
            var merged = a
            merged.merge(b)
            return merged
        }
        dropped.add(harvest.dropped)
        dropped.add(samples.dropped)
        traces.append(contentsOf: samples.traces)
        if traces.count > maxTraces {
            // Keep the slowest.
            traces.sort { $0.duration > $1.duration }
            dropped.traces += UInt64(traces.count - maxTraces)
            traces.removeLast(traces.count - maxTraces)
        }
        // A name with a slow trace this harvest needs no other.
        let traced = Set(samples.traces.map(\.transaction))
        nameTraces.append(
            contentsOf: samples.nameTraces.values.filter { !traced.contains($0.transaction) }
                .sorted { $0.duration > $1.duration }
        )
        if nameTraces.count > maxNameTraces {
            // The oldest go first: each harvest's are the newest view of their names.
            dropped.traces += UInt64(nameTraces.count - maxNameTraces)
            nameTraces.removeFirst(nameTraces.count - maxNameTraces)
        }
        errors.append(contentsOf: samples.resolvedErrors(symbolicator))
        if errors.count > maxErrors {
            dropped.errors += UInt64(errors.count - maxErrors)
            errors.removeFirst(errors.count - maxErrors)
        }
    }

    var estimatedBytes: Int {
        var bytes = 0
        for (key, value) in transactions { bytes += value.estimatedBytes + key.name.utf8.count }
        for value in segments.values {
            bytes +=
                SegmentAccumulator.estimatedBytes + value.slowestStatement.utf8.count + value.histogram.counts.count * 8
        }
        for trace in traces + nameTraces { bytes += 512 + trace.segments.count * 256 }
        bytes += errors.count * 1024
        bytes += logBytes
        return bytes
    }

    /// Drops the oldest minutes until the data fits the budget; returns how many transactions were dropped.
    @discardableResult
    mutating func enforce(budget: Int) -> UInt64 {
        var droppedTransactions: UInt64 = 0
        // Log lines go first (the oldest half at a time): the metrics are what the figures are made of.
        while estimatedBytes > budget, !logs.isEmpty {
            dropOldestLogs(max(1, logs.count / 2))
        }
        while estimatedBytes > budget,
            let oldest = transactions.keys.map(\.minute).min() ?? segments.keys.map(\.minute).min()
        {
            for (key, value) in transactions where key.minute == oldest {
                droppedTransactions += value.count
                transactions[key] = nil
            }
            for key in segments.keys where key.minute == oldest { segments[key] = nil }
            if transactions.isEmpty && segments.isEmpty {
                traces.removeAll()
                nameTraces.removeAll()
                errors.removeAll()
                break
            }
        }
        dropped.transactions += droppedTransactions
        return droppedTransactions
    }

    func makeBatch(
        batchID: String,
        agent: AgentIdentity,
        createdAt: Double,
        apdexT: Double,
        recordSQL: AgentConfiguration.RecordSQL
    ) -> AgentBatch {
        var intervals: [Int64: MetricInterval] = [:]
        for (key, value) in transactions {
            intervals[key.minute, default: MetricInterval(start: key.minute)].transactions.append(
                value.metric(name: key.name, apdexT: Double(key.apdexNanoseconds) / 1e9)
            )
        }
        for (key, value) in segments {
            intervals[key.minute, default: MetricInterval(start: key.minute)].segments.append(
                value.metric(transaction: key.transaction, key: key.segment, recordSQL: recordSQL)
            )
        }
        let sorted = intervals.values.sorted { $0.start < $1.start }.map { interval -> MetricInterval in
            var interval = interval
            interval.transactions.sort { ($0.name, $0.apdexT) < ($1.name, $1.apdexT) }
            interval.segments.sort { ($0.transaction, $0.name) < ($1.transaction, $1.name) }
            return interval
        }
        return AgentBatch(
            batchID: batchID,
            agent: agent,
            createdAt: createdAt,
            apdexT: apdexT,
            intervals: sorted,
            traces: traces + nameTraces,
            errors: errors,
            logs: logs,
            dropped: dropped
        )
    }
}
