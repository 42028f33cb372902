import APMCore
import Synchronization

/// The mutable state of one running transaction.
///
/// A transaction is usually touched by one task at a time, but child tasks may record segments concurrently,
/// so the state sits behind a `Mutex` of its own: uncontended, ~20 ns, never shared between transactions.
final class TransactionStorage: Sendable {
    struct State: Sendable {
        var name: String
        var nameIsExplicit = false
        /// Whether a line was logged in the transaction: its end then fills ``TransactionStorage/nameAtEnd``.
        var logged = false
        var method: String
        var status = 0
        var ignored = false
        var ended = false
        var failedBySpanStatus = false
        var segments: [SegmentRecord] = []
        /// Segments past the storage cap: aggregated in place so the transaction's memory stays bounded.
        var overflowSegments: [SegmentKey: OverflowSegment] = [:]
        var droppedSegments = 0
        var errors: [NoticedError] = []
        var attributes: [String: String] = [:]
    }

    struct OverflowSegment: Sendable {
        var count: UInt64 = 0
        var total: UInt64 = 0
        var min: UInt64 = .max
        var max: UInt64 = 0
        var errors: UInt64 = 0
        var histogram = LatencyHistogram()
    }

    /// The most segments stored per transaction; more are aggregated without their tree.
    static let maxStoredSegments = 2_000
    /// The most errors kept per transaction.
    static let maxErrors = 5

    let core: AgentCore
    let kind: TransactionKind
    let start: AgentTimestamp
    let traceID: TraceID
    let spanID: SpanID
    let state: Mutex<State>
    /// The name the transaction ends with, for the log lines logged in it (a web transaction is named from its
    /// route when its span ends, after the handler logged): made by the first line, so a transaction that logs
    /// nothing costs nothing; small, so buffered lines keep it alive rather than the whole storage. Outside
    /// `State`: a reference there cost every transaction about 140 ns (AgentBenchmarks, docs/benchmarks.md).
    private let nameAtEnd = Mutex<TransactionNameAtEnd?>(nil)

    init(core: AgentCore, kind: TransactionKind, name: String, method: String, traceID: TraceID?, start: AgentTimestamp)
    {
        self.core = core
        self.kind = kind
        self.start = start
        self.traceID = traceID ?? .random()
        self.spanID = .random()
        self.state = Mutex(State(name: name, method: method))
    }

    // MARK: Segments

    func startSegment(_ record: SegmentRecord) -> Int32 {
        state.withLock { state in
            guard !state.ended, state.segments.count < Self.maxStoredSegments else { return -1 }
            if state.segments.capacity == 0 { state.segments.reserveCapacity(8) }
            state.segments.append(record)
            return Int32(state.segments.count - 1)
        }
    }

    /// Ends a span's segment, applying what its attributes say, under one lock acquisition.
    func endSegment(index: Int32, overflow: SegmentRecord?, classification: SegmentClassification, at now: UInt64) {
        if index >= 0 {
            state.withLock { state in
                let i = Int(index)
                guard i < state.segments.count, state.segments[i].end == 0 else { return }
                classification.apply(to: &state.segments[i])
                Self.finish(&state, index: i, at: now, status: nil, isError: false)
            }
        } else if var record = overflow {
            classification.apply(to: &record)
            endSegment(index: index, overflow: record, at: now, status: nil, isError: false)
        }
    }

    func endSegment(index: Int32, overflow: SegmentRecord?, at now: UInt64, status: Int32?, isError: Bool) {
        state.withLock { state in
            if index >= 0 {
                let i = Int(index)
                guard i < state.segments.count, state.segments[i].end == 0 else { return }
                Self.finish(&state, index: i, at: now, status: status, isError: isError)
            } else if var record = overflow, !state.ended {
                record.end = max(now, record.start)
                let duration = record.end - record.start
                var entry = state.overflowSegments[record.key] ?? OverflowSegment()
                entry.count += 1
                entry.total &+= duration
                entry.min = Swift.min(entry.min, duration)
                entry.max = Swift.max(entry.max, duration)
                entry.histogram.record(nanoseconds: duration)
                if isError || record.isError { entry.errors += 1 }
                state.overflowSegments[record.key] = entry
                state.droppedSegments += 1
            }
        }
    }

    private static func finish(_ state: inout State, index i: Int, at now: UInt64, status: Int32?, isError: Bool) {
        state.segments[i].end = max(now, state.segments[i].start)
        if let status { state.segments[i].status = status }
        if isError { state.segments[i].isError = true }
        let parent = Int(state.segments[i].parent)
        if parent >= 0 && parent < state.segments.count {
            state.segments[parent].childTime &+= state.segments[i].end - state.segments[i].start
        }
    }

    func updateSegment(index: Int32, _ update: (inout SegmentRecord) -> Void) {
        guard index >= 0 else { return }
        state.withLock { state in
            let i = Int(index)
            guard i < state.segments.count else { return }
            update(&state.segments[i])
        }
    }

