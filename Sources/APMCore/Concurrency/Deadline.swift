import Synchronization

/// Runs work that must answer by a deadline even when the work itself does not stop on cancellation (a query
/// on a connection whose peer holds every packet, a write to a stalled disk). The caller gets the work's result,
/// or the deadline's error at the deadline, whichever comes first; the work is cancelled then and finishes in
/// the background, and `onTimeout` may end it for good (e.g. by closing its connection).
public enum Deadline {
    /// Runs `operation` and answers within `timeout`.
    ///
    /// - Parameters:
    ///   - timeout: How long the caller waits at most.
    ///   - timedOut: The error thrown at the deadline.
    ///   - onTimeout: Called once at the deadline, before the caller is answered (close what `operation` waits on).
    ///   - operation: The work; cancelled at the deadline.
    /// - Returns: What `operation` returns.
    /// - Throws: What `operation` throws, `timedOut()` at the deadline, or `CancellationError` when the caller is
    ///   cancelled first.
    public static func run<T: Sendable>(
        within timeout: Duration,
        timedOut: any Error,
        onTimeout: (@Sendable () -> Void)? = nil,
        operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                race.begin(continuation)
                let work = Task {
                    let result: Result<T, any Error>
                    do { result = .success(try await operation()) } catch { result = .failure(error) }
                    race.finish(result)
                }
                let timer = Task {
                    do { try await Task.sleep(for: timeout) } catch { return }
                    if race.claim() {
                        onTimeout?()
                        work.cancel()
                        race.resumeClaimed(.failure(timedOut))
                    }
                }
                race.onFinish { timer.cancel() }
                race.onCancel { work.cancel() }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// Who answers the caller first: the work, the timer or the caller's cancellation.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            /// An answer given before the continuation existed (the caller was cancelled before it began).
            var early: Result<T, any Error>?
            var answered = false
            var cancelled = false
            var finishActions: [@Sendable () -> Void] = []
            var cancelActions: [@Sendable () -> Void] = []
        }
        private let state = Mutex(State())

        func begin(_ continuation: CheckedContinuation<T, any Error>) {
            let early = state.withLock { state in
                if state.early == nil { state.continuation = continuation }
                return state.early
            }
            if let early { continuation.resume(with: early) }
        }

        /// Runs `action` once the caller is answered (at once if it was).
        func onFinish(_ action: @escaping @Sendable () -> Void) {
            let now = state.withLock { state in
                if state.answered { return true }
                state.finishActions.append(action)
                return false
            }
            if now { action() }
        }

        /// Runs `action` if the caller is cancelled (at once if it was).
        func onCancel(_ action: @escaping @Sendable () -> Void) {
            let now = state.withLock { state in
                if state.cancelled { return true }
                state.cancelActions.append(action)
                return false
            }
            if now { action() }
        }

        /// Takes the right to answer; `false` when someone answered already.
        func claim() -> Bool {
            state.withLock { state in
                guard !state.answered else { return false }
                state.answered = true
                return true
            }
        }

        /// Answers after a successful ``claim()``.
        func resumeClaimed(_ result: Result<T, any Error>) {
            let (continuation, actions) = state.withLock { state in
                defer {
                    state.continuation = nil
                    state.finishActions = []
                }
                if state.continuation == nil { state.early = result }
                return (state.continuation, state.finishActions)
            }
            continuation?.resume(with: result)
            for action in actions { action() }
        }

        /// Answers with `result` unless someone answered already.
        func finish(_ result: Result<T, any Error>) {
            var cancelActions: [@Sendable () -> Void] = []
            if case .failure(let error) = result, error is CancellationError {
                cancelActions = state.withLock { state in
                    state.cancelled = true
                    defer { state.cancelActions = [] }
                    return state.cancelActions
                }
            }
            if claim() { resumeClaimed(result) }
            for action in cancelActions { action() }
        }
    }
}
