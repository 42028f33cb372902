import APMCore
import Synchronization

/// Aggregates ended transactions in place, per minute and name, so memory grows with the number of names and
/// not the number of requests.
///
/// The state is split into shards by transaction name, each behind its own `Mutex`: request threads ending
/// different transactions rarely meet, and the critical section is a few dictionary updates (no I/O, no
/// allocation once a name has been seen this minute). The harvester swaps the shards' contents out.
final class Aggregator: Sendable {
    static let overflowName = OverflowName.text
    static let shardCount = 16
    /// A conservative size charged for a new transaction entry, before its histogram's real size is known.
    static let transactionEntryCharge = 2048

    struct Shard: Sendable {
        var transactions: [TransactionKey: TransactionAccumulator] = [:]
        var segments: [ScopedSegmentKey: SegmentAccumulator] = [:]
        var apdex: ApdexSettings
        var dropped = DropCounters()
    }

    /// The Apdex Ts in force: the app's and per-transaction overrides from the collector.
    struct ApdexSettings: Sendable, Hashable {
        var app: ApdexThreshold
        var transactions: [String: ApdexThreshold] = [:]
        /// Whether these are the collector's Ts. Until the agent hears from the collector (its settings at start,
        /// or a batch's reply) `app` is the local `apdex_t`, and transactions are kept unclassified (bounded) so
        /// that their counts are never labelled with a T they were not classified at.
        var fromCollector = true

        func threshold(for name: String) -> ApdexThreshold {
            transactions.isEmpty ? app : (transactions[name] ?? app)
        }
    }

    /// What the harvester takes.
    struct Harvest: Sendable {
        var transactions: [TransactionKey: TransactionAccumulator] = [:]
        var segments: [ScopedSegmentKey: SegmentAccumulator] = [:]
        var dropped = DropCounters()
    }

    /// A shard's lock in a class of its own: `Mutex` cannot be stored in an array.
    final class LockedShard: Sendable {
        let mutex: Mutex<Shard>
        init(_ shard: Shard) { self.mutex = Mutex(shard) }
        func withLock<R>(_ body: (inout sending Shard) throws -> sending R) rethrows -> sending R {
            try mutex.withLock(body)
        }
    }

    private let shards: [LockedShard]
    private let knownNames: Mutex<Set<String>>
    private let maxTransactionNames: Int
    private let maxSegmentNames: Int
    private let memoryBudget: Int
    /// Segment keys created since the last harvest, across shards.
    private let segmentKeys = Atomic<Int>(0)
    /// Bytes charged since the last harvest, across shards.
    private let chargedBytes = Atomic<Int>(0)
    /// Bytes of durations kept unclassified since the last harvest: at most a quarter of the budget, so that
    /// waiting for the collector's T never costs other transactions their room.
    private let deferredBytes = Atomic<Int>(0)

    /// Bytes charged for a duration kept unclassified.
    static let unclassifiedCharge = 8

    init(
        apdex: ApdexThreshold,
        maxTransactionNames: Int,
        maxSegmentNames: Int,
        memoryBudget: Int,
        awaitCollectorT: Bool = false
    ) {
        let settings = ApdexSettings(app: apdex, fromCollector: !awaitCollectorT)
        self.shards = (0..<Self.shardCount).map { _ in LockedShard(Shard(apdex: settings)) }
        self.knownNames = Mutex([])
        self.maxTransactionNames = maxTransactionNames
        self.maxSegmentNames = maxSegmentNames
        self.memoryBudget = memoryBudget
    }

    /// Adopts the Ts sent by the collector; transactions ending from now on are classified with them, and so are
    /// those kept unclassified until now.
    func updateApdex(_ settings: ApdexSettings) {
        var settings = settings
        settings.fromCollector = true
        for shard in shards {
            shard.withLock { shard in
                shard.apdex = settings
                Self.classifyKept(&shard.transactions, with: settings)
            }
        }
    }

