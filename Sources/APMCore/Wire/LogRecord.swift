/// A log line's severity: OpenTelemetry's six ranges of `SeverityNumber`, with the names apps use for them.
/// Ordered, so that "at or above `warn`" is a comparison.
public enum LogLevel: String, Codable, CodingKeyRepresentable, Sendable, Hashable, CaseIterable, Comparable {
    case trace, debug, info, warn, error, fatal

    /// The first OpenTelemetry severity number of the level's range (TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17,
    /// FATAL 21): also the code the stores keep.
    public var severityNumber: Int {
        switch self {
        case .trace: 1
        case .debug: 5
        case .info: 9
        case .warn: 13
        case .error: 17
        case .fatal: 21
        }
    }

    /// The level of an OpenTelemetry severity number (1 to 24); `nil` for 0 (unspecified) or out of range.
    public init?(severityNumber: Int) {
        guard (1...24).contains(severityNumber) else { return nil }
        self = Self.allCases[(severityNumber - 1) / 4]
    }

    /// The level a name stands for, in any case: the six names, and the synonyms of swift-log (`notice`,
    /// `warning`, `critical`), syslog (`err`, `crit`, `alert`, `emerg`), Python's logging (`WARNING`, `CRITICAL`)
    /// and the OpenTelemetry severity texts (`INFO2`, `ERROR3`, …). `nil` for anything else.
    public init?(name: some StringProtocol) {
        var lowered = name.lowercased()
        // OpenTelemetry's severity texts number the steps inside a range: ERROR2, WARN4.
        if let last = lowered.last, ("2"..."4").contains(last) { lowered.removeLast() }
        switch lowered {
        case "trace", "finest", "verbose": self = .trace
        case "debug", "fine", "finer": self = .debug
        case "info", "information", "informational", "notice": self = .info
        case "warn", "warning": self = .warn
        case "error", "err", "severe", "exception": self = .error
        case "fatal", "critical", "crit", "alert", "emerg", "emergency", "panic": self = .fatal
        default: return nil
        }
    }

    /// Orders levels by severity.
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.severityNumber < rhs.severityNumber }

    /// The names accepted where a level is asked for (a setting, a query parameter), for error messages.
    public static let allowedDescription = "trace, debug, info, warn, error or fatal"
}

/// One application log line, as an agent sends it in ``AgentBatch/logs`` (and as the collector turns an
/// OpenTelemetry log record or a line of a program's output into). The app and host are the batch's.
public struct LogRecord: Codable, Sendable, Hashable {
    /// Longest message the collector keeps (UTF-8 bytes); longer ones are cut there, and counted.
    public static let maxMessageBytes = 16 * 1024
    /// Most attributes kept per record; the rest are dropped.
    public static let maxAttributes = 32
    /// Longest attribute value kept (UTF-8 bytes).
    public static let maxAttributeValueBytes = 1024

    /// When it was logged (Unix nanoseconds).
    public var timeUnixNano: Int64
    /// Its severity.
    public var level: LogLevel
    /// The text.
    public var message: String
    /// Structured fields (swift-log metadata, OpenTelemetry attributes), as text.
    public var attributes: [String: String]
    /// The trace it was logged in (32 hex digits), when there was one.
    public var traceID: String?
    /// The span it was logged in (16 hex digits).
    public var spanID: String?
    /// The transaction it was logged in.
    public var transaction: String?

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - timeUnixNano: Unix nanoseconds.
    ///   - level: The severity.
    ///   - message: The text.
    ///   - attributes: Structured fields.
    ///   - traceID: The trace id, if any.
    ///   - spanID: The span id, if any.
    ///   - transaction: The transaction name, if any.
    public init(
        timeUnixNano: Int64,
        level: LogLevel,
        message: String,
        attributes: [String: String] = [:],
        traceID: String? = nil,
        spanID: String? = nil,
        transaction: String? = nil
    ) {
        self.timeUnixNano = timeUnixNano
        self.level = level
        self.message = message
        self.attributes = attributes
        self.traceID = traceID
        self.spanID = spanID
        self.transaction = transaction
    }

    /// Unix seconds.
    public var time: Double { Double(timeUnixNano) / 1e9 }

    enum CodingKeys: String, CodingKey {
        case timeUnixNano = "time_unix_nano"
        case level, message, attributes
        case traceID = "trace_id"
        case spanID = "span_id"
        case transaction
    }

    /// Creates one.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeUnixNano = try container.decode(Int64.self, forKey: .timeUnixNano)
        level = try container.decode(LogLevel.self, forKey: .level)
        message = try container.decode(String.self, forKey: .message)
        attributes = try container.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        traceID = try container.decodeIfPresent(String.self, forKey: .traceID)
        spanID = try container.decodeIfPresent(String.self, forKey: .spanID)
        transaction = try container.decodeIfPresent(String.self, forKey: .transaction)
    }

    /// Encodes it as the wire format has it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(timeUnixNano, forKey: .timeUnixNano)
        try container.encode(level, forKey: .level)
        try container.encode(message, forKey: .message)
        if !attributes.isEmpty { try container.encode(attributes, forKey: .attributes) }
        try container.encodeIfPresent(traceID, forKey: .traceID)
        try container.encodeIfPresent(spanID, forKey: .spanID)
        try container.encodeIfPresent(transaction, forKey: .transaction)
    }

    /// The message cut to ``maxMessageBytes`` on a character boundary, and whether it was cut.
    public static func cut(_ message: String, to limit: Int = maxMessageBytes) -> (text: String, wasCut: Bool) {
        guard message.utf8.count > limit else { return (message, false) }
        let utf8 = message.utf8
        var end = utf8.index(utf8.startIndex, offsetBy: limit)
        // Back to the start of a scalar (a continuation byte is 10xxxxxx): a cut inside one would be invalid UTF-8.
        while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
        return (String(decoding: utf8[..<end], as: UTF8.self), true)
    }
}
