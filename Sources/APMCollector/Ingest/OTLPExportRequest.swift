import APMCore
import Foundation
import Synchronization

/// An OTLP/HTTP trace export (`ExportTraceServiceRequest`), from JSON (read leniently: 64-bit numbers as strings
/// or numbers, span kinds as integers or names, ids as hex, the OTLP/JSON rule, or base64, protobuf's JSON
/// mapping, which some exporters send) or from protobuf (``ProtobufReader``).
///
/// Both readers apply ``OTLPDecodeLimits`` while they read, before anything is kept for an element: past the
/// span limit the export is refused, attributes and events past their caps are skipped, and a span without ids
/// is counted in ``droppedSpans`` instead of being kept. So the memory an export costs is bounded by its size
/// and the limits, however it is shaped.
struct OTLPExportRequest: Decodable {
    var resourceSpans: [ResourceSpans]?
    /// Spans read but not kept (no trace or span id); reported as rejected.
    var droppedSpans = 0
    /// Spans with more fields than ``OTLPDecodeLimits/maxFieldsPerElement``, left unread; reported as rejected.
    var oversizeSpans = 0
    /// Attributes past ``OTLPDecodeLimits/maxAttributes`` per span, event or resource, skipped.
    var droppedAttributes = 0

    init(resourceSpans: [ResourceSpans]?, budget: OTLPDecodeLimits.Budget) {
        self.resourceSpans = resourceSpans
        self.droppedSpans = budget.dropped
        self.oversizeSpans = budget.oversizeSpans
        self.droppedAttributes = budget.droppedAttributes
    }

    /// What was used but changed, for the answer's message.
    var warnings: [String] {
        droppedAttributes == 0
            ? []
            : [
                "\(droppedAttributes) attributes past \(OTLPDecodeLimits.maxAttributes) per span, event or resource were dropped"
            ]
    }

    enum CodingKeys: String, CodingKey {
        case resourceSpans
    }

    struct ResourceSpans: Decodable {
        var resource: Resource?
        var scopeSpans: [ScopeSpans]?

        enum CodingKeys: String, CodingKey {
            case resource, scopeSpans
        }

        init(resource: Resource?, scopeSpans: [ScopeSpans]?) {
            self.resource = resource
            self.scopeSpans = scopeSpans
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            resource = try container.decodeIfPresent(Resource.self, forKey: .resource)
            scopeSpans = try OTLPDecodeLimits.decodeCountedList(container, .scopeSpans, decoder: decoder)
        }
    }

    struct Resource: Decodable {
        var attributes: [KeyValue]?

        enum CodingKeys: String, CodingKey {
            case attributes
        }