    /// Classifies the transactions kept unclassified (key T 0) and files them under the T they now have.
    private static func classifyKept(
        _ transactions: inout [TransactionKey: TransactionAccumulator],
        with settings: ApdexSettings
    ) {
        let kept = transactions.keys.filter { $0.apdexNanoseconds == 0 }
        for key in kept {
            guard var accumulator = transactions.removeValue(forKey: key) else { continue }
            let threshold = settings.threshold(for: key.name)
            accumulator.classify(at: threshold)
            let classified = TransactionKey(minute: key.minute, name: key.name, apdexNanoseconds: threshold.nanoseconds)
            if var existing = transactions[classified] {
                existing.merge(accumulator)
                transactions[classified] = existing
            } else {
                transactions[classified] = accumulator
            }
        }
    }

    var apdexSettings: ApdexSettings { shards[0].withLock { $0.apdex } }

    /// Records one ended transaction.
    ///
    /// Returns the Apdex T it was classified with, read under the shard's lock it takes anyway, so that the
    /// caller needs no second lock (and no shared one) to know the transaction's T.
    @discardableResult
    func record(
        name: String,
        kind: TransactionKind,
        endUnixNanoseconds: Int64,
        duration: UInt64,
        isError: Bool,
        database: UInt64,
        external: UInt64,
        segments: [SegmentRecord],
        overflowSegments: [SegmentKey: TransactionStorage.OverflowSegment],
        transactionEnd: UInt64
    ) -> (threshold: ApdexThreshold, slowestOfItsName: Bool) {
        let minute = Self.minute(ofUnixNanoseconds: endUnixNanoseconds)
        let grouped = Self.grouped(segments, overflowSegments: overflowSegments, transactionEnd: transactionEnd)
        let shardIndex = Int(UInt(bitPattern: name.hashValue) % UInt(Self.shardCount))
        return shards[shardIndex].withLock { shard -> (threshold: ApdexThreshold, slowestOfItsName: Bool) in
            var name = name
            let threshold = shard.apdex.threshold(for: name)
            // Before the collector's T is known: kept unclassified (key T 0), while the memory bound allows.
            let deferred = !shard.apdex.fromCollector && admitDeferred()
            var key = TransactionKey(
                minute: minute,
                name: name,
                apdexNanoseconds: deferred ? 0 : threshold.nanoseconds
            )
            if shard.transactions[key] == nil {
                guard admitNewEntry(bytes: Self.transactionEntryCharge + name.utf8.count) else {
                    shard.dropped.transactions += 1
                    return (threshold, false)
                }
                if !admitName(name) {
                    shard.dropped.overflowedNames += 1
                    name = Self.overflowName
                    key.name = name
                }
            }
            let zone = deferred ? nil : threshold.zone(durationNanoseconds: duration, isError: isError)
            // The longest so far of this name and minute in this harvest (the accumulators start over at each),
            // from the same dictionary access that records it.
            let slowest = shard.transactions[key, default: TransactionAccumulator(kind: kind)].record(
                duration: duration,
                zone: zone,
                isError: isError,
                database: database,
                external: external
            )
            for (segment, accumulator) in grouped {
                var segmentKey = ScopedSegmentKey(minute: minute, transaction: name, segment: segment)
                if shard.segments[segmentKey] == nil && !admitSegmentKey() {
                    // Past max_segment_names: still counted and timed, under "(overflow)".
                    segmentKey.segment = .overflow(segment.category)
                }
                shard.segments[segmentKey, default: SegmentAccumulator()].merge(accumulator)
            }
            return (threshold, slowest)
        }
    }

