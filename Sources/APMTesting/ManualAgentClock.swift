public import APMAgent
import Synchronization

/// A clock that only moves when told to, so tests set transaction durations exactly.
public final class ManualAgentClock: AgentClock {
    private let current: Mutex<AgentTimestamp>

    /// Creates a clock at a wall time.
    ///
    /// - Parameter unixSeconds: The starting wall time (Unix seconds).
    public init(unixSeconds: Int64 = 1_764_000_000) {
        self.current = Mutex(
            AgentTimestamp(unixNanoseconds: unixSeconds * 1_000_000_000, monotonicNanoseconds: 1_000_000_000)
        )
    }

    /// The current time.
    ///
    /// - Returns: The timestamp.
    public func now() -> AgentTimestamp { current.withLock { $0 } }

    /// Moves both clocks forward.
    ///
    /// - Parameter nanoseconds: How far.
    public func advance(nanoseconds: UInt64) {
        current.withLock {
            $0.unixNanoseconds += Int64(nanoseconds)
            $0.monotonicNanoseconds += nanoseconds
        }
    }

    /// Moves both clocks forward.
    ///
    /// - Parameter seconds: How far.
    public func advance(seconds: Double) {
        advance(nanoseconds: UInt64((seconds * 1e9).rounded()))
    }
}
