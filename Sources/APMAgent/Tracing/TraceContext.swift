import Instrumentation

/// A W3C trace context (`traceparent` header): `00-<trace id>-<parent span id>-<flags>`.
public struct TraceContext: Sendable, Hashable {
    /// The trace id.
    public var traceID: TraceID
    /// The span id of the caller's span.
    public var spanID: SpanID
    /// Trace flags (bit 0: sampled).
    public var flags: UInt8

    /// Creates a context.
    ///
    /// - Parameters:
    ///   - traceID: The trace id.
    ///   - spanID: The span id.
    ///   - flags: The flags.
    public init(traceID: TraceID, spanID: SpanID, flags: UInt8 = 1) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// Parses a `traceparent` header; `nil` for anything malformed (the trace then starts afresh).
    ///
    /// - Parameter traceparent: The header's value.
    public init?(traceparent: String) {
        let parts = traceparent.trimmingPrefixAndSuffixSpaces().split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].utf8.count == 2, parts[0] != "ff", let version = UInt8(parts[0], radix: 16),
            version != 0 || parts.count == 4,
            let traceID = TraceID(hex: parts[1]), let spanID = SpanID(hex: parts[2]),
            parts[3].utf8.count == 2, let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        self.init(traceID: traceID, spanID: spanID, flags: flags)
    }

    /// The `traceparent` header value.
    public var traceparent: String {
        let flagsHex = String(flags, radix: 16)
        return "00-\(traceID)-\(spanID)-\(flagsHex.count == 1 ? "0" + flagsHex : flagsHex)"
    }
}

extension String {
    fileprivate func trimmingPrefixAndSuffixSpaces() -> Substring {
        var result = self[...]
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}

/// The agent's span in an `InstrumentationContext`: which transaction and segment it is.
///
/// Kept to 20 bytes so that it fits the existential's inline buffer when stored in the context: no heap box.
struct APMSpanContext: Sendable {
    let storage: TransactionStorage
    let spanID: SpanID
    /// The segment's index in the transaction, -1 for the transaction itself.
    let segmentIndex: Int32

    var traceID: TraceID { storage.traceID }
}

enum APMSpanContextKey: InstrumentationContextKey {
    typealias Value = APMSpanContext
    static var nameOverride: String? { "apm-span" }
}

/// A trace context extracted from an incoming request.
enum RemoteTraceContextKey: InstrumentationContextKey {
    typealias Value = TraceContext
    static var nameOverride: String? { "apm-remote-parent" }
}

extension InstrumentationContext {
    /// The trace id and span id of the agent's active span, for log correlation.
    var apmTraceIDs: (traceID: TraceID, spanID: SpanID)? {
        if let span = self[APMSpanContextKey.self] { return (span.traceID, span.spanID) }
        if let remote = self[RemoteTraceContextKey.self] { return (remote.traceID, remote.spanID) }
        return nil
    }
}