    /// A transaction's segments grouped by key, before the shard's lock is taken: an N+1 query pattern then
    /// costs one dictionary update (and one hash of the key's strings) instead of N. Segments past the
    /// transaction's own cap come already summed.
    @inline(__always)
    static func grouped(
        _ segments: [SegmentRecord],
        overflowSegments: [SegmentKey: TransactionStorage.OverflowSegment],
        transactionEnd: UInt64
    ) -> [(key: SegmentKey, accumulator: SegmentAccumulator)] {
        var grouped: [(key: SegmentKey, accumulator: SegmentAccumulator)] = []
        if !segments.isEmpty {
            grouped.reserveCapacity(min(segments.count, 16))
            for record in segments {
                let stop = record.end == 0 ? max(transactionEnd, record.start) : record.end
                let duration = stop - record.start
                let exclusive = duration > record.childTime ? duration - record.childTime : 0
                let key = record.key
                if let index = grouped.firstIndex(where: { $0.key == key }) {
                    grouped[index].accumulator.record(
                        duration: duration,
                        exclusive: exclusive,
                        isError: record.isError,
                        statement: record.statement
                    )
                } else {
                    var accumulator = SegmentAccumulator()
                    accumulator.record(
                        duration: duration,
                        exclusive: exclusive,
                        isError: record.isError,
                        statement: record.statement
                    )
                    grouped.append((key, accumulator))
                }
            }
        }
        for (segment, entry) in overflowSegments {
            var accumulator = SegmentAccumulator()
            accumulator.count = entry.count
            accumulator.errors = entry.errors
            accumulator.total = entry.total
            accumulator.exclusive = entry.total
            accumulator.min = entry.min
            accumulator.max = entry.max
            accumulator.histogram = entry.histogram
            grouped.append((segment, accumulator))
        }
        return grouped
    }

    private func admitNewEntry(bytes: Int) -> Bool {
        let total = chargedBytes.wrappingAdd(bytes, ordering: .relaxed).newValue
        if total > memoryBudget {
            chargedBytes.wrappingSubtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    private func admitDeferred() -> Bool {
        let total = deferredBytes.wrappingAdd(Self.unclassifiedCharge, ordering: .relaxed).newValue
        if total > memoryBudget / 4 {
            deferredBytes.wrappingSubtract(Self.unclassifiedCharge, ordering: .relaxed)
            return false
        }
        return true
    }

    private func admitSegmentKey() -> Bool {
        let count = segmentKeys.wrappingAdd(1, ordering: .relaxed).newValue
        if count > maxSegmentNames {
            segmentKeys.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return admitNewEntry(bytes: SegmentAccumulator.estimatedBytes)
    }

    private func admitName(_ name: String) -> Bool {
        knownNames.withLock { names in
            if names.contains(name) { return true }
            guard names.count < maxTransactionNames else { return false }
            names.insert(name)
            return true
        }
    }

    /// Takes everything aggregated since the last harvest.
    func harvest() -> Harvest {
        var result = Harvest()
        for shard in shards {
            let taken: Shard = shard.withLock { shard in
                // Still no word from the collector: what was kept is classified at the local T, and labelled so.
                Self.classifyKept(&shard.transactions, with: shard.apdex)
                let taken = shard
                shard.transactions = [:]
                shard.segments = [:]
                shard.dropped = DropCounters()
                return taken
            }
            if result.transactions.isEmpty {
                result.transactions = taken.transactions
            } else {
                result.transactions.merge(taken.transactions) { a, b in
                    var merged = a
                    merged.merge(b)
                    return merged
                }
            }
            if result.segments.isEmpty {
                result.segments = taken.segments
            } else {
                result.segments.merge(taken.segments) { a, b in
                    var merged = a
                    merged.merge(b)
                    return merged
                }
            }
            result.dropped.add(taken.dropped)
        }
        segmentKeys.store(0, ordering: .relaxed)
        chargedBytes.store(0, ordering: .relaxed)
        deferredBytes.store(0, ordering: .relaxed)
        return result
    }

    static func minute(ofUnixNanoseconds nanoseconds: Int64) -> Int64 {
        let seconds = nanoseconds / 1_000_000_000
        return seconds - ((seconds % 60) + 60) % 60
    }
}
