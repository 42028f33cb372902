#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A reading of the agent's clock: wall time for "when", monotonic time for "how long".
public struct AgentTimestamp: Sendable, Hashable {
    /// Nanoseconds since the Unix epoch (wall clock; may jump).
    public var unixNanoseconds: Int64
    /// Nanoseconds on a monotonic clock (never jumps; origin unspecified).
    public var monotonicNanoseconds: UInt64

    /// Creates a timestamp.
    ///
    /// - Parameters:
    ///   - unixNanoseconds: Wall-clock nanoseconds since the epoch.
    ///   - monotonicNanoseconds: Monotonic nanoseconds.
    public init(unixNanoseconds: Int64, monotonicNanoseconds: UInt64) {
        self.unixNanoseconds = unixNanoseconds
        self.monotonicNanoseconds = monotonicNanoseconds
    }
}

/// Where the agent reads time. Injected so that tests control durations exactly.
public protocol AgentClock: Sendable {
    /// The current time.
    ///
    /// - Returns: Wall and monotonic readings.
    func now() -> AgentTimestamp

    /// The monotonic reading alone; segments need nothing else, so this is the record path's only clock read.
    ///
    /// - Returns: Monotonic nanoseconds.
    func monotonicNanoseconds() -> UInt64

    /// Suspends until the monotonic reading reaches `deadline`. The delivery loop's harvests, retries and final
    /// flush wait on this, so a manual clock in tests moves them forward without anyone sleeping.
    ///
    /// - Parameter deadline: Monotonic nanoseconds.
    /// - Throws: `CancellationError` when the task is cancelled first.
    func sleep(untilMonotonicNanoseconds deadline: UInt64) async throws
}

extension AgentClock {
    /// The monotonic reading of ``now()``.
    ///
    /// - Returns: Monotonic nanoseconds.
    public func monotonicNanoseconds() -> UInt64 { now().monotonicNanoseconds }

    /// Sleeps for the time left until `deadline` on the system's clock: right for any clock that follows real
    /// time.
    ///
    /// - Parameter deadline: Monotonic nanoseconds.
    /// - Throws: `CancellationError` when the task is cancelled first.
    public func sleep(untilMonotonicNanoseconds deadline: UInt64) async throws {
        let now = monotonicNanoseconds()
        guard deadline > now else { return }
        try await Task.sleep(for: .nanoseconds(Int64(clamping: deadline - now)))
    }
}

extension Duration {
    /// Whole nanoseconds, zero for a negative duration: the unit of the agent clock's monotonic readings.
    var agentNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000).partialValue
            &+ UInt64(attoseconds / 1_000_000_000)
    }
}

/// The system clocks: `CLOCK_REALTIME` and `CLOCK_MONOTONIC` (~20 ns per reading through the vDSO).
public struct SystemAgentClock: AgentClock {
    /// Creates the system clock.
    public init() {}

    /// The current time.
    ///
    /// - Returns: Wall and monotonic readings.
    public func now() -> AgentTimestamp {
        var wall = timespec()
        var mono = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return AgentTimestamp(
            unixNanoseconds: Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec),
            monotonicNanoseconds: UInt64(mono.tv_sec) * 1_000_000_000 + UInt64(mono.tv_nsec)
        )
    }

    /// The monotonic reading alone (cheaper: one call).
    ///
    /// - Returns: Monotonic nanoseconds.
    public func monotonicNanoseconds() -> UInt64 {
        var mono = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return UInt64(mono.tv_sec) * 1_000_000_000 + UInt64(mono.tv_nsec)
    }
}
