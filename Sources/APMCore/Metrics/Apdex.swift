/// How a user felt about one transaction, by the Apdex standard.
public enum ApdexZone: Sendable, Hashable {
    /// At or under T, and no error.
    case satisfied
    /// Over T, at or under 4T, and no error.
    case tolerating
    /// Over 4T, or an error.
    case frustrated
}

/// The Apdex threshold T and the classification it implies.
///
/// Classification is done on integer nanoseconds so that a duration exactly equal to T is satisfied and
/// exactly 4T is tolerating, with no floating-point doubt at the edges.
public struct ApdexThreshold: Sendable, Hashable {
    /// The default T: 0.5 s.
    public static let `default` = ApdexThreshold(nanoseconds: 500_000_000)

    /// T in nanoseconds.
    public let nanoseconds: UInt64

    /// Creates a threshold from nanoseconds.
    ///
    /// - Parameter nanoseconds: T in nanoseconds (at least 1).
    public init(nanoseconds: UInt64) {
        self.nanoseconds = max(1, nanoseconds)
    }

    /// The T values accepted anywhere (agent config, batches, API, dashboard, CLI), in seconds.
    public static let allowedSeconds: ClosedRange<Double> = 0.001...3600

    /// What every place that takes a T says when the value is outside ``allowedSeconds``.
    public static let allowedDescription = "a number of seconds from 0.001 to 3600, e.g. 0.5"

    /// Creates a threshold from seconds, or `nil` when the value is outside ``allowedSeconds`` (or not a
    /// number).
    ///
    /// - Parameter seconds: T in seconds.
    public init?(seconds: Double) {
        guard seconds.isFinite, Self.allowedSeconds.contains(seconds) else { return nil }
        self.init(nanoseconds: UInt64((seconds * 1e9).rounded()))
    }

    /// T in seconds.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// Classifies one transaction.
    ///
    /// - Parameters:
    ///   - durationNanoseconds: The transaction's duration.
    ///   - isError: Whether it failed; a failed transaction is always frustrated.
    /// - Returns: The zone.
    public func zone(durationNanoseconds: UInt64, isError: Bool) -> ApdexZone {
        if isError { return .frustrated }
        if durationNanoseconds <= nanoseconds { return .satisfied }
        if durationNanoseconds <= frustratedAboveNanoseconds { return .tolerating }
        return .frustrated
    }

    /// How many Ts a transaction may take and still be tolerating: 4 (Apdex's definition).
    public static let toleratingFactor: UInt64 = 4

    /// 4T, above which a transaction is frustrated: also where the agent's and the OTLP path's slow traces begin.
    public var frustratedAboveNanoseconds: UInt64 { nanoseconds &* Self.toleratingFactor }

    /// 4T in seconds for a T in seconds (what-if Ts and charts, which are not a threshold in force).
    ///
    /// - Parameter t: T in seconds.
    /// - Returns: 4T in seconds.
    public static func frustratedAbove(seconds t: Double) -> Double { Double(toleratingFactor) * t }

    /// Classifies one transaction whose duration is in seconds.
    ///
    /// - Parameters:
    ///   - seconds: The duration.
    ///   - isError: Whether it failed.
    /// - Returns: The zone.
    public func zone(seconds: Double, isError: Bool) -> ApdexZone {
        zone(durationNanoseconds: UInt64(max(0, (seconds * 1e9).rounded())), isError: isError)
    }
}

/// Satisfied, tolerating and frustrated counts, and the Apdex score they give.
public struct ApdexCounts: Codable, Sendable, Hashable {
    /// Satisfied transactions.
    public var satisfied: UInt64
    /// Tolerating transactions.
    public var tolerating: UInt64
    /// Frustrated transactions.
    public var frustrated: UInt64

    /// Creates counts.
    ///
    /// - Parameters:
    ///   - satisfied: Satisfied count.
    ///   - tolerating: Tolerating count.
    ///   - frustrated: Frustrated count.
    public init(satisfied: UInt64 = 0, tolerating: UInt64 = 0, frustrated: UInt64 = 0) {
        self.satisfied = satisfied
        self.tolerating = tolerating
        self.frustrated = frustrated
    }

    /// All classified transactions.
    public var total: UInt64 { satisfied + tolerating + frustrated }

    /// `(satisfied + tolerating / 2) / total`, or `nil` with no transactions.
    public var score: Double? {
        guard total > 0 else { return nil }
        return (Double(satisfied) + Double(tolerating) / 2) / Double(total)
    }

    /// Counts one transaction.
    ///
    /// - Parameter zone: Its zone.
    public mutating func record(_ zone: ApdexZone) {
        switch zone {
        case .satisfied: satisfied += 1
        case .tolerating: tolerating += 1
        case .frustrated: frustrated += 1
        }
    }

    /// Adds other counts.
    ///
    /// - Parameter other: Counts to add.
    public mutating func add(_ other: ApdexCounts) {
        satisfied += other.satisfied
        tolerating += other.tolerating
        frustrated += other.frustrated
    }
}

/// Names shared by every part that caps names.
public enum OverflowName {
    /// The name that stands for every transaction or segment name past a cap: the agent's
    /// `max_transaction_names` and `max_segment_names`, the collector's per-app name limits.
    public static let text = "(overflow)"
}
