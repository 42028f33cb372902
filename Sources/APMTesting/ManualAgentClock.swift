public import APMAgent
import Synchronization

/// A clock that only moves when told to, so tests set transaction durations exactly and drive the agent's
/// harvests, retries and backoff without sleeping: the delivery loop waits on this clock.
public final class ManualAgentClock: AgentClock {
    private struct Sleeper {
        let id: UInt64
        let deadline: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: AgentTimestamp
        var sleepers: [Sleeper] = []
        var nextSleeperID: UInt64 = 0
    }

    private let state: Mutex<State>

    /// Creates a clock at a wall time.
    ///
    /// - Parameter unixSeconds: The starting wall time (Unix seconds).
    public init(unixSeconds: Int64 = 1_764_000_000) {
        self.state = Mutex(
            State(
                now: AgentTimestamp(unixNanoseconds: unixSeconds * 1_000_000_000, monotonicNanoseconds: 1_000_000_000)
            )
        )
    }

    /// The current time.
    ///
    /// - Returns: The timestamp.
    public func now() -> AgentTimestamp { state.withLock { $0.now } }

    /// How many tasks wait on this clock now: a test advances once the delivery loop is asleep, so that its
    /// next harvest is due at a known reading.
    public var waitingSleepers: Int { state.withLock { $0.sleepers.count } }

    /// Moves both clocks forward and wakes whoever's deadline has come.
    ///
    /// - Parameter nanoseconds: How far.
    public func advance(nanoseconds: UInt64) {
        let due: [Sleeper] = state.withLock { state in
            state.now.unixNanoseconds += Int64(nanoseconds)
            state.now.monotonicNanoseconds += nanoseconds
            let now = state.now.monotonicNanoseconds
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves both clocks forward and wakes whoever's deadline has come.
    ///
    /// - Parameter seconds: How far.
    public func advance(seconds: Double) {
        advance(nanoseconds: UInt64((seconds * 1e9).rounded()))
    }

    /// Suspends until ``advance(nanoseconds:)`` reaches `deadline`.
    ///
    /// - Parameter deadline: Monotonic nanoseconds.
    /// - Throws: `CancellationError` when the task is cancelled first.
    public func sleep(untilMonotonicNanoseconds deadline: UInt64) async throws {
        let id: UInt64 = state.withLock { state in
            state.nextSleeperID += 1
            return state.nextSleeperID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checked under the lock the cancellation handler takes: a cancellation either comes before
                // this check or finds the sleeper registered.
                let outcome: Result<Bool, CancellationError> = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.now.monotonicNanoseconds >= deadline { return .success(true) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return .success(false)
                }
                switch outcome {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            let cancelled: Sleeper? = state.withLock { state in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }
}
