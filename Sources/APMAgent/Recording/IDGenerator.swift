import Synchronization

/// Trace and span ids without a system call per id: a counter seeded from the system's random generator,
/// passed through the SplitMix64 finaliser (a bijection, so ids never repeat within 2^64 draws).
enum IDGenerator {
    private static let counter = Atomic<UInt64>(UInt64.random(in: .min ... .max))
    private static let salt = UInt64.random(in: 1 ... .max)

    static func next() -> UInt64 {
        var z = counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        return z == 0 ? salt : z
    }
}

/// A W3C trace id (128 bits).
public struct TraceID: Sendable, Hashable, CustomStringConvertible {
    /// High 64 bits.
    public var high: UInt64
    /// Low 64 bits.
    public var low: UInt64

    /// Creates a trace id.
    ///
    /// - Parameters:
    ///   - high: High bits.
    ///   - low: Low bits.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    static func random() -> TraceID { TraceID(high: IDGenerator.next(), low: IDGenerator.next()) }

    /// 32 lowercase hex digits.
    public var description: String { hex(high) + hex(low) }

    /// Parses 32 hex digits; the all-zero id is invalid.
    ///
    /// - Parameter text: 32 hex digits.
    public init?(hex text: Substring) {
        guard text.utf8.count == 32, let high = UInt64(text.prefix(16), radix: 16),
            let low = UInt64(text.suffix(16), radix: 16),
            high != 0 || low != 0
        else { return nil }
        self.init(high: high, low: low)
    }
}

/// A W3C span id (64 bits).
public struct SpanID: Sendable, Hashable, CustomStringConvertible {
    /// The id's bits.
    public var value: UInt64

    /// Creates a span id.
    ///
    /// - Parameter value: The bits.
    public init(value: UInt64) { self.value = value }

    static func random() -> SpanID { SpanID(value: IDGenerator.next()) }

    /// 16 lowercase hex digits.
    public var description: String { hex(value) }

    /// Parses 16 hex digits; the all-zero id is invalid.
    ///
    /// - Parameter text: 16 hex digits.
    public init?(hex text: Substring) {
        guard text.utf8.count == 16, let value = UInt64(text, radix: 16), value != 0 else { return nil }
        self.value = value
    }
}

private func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