    // MARK: Errors

    func noticeError(_ error: any Error, fingerprint: String? = nil, at now: Int64) {
        let configuration = core.configuration
        guard configuration.errorCollector.enabled else { return }
        let type = String(describing: Swift.type(of: error))
        let qualified = String(reflecting: Swift.type(of: error))
        guard !configuration.errorCollector.ignoreErrors.contains(type),
            !configuration.errorCollector.ignoreErrors.contains(qualified)
        else { return }
        let message = configuration.highSecurity ? "" : String(describing: error)
        let stack = (error as? any StackCarryingError)?.stack.captured ?? StackCapture.current()
        noticeError(type: type, message: message, stack: stack, fingerprint: fingerprint, at: now)
    }

    func noticeError(
        type: String,
        message: String,
        stack: CapturedStack,
        fingerprint: String? = nil,
        at now: Int64
    ) {
        let message = core.configuration.highSecurity ? "" : String(message.prefix(4096))
        // Empty means none; longer than the wire's 255 bytes is cut, never inside a character's bytes (the collector
        // would refuse the batch).
        let fingerprint = fingerprint.flatMap { $0.isEmpty ? nil : AgentBatch.cut($0, 255) }
        state.withLock { state in
            guard !state.ended, state.errors.count < Self.maxErrors else { return }
            state.errors.append(
                NoticedError(
                    type: String(type.prefix(255)),
                    message: message,
                    stack: stack,
                    unixNanoseconds: now,
                    fingerprint: fingerprint
                )
            )
        }
    }

    // MARK: Ending

    /// Ends the transaction now. The wall-clock end is derived from the start and the monotonic duration, so
    /// ending costs one clock read and a wall-clock jump cannot distort the duration.
    func end() {
        let monotonic = core.clock.monotonicNanoseconds()
        let elapsed = monotonic &- min(monotonic, start.monotonicNanoseconds)
        end(
            at: AgentTimestamp(
                unixNanoseconds: start.unixNanoseconds &+ Int64(elapsed),
                monotonicNanoseconds: monotonic
            )
        )
    }

    func end(at now: AgentTimestamp) {
        let finished: State? = state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            return state
        }
        if let finished, finished.logged {
            // The cell a line made, or one made here for a line logged meanwhile, which then finds it filled.
            let cell = nameAtEnd.withLock { cell in
                let made = cell ?? TransactionNameAtEnd()
                cell = made
                return made
            }
            cell.value.withLock { $0 = finished.name }
        }
        guard let finished, !finished.ignored else { return }
        core.record(CompletedTransaction(storage: self, state: finished, end: now))
    }
}

extension TransactionStorage {
    /// For a log line: the transaction's name now, and the cell that holds its final name once it ends (`nil`
    /// when it has ended: the name is final).
    func nameForLogLine() -> (name: String, atEnd: TransactionNameAtEnd?) {
        let (name, ended) = state.withLock { state in
            if !state.ended { state.logged = true }
            return (state.name, state.ended)
        }
        guard !ended else { return (name, nil) }
        let cell = nameAtEnd.withLock { cell in
            let made = cell ?? TransactionNameAtEnd()
            cell = made
            return made
        }
        return (name, cell)
    }
}

/// The name a transaction ended with; nil while it runs.
final class TransactionNameAtEnd: Sendable {
    let value = Mutex<String?>(nil)
}

/// A transaction that has ended, with what aggregation needs.
struct CompletedTransaction {
    let storage: TransactionStorage
    let state: TransactionStorage.State
    let end: AgentTimestamp

    var duration: UInt64 {
        end.monotonicNanoseconds &- min(storage.start.monotonicNanoseconds, end.monotonicNanoseconds)
    }

    /// Failed: a 5xx, or a noticed error, unless the status is ignored.
    func isError(ignoring ignored: Set<Int>) -> Bool {
        if state.status != 0 && ignored.contains(state.status) { return false }
        return state.status >= 500 || !state.errors.isEmpty || state.failedBySpanStatus
    }

    /// Database and external time: the exclusive time of each segment, scaled to the transaction's duration by
    /// the shared rule.
    func categoryTimes() -> (database: UInt64, external: UInt64) {
        var database: UInt64 = 0
        var external: UInt64 = 0
        let endTime = end.monotonicNanoseconds
        for record in state.segments {
            let stop = record.end == 0 ? max(endTime, record.start) : record.end
            let duration = stop - record.start
            let exclusive = duration > record.childTime ? duration - record.childTime : 0
            switch record.category {
            case .datastore: database &+= exclusive
            case .external: external &+= exclusive
            case .custom: break
            }
        }
        for (key, entry) in state.overflowSegments {
            switch key.category {
            case .datastore: database &+= entry.total
            case .external: external &+= entry.total
            case .custom: break
            }
        }
        return TimeBreakdown.categoryTimes(database: database, external: external, within: duration)
    }
}