        init(attributes: [KeyValue]?) { self.attributes = attributes }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            attributes = try OTLPDecodeLimits.decodeAttributes(container, .attributes, decoder: decoder)
        }
    }

    struct ScopeSpans: Decodable {
        var spans: [Span]?

        enum CodingKeys: String, CodingKey {
            case spans
        }

        init(spans: [Span]?) { self.spans = spans }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            spans = try OTLPDecodeLimits.decodeCountedList(container, .spans, decoder: decoder)?
                .filter { span in
                    guard span.hasIDs else {
                        OTLPDecodeLimits.budget(decoder)?.dropSpan()
                        return false
                    }
                    return true
                }
        }
    }

    struct Span: Decodable {
        var traceId: String?
        var spanId: String?
        var parentSpanId: String?
        var name: String?
        var kind: SpanKind?
        var startTimeUnixNano: Nanoseconds?
        var endTimeUnixNano: Nanoseconds?
        var attributes: [KeyValue]?
        var events: [Event]?
        var status: Status?

        enum CodingKeys: String, CodingKey {
            case traceId, spanId, parentSpanId, name, kind, startTimeUnixNano, endTimeUnixNano, attributes, events
            case status
        }

        /// Whether the span carries both ids; one without cannot be placed in a trace and is not kept.
        var hasIDs: Bool { !(traceId ?? "").isEmpty && !(spanId ?? "").isEmpty }

        init() {}

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            traceId = try container.decodeIfPresent(String.self, forKey: .traceId)
            spanId = try container.decodeIfPresent(String.self, forKey: .spanId)
            parentSpanId = try container.decodeIfPresent(String.self, forKey: .parentSpanId)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            kind = try container.decodeIfPresent(SpanKind.self, forKey: .kind)
            startTimeUnixNano = try container.decodeIfPresent(Nanoseconds.self, forKey: .startTimeUnixNano)
            endTimeUnixNano = try container.decodeIfPresent(Nanoseconds.self, forKey: .endTimeUnixNano)
            attributes = try OTLPDecodeLimits.decodeAttributes(container, .attributes, decoder: decoder)
            var read = 0
            // Only exception events are used, and a few are enough.
            events = try OTLPDecodeLimits.decodeList(container, .events, decoder: decoder) { (event: Event) in
                read += 1
                return read <= OTLPDecodeLimits.maxEventsPerSpan && event.name == "exception"
            }
            status = try container.decodeIfPresent(Status.self, forKey: .status)
        }
    }

    struct Event: Decodable {
        var name: String?
        var timeUnixNano: Nanoseconds?
        var attributes: [KeyValue]?

        enum CodingKeys: String, CodingKey {
            case name, timeUnixNano, attributes
        }

        init(name: String?, timeUnixNano: Nanoseconds?, attributes: [KeyValue]?) {
            self.name = name
            self.timeUnixNano = timeUnixNano
            self.attributes = attributes
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            timeUnixNano = try container.decodeIfPresent(Nanoseconds.self, forKey: .timeUnixNano)
            attributes = try OTLPDecodeLimits.decodeAttributes(container, .attributes, decoder: decoder)
        }
    }

    struct Status: Decodable {
        var code: StatusCode?
        var message: String?
    }

    struct KeyValue: Decodable {
        var key: String
        var value: AnyValue?
    }

    /// Scalar attribute values; arrays and maps are ignored.
    struct AnyValue: Decodable {
        var text: String?

        enum CodingKeys: String, CodingKey {
            case stringValue, intValue, doubleValue, boolValue
        }

        init(text: String?) { self.text = text }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let value = try? container.decode(String.self, forKey: .stringValue) {
                text = value
            } else if let value = try? container.decode(Nanoseconds.self, forKey: .intValue) {
                text = String(value.value)
            } else if let value = try? container.decode(Double.self, forKey: .doubleValue) {
                text = String(value)
            } else if let value = try? container.decode(Bool.self, forKey: .boolValue) {
                text = String(value)
            }
        }
    }

    /// An unsigned 64-bit number, as a JSON string (the OTLP/JSON rule) or number.
    struct Nanoseconds: Decodable {
        var value: UInt64

        init(value: UInt64) { self.value = value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self), let value = UInt64(text) {
                self.value = value
            } else if let value = try? container.decode(UInt64.self) {
                self.value = value
            } else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "must be an unsigned integer (nanoseconds), as a string or a number"
                )
            }
        }
    }

    /// Names of an OTLP enum's values, in order: JSON exporters send the number, some the name.
    protocol EnumNames {
        static var names: [String] { get }
    }

    /// An OTLP enum value, from its number or its name (an unknown name reads as 0, unspecified).
    struct EnumValue<Names: EnumNames>: Decodable {
        var value: Int

        init(value: Int) { self.value = value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int.self) {
                self.value = value
            } else {
                value = Names.names.firstIndex(of: try container.decode(String.self)) ?? 0
            }
        }
    }

    /// `SPAN_KIND_SERVER` is 2, `SPAN_KIND_CLIENT` 3, `SPAN_KIND_PRODUCER` 4, `SPAN_KIND_CONSUMER` 5.
    enum SpanKindNames: EnumNames {
        static let names = [
            "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER",
            "SPAN_KIND_CONSUMER",
        ]
    }

    /// `STATUS_CODE_ERROR` is 2.
    enum StatusCodeNames: EnumNames {
        static let names = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]
    }

    typealias SpanKind = EnumValue<SpanKindNames>
    typealias StatusCode = EnumValue<StatusCodeNames>

    init(resourceSpans: [ResourceSpans]?, droppedSpans: Int = 0) {
        self.resourceSpans = resourceSpans
        self.droppedSpans = droppedSpans
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        resourceSpans = try OTLPDecodeLimits.decodeCountedList(container, .resourceSpans, decoder: decoder)
        droppedSpans = OTLPDecodeLimits.budget(decoder)?.dropped ?? 0
        droppedAttributes = OTLPDecodeLimits.budget(decoder)?.droppedAttributes ?? 0
    }

    /// Decodes an export in JSON form within the limits.
    ///
    /// - Parameter data: The body.
    /// - Throws: `DecodingError` for malformed JSON, ``WireFormatError`` (`tooLarge`) past the limits.
    init(json data: Data) throws {
        let decoder = JSONDecoder()
        let budget = OTLPDecodeLimits.Budget()
        decoder.userInfo[OTLPDecodeLimits.budgetKey] = budget
        do {
            self = try decoder.decode(OTLPExportRequest.self, from: data)
        } catch {
            if let exceeded = budget.exceeded { throw exceeded }
            throw error
        }
    }
}
