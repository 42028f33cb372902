import APMCore
import Foundation

/// Reads the protobuf wire format of OTLP trace exports (`application/x-protobuf`, what most OpenTelemetry
/// SDKs send by default) into the same ``OTLPExportRequest`` as the JSON form. Only the fields the collector
/// uses are read; every other field is skipped by its wire type, so newer SDKs' additions do no harm.
///
/// Field numbers are those of `opentelemetry/proto/collector/trace/v1/trace_service.proto` and the `trace`,
/// `resource` and `common` protos it imports.
struct ProtobufReader {
    private let bytes: [UInt8]
    private var index: Int
    private let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.index = 0
        self.end = bytes.count
    }

    private init(_ bytes: [UInt8], from start: Int, to end: Int) {
        self.bytes = bytes
        self.index = start
        self.end = end
    }

    static func error(_ message: String) -> WireFormatError {
        WireFormatError(.malformed, field: "", message: "the OTLP protobuf body is malformed: \(message)")
    }

    var isAtEnd: Bool { index >= end }

    /// Bytes left in this message (a packed field's values are known in number before any is read).
    var remainingBytes: Int { end - index }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < end, shift < 64 else { throw Self.error("a varint runs past its message") }
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// The next field's number and wire type.
    mutating func tag() throws -> (field: UInt64, wireType: UInt64) {
        let key = try varint()
        return (key >> 3, key & 7)
    }

    mutating func fixed64() throws -> UInt64 {
        guard end - index >= 8 else { throw Self.error("a fixed64 runs past its message") }
        var value: UInt64 = 0
        for offset in 0..<8 { value |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
        index += 8
        return value
    }

    /// A length-delimited field's bytes, as a reader of their own.
    mutating func message() throws -> ProtobufReader {
        let length = try varint()
        guard length <= UInt64(end - index) else { throw Self.error("a field's length runs past its message") }
        let start = index
        index += Int(length)
        return ProtobufReader(bytes, from: start, to: index)
    }

    mutating func string() throws -> String {
        let inner = try message()
        return String(decoding: bytes[inner.index..<inner.end], as: UTF8.self)
    }

    /// Lowercase hex of a bytes field.
    mutating func hex() throws -> String {
        let inner = try message()
        return bytes[inner.index..<inner.end].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    mutating func skip(_ wireType: UInt64) throws {
        switch wireType {
        case 0: _ = try varint()
        case 1:
            guard end - index >= 8 else { throw Self.error("a fixed64 runs past its message") }
            index += 8
        case 2:
            // Advanced over without a reader of its own: skipping costs no allocation or reference count.
            let length = try varint()
            guard length <= UInt64(end - index) else { throw Self.error("a field's length runs past its message") }
            index += Int(length)
        case 5:
            guard end - index >= 4 else { throw Self.error("a fixed32 runs past its message") }
            index += 4
        default: throw Self.error("wire type \(wireType) is not supported")
        }
    }
}

extension OTLPExportRequest {
    /// Decodes an `ExportTraceServiceRequest` in protobuf form, within ``OTLPDecodeLimits``.
    ///
    /// - Parameter data: The body.
    /// - Throws: ``WireFormatError`` when the bytes are not a well-formed message (`malformed`) or exceed the
    ///   limits (`tooLarge`).
    init(protobuf data: Data) throws {
        var reader = ProtobufReader([UInt8](data))
        let budget = OTLPDecodeLimits.Budget()
        var resourceSpans: [ResourceSpans] = []
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            if field == 1 && wireType == 2 {
                try budget.takeElement()
                var inner = try reader.message()
                resourceSpans.append(try ResourceSpans(protobuf: &inner, budget: budget))
            } else {
                try reader.skip(wireType)
            }
        }
        self.init(resourceSpans: resourceSpans, budget: budget)
    }
}

extension OTLPExportRequest.ResourceSpans {
    init(protobuf reader: inout ProtobufReader, budget: OTLPDecodeLimits.Budget) throws {
        var attributes: [OTLPExportRequest.KeyValue] = []
        var scopes: [OTLPExportRequest.ScopeSpans] = []
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (1, 2):  // Resource: attributes (1) and their dropped count (2) only
                var resource = try reader.message()
                var fields = 0
                while !resource.isAtEnd {
                    fields += 1
                    // Past the field cap the rest are attributes too: left unread, the work stays bounded.
                    guard fields <= OTLPDecodeLimits.maxFieldsPerElement else {
                        budget.dropAttributes(1)
                        break
                    }
                    let (field, wireType) = try resource.tag()
                    if field == 1 && wireType == 2 && attributes.count < OTLPDecodeLimits.maxAttributes {
                        var pair = try resource.message()
                        attributes.append(try OTLPExportRequest.KeyValue(protobuf: &pair))
                    } else {
                        if field == 1 { budget.dropAttributes(1) }
                        try resource.skip(wireType)
                    }
                }
            case (2, 2):  // ScopeSpans
                try budget.takeElement()
                var scope = try reader.message()
                var spans: [OTLPExportRequest.Span] = []
                while !scope.isAtEnd {
                    let (field, wireType) = try scope.tag()
                    if field == 2 && wireType == 2 {
                        try budget.takeElement()
                        var message = try scope.message()
                        guard let span = try OTLPExportRequest.Span(protobuf: &message, budget: budget) else {
                            budget.dropOversizeSpan()
                            continue
                        }
                        if span.hasIDs { spans.append(span) } else { budget.dropSpan() }
                    } else {
                        try scope.skip(wireType)
                    }
                }
                scopes.append(OTLPExportRequest.ScopeSpans(spans: spans))
            default:
                try reader.skip(wireType)
            }
        }
        self.init(resource: OTLPExportRequest.Resource(attributes: attributes), scopeSpans: scopes)
    }
}

