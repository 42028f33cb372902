import APMCore
import Synchronization

/// Keeps the slowest traces and the first error samples of a harvest, within caps.
///
/// Only slow or failed transactions get here, so one lock is fine; an atomic "slowest-kept floor" lets fast
/// transactions skip building a trace at all once the reservoir is full.
final class SampleReservoir: Sendable {
    struct State: Sendable {
        var traces: [TransactionTrace] = []
        /// The slowest trace of each name offered (``offerNameTrace(_:)``), for names without a slow trace.
        var nameTraces: [String: TransactionTrace] = [:]
        /// Error samples with their stacks as captured, symbolicated at harvest (``resolvedErrors(_:)``).
        var errors: [PendingError] = []
        var dropped = DropCounters()
    }

    private let state = Mutex(State())
    /// The shortest kept trace's duration in nanoseconds once the reservoir is full, else 0.
    private let traceFloor = Atomic<UInt64>(0)
    let maxTraces: Int
    let maxNameTraces: Int
    let maxErrors: Int

    init(maxTraces: Int, maxNameTraces: Int = 0, maxErrors: Int) {
        self.maxTraces = maxTraces
        self.maxNameTraces = maxNameTraces
        self.maxErrors = maxErrors
    }

    /// Keeps the trace if it is the slowest of its name so far this harvest, for at most `maxNameTraces` names.
    /// Offered only when a transaction raised its name's longest duration of the harvest, so that few traces are
    /// built: about ln(n) for n transactions of a name in random order.
    func offerNameTrace(_ trace: TransactionTrace) {
        state.withLock { state in
            if let kept = state.nameTraces[trace.transaction] {
                if kept.duration < trace.duration { state.nameTraces[trace.transaction] = trace }
            } else if state.nameTraces.count < maxNameTraces {
                state.nameTraces[trace.transaction] = trace
            } else {
                state.dropped.traces += 1
            }
        }
    }

    /// Whether a trace of this duration could be kept (cheap pre-check).
    func mightKeepTrace(durationNanoseconds: UInt64) -> Bool {
        maxTraces > 0 && durationNanoseconds > traceFloor.load(ordering: .relaxed)
    }

    func offerTrace(_ trace: TransactionTrace) {
        state.withLock { state in
            if state.traces.count < maxTraces {
                state.traces.append(trace)
            } else if let fastest = state.traces.indices.min(by: {
                state.traces[$0].duration < state.traces[$1].duration
            }),
                state.traces[fastest].duration < trace.duration
            {
                state.traces[fastest] = trace
                state.dropped.traces += 1
            } else {
                state.dropped.traces += 1
            }
            if state.traces.count >= maxTraces, let floor = state.traces.map(\.duration).min() {
                traceFloor.store(UInt64(floor * 1e9), ordering: .relaxed)
            }
        }
    }

    func offerError(_ sample: ErrorSample, stack: CapturedStack? = nil) {
        state.withLock { state in
            if state.errors.count < maxErrors {
                state.errors.append(PendingError(sample: sample, stack: stack))
            } else {
                state.dropped.errors += 1
            }
        }
    }

    /// Whether an error sample waits with a stack still in addresses (what the final flush may wait to symbolicate).
    var holdsStacks: Bool {
        state.withLock { state in state.errors.contains { $0.stack != nil } }
    }

    func harvest() -> State {
        let taken = state.withLock { state in
            let taken = state
            state = State()
            return taken
        }
        traceFloor.store(0, ordering: .relaxed)
        return taken
    }
}

/// An error sample whose stack is still addresses.
struct PendingError: Sendable {
    var sample: ErrorSample
    var stack: CapturedStack?
}

extension SampleReservoir.State {
    /// The error samples with their stacks symbolicated: called at harvest, on the delivery task, never on the
    /// app's request path.
    func resolvedErrors(_ symbolicator: StackSymbolicator) -> [ErrorSample] {
        errors.map { pending in
            var sample = pending.sample
            if let stack = pending.stack {
                // Before the symbol tables are parsed (the first seconds after the first error), addresses only.
                let frames = symbolicator.isWarm ? symbolicator.frames(of: stack) : []
                sample.stack = symbolicator.text(of: stack, frames: frames)
                sample.frames = frames.isEmpty ? nil : frames
            }
            return sample
        }
    }
}
