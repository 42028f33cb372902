import APMCore
import Synchronization

/// Keeps the slowest traces and the first error samples of a harvest, within caps.
///
/// Only slow or failed transactions get here, so one lock is fine; an atomic "slowest-kept floor" lets fast
/// transactions skip building a trace at all once the reservoir is full.
final class SampleReservoir: Sendable {
    struct State: Sendable {
        var traces: [TransactionTrace] = []
        var errors: [ErrorSample] = []
        var dropped = DropCounters()
    }

    private let state = Mutex(State())
    /// The shortest kept trace's duration in nanoseconds once the reservoir is full, else 0.
    private let traceFloor = Atomic<UInt64>(0)
    let maxTraces: Int
    let maxErrors: Int

    init(maxTraces: Int, maxErrors: Int) {
        self.maxTraces = maxTraces
        self.maxErrors = maxErrors
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

    func offerError(_ sample: ErrorSample) {
        state.withLock { state in
            if state.errors.count < maxErrors {
                state.errors.append(sample)
            } else {
                state.dropped.errors += 1
            }
        }
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