extension OTLPExportRequest.Span {
    /// Reads a span; `nil` when it has more fields than ``OTLPDecodeLimits/maxFieldsPerElement`` (an attribute
    /// bomb: the rest is left unread and the span is rejected).
    init?(protobuf reader: inout ProtobufReader, budget: OTLPDecodeLimits.Budget) throws {
        self.init()
        var attributes: [OTLPExportRequest.KeyValue] = []
        var events: [OTLPExportRequest.Event] = []
        var eventsRead = 0
        var fields = 0
        while !reader.isAtEnd {
            fields += 1
            guard fields <= OTLPDecodeLimits.maxFieldsPerElement else { return nil }
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (1, 2): traceId = try reader.hex()
            case (2, 2): spanId = try reader.hex()
            case (4, 2): parentSpanId = try reader.hex()
            case (5, 2): name = try reader.string()
            case (6, 0): kind = OTLPExportRequest.SpanKind(value: Int(truncatingIfNeeded: try reader.varint()))
            case (7, 1): startTimeUnixNano = OTLPExportRequest.Nanoseconds(value: try reader.fixed64())
            case (8, 1): endTimeUnixNano = OTLPExportRequest.Nanoseconds(value: try reader.fixed64())
            case (9, 2) where attributes.count < OTLPDecodeLimits.maxAttributes:
                var pair = try reader.message()
                attributes.append(try OTLPExportRequest.KeyValue(protobuf: &pair))
            case (9, 2):
                budget.dropAttributes(1)
                try reader.skip(wireType)
            case (11, 2) where eventsRead < OTLPDecodeLimits.maxEventsPerSpan:
                eventsRead += 1
                var event = try reader.message()
                var name = ""
                var time: UInt64 = 0
                var eventAttributes: [OTLPExportRequest.KeyValue] = []
                var eventFields = 0
                while !event.isAtEnd {
                    eventFields += 1
                    guard eventFields <= OTLPDecodeLimits.maxFieldsPerElement else { return nil }
                    let (field, wireType) = try event.tag()
                    switch (field, wireType) {
                    case (1, 1): time = try event.fixed64()
                    case (2, 2): name = try event.string()
                    case (3, 2) where eventAttributes.count < OTLPDecodeLimits.maxAttributes:
                        var pair = try event.message()
                        eventAttributes.append(try OTLPExportRequest.KeyValue(protobuf: &pair))
                    case (3, 2):
                        budget.dropAttributes(1)
                        try event.skip(wireType)
                    default: try event.skip(wireType)
                    }
                }
                // Only exception events are used.
                guard name == "exception" else { continue }
                events.append(
                    OTLPExportRequest.Event(
                        name: name,
                        timeUnixNano: OTLPExportRequest.Nanoseconds(value: time),
                        attributes: eventAttributes
                    )
                )
            case (15, 2):
                var status = try reader.message()
                var code = 0
                var message = ""
                while !status.isAtEnd {
                    let (field, wireType) = try status.tag()
                    switch (field, wireType) {
                    case (2, 2): message = try status.string()
                    case (3, 0): code = Int(truncatingIfNeeded: try status.varint())
                    default: try status.skip(wireType)
                    }
                }
                self.status = OTLPExportRequest.Status(
                    code: OTLPExportRequest.StatusCode(value: code),
                    message: message
                )
            default:
                try reader.skip(wireType)
            }
        }
        self.attributes = attributes
        self.events = events
    }
}

extension OTLPExportRequest.KeyValue {
    init(protobuf reader: inout ProtobufReader) throws {
        var key = ""
        var text: String?
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (1, 2): key = try reader.string()
            case (2, 2):  // AnyValue: scalars only; arrays, maps and bytes are skipped.
                var value = try reader.message()
                while !value.isAtEnd {
                    let (field, wireType) = try value.tag()
                    switch (field, wireType) {
                    case (1, 2): text = try value.string()
                    case (2, 0): text = try value.varint() != 0 ? "true" : "false"
                    case (3, 0): text = String(Int64(bitPattern: try value.varint()))
                    case (4, 1): text = String(Double(bitPattern: try value.fixed64()))
                    default: try value.skip(wireType)
                    }
                }
            default:
                try reader.skip(wireType)
            }
        }
        self.init(key: key, value: OTLPExportRequest.AnyValue(text: text))
    }
}

/// The protobuf form of OTLP's `ExportTraceServiceResponse`: empty on full success, else a partial success
/// (field 1) with `rejected_spans` (1) and `error_message` (2).
enum OTLPProtobufResponse {
    static func encode(rejectedSpans: Int, message: String) -> [UInt8] {
        guard rejectedSpans > 0 || !message.isEmpty else { return [] }
        var inner: [UInt8] = rejectedSpans > 0 ? [0x08] + varint(UInt64(rejectedSpans)) : []
        let text = Array(message.utf8)
        inner += [0x12] + varint(UInt64(text.count)) + text
        return [0x0a] + varint(UInt64(inner.count)) + inner
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }
}
