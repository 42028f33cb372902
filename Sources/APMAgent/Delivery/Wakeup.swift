import Synchronization

/// Lets the delivery loop sleep until a deadline or until someone has something for it (a flush, a stop).
final class Wakeup: Sendable {
    private struct State: Sendable {
        var pending = false
        var continuation: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Wakes the waiter now, or makes its next wait return at once.
    func signal() {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let continuation = state.continuation {
                state.continuation = nil
                return continuation
            }
            state.pending = true
            return nil
        }
        continuation?.resume()
    }

    /// Waits until `deadline` on `clock` or a signal, whichever comes first. Returns at once when the task is
    /// cancelled.
    ///
    /// - Parameters:
    ///   - deadline: Monotonic nanoseconds on `clock`.
    ///   - clock: The agent's clock.
    func wait(until deadline: UInt64, on clock: any AgentClock) async {
        guard deadline > clock.monotonicNanoseconds() else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await clock.sleep(untilMonotonicNanoseconds: deadline)
                self.signal()
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.continuation = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
        state.withLock { $0.pending = false }
    }
}
