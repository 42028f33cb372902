import APMCore
import Foundation
import Synchronization

/// The limits applied while an export is read (JSON or protobuf), before anything is kept for an element.
enum OTLPDecodeLimits {
    /// Resources, scopes and spans in one export, together. OpenTelemetry SDKs export at most 512 spans at a time
    /// by default.
    static let maxElements = 100_000
    /// Attributes kept per span, event or resource; the rest are skipped.
    static let maxAttributes = 128
    /// Events read per span (only exception events are kept); the rest are skipped.
    static let maxEventsPerSpan = 128
    /// Fields read per span, event or resource (attributes, events, links, ...): one with more is an attribute
    /// bomb (7 million empty attributes fit in 14 KiB of gzip); its span is rejected, unread past this, so the
    /// work an export costs follows what is kept.
    static let maxFieldsPerElement = 4096

    static let budgetKey = CodingUserInfoKey(rawValue: "apm.otlp.budget")!

    /// What one export may still hold: shared by the nested decoders of one decode.
    final class Budget: Sendable {
        private struct State {
            var remaining = OTLPDecodeLimits.maxElements
            var dropped = 0
            var oversizeSpans = 0
            var droppedAttributes = 0
            var exceeded: WireFormatError?
        }
        private let state = Mutex(State())

        var dropped: Int { state.withLock { $0.dropped } }
        var oversizeSpans: Int { state.withLock { $0.oversizeSpans } }
        var droppedAttributes: Int { state.withLock { $0.droppedAttributes } }
        var exceeded: WireFormatError? { state.withLock { $0.exceeded } }

        func takeElement() throws {
            try state.withLock { state in
                guard state.remaining > 0 else {
                    let error = OTLPDecodeLimits.tooLarge
                    state.exceeded = error
                    throw error
                }
                state.remaining -= 1
            }
        }

        func dropSpan() { state.withLock { $0.dropped += 1 } }
        func dropOversizeSpan() { state.withLock { $0.oversizeSpans += 1 } }
        func dropAttributes(_ count: Int) { state.withLock { $0.droppedAttributes += count } }
    }

    static let tooLarge = WireFormatError(
        .tooLarge,
        field: "resourceSpans",
        message:
            "more than \(maxElements) resources, scopes and spans in one export; export smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512 by default)"
    )

    /// An element read over and not kept.
    struct Skipped: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    static func budget(_ decoder: any Decoder) -> Budget? {
        decoder.userInfo[budgetKey] as? Budget
    }

    /// Decodes a list whose every element takes one from the export's budget: the decode stops at the limit,
    /// so the list can never grow past it.
    static func decodeCountedList<Key: CodingKey, Element: Decodable>(
        _ container: KeyedDecodingContainer<Key>,
        _ key: Key,
        decoder: any Decoder
    ) throws -> [Element]? {
        let budget = budget(decoder) ?? Budget()
        return try decodeList(container, key, decoder: decoder) { (_: Element) in
            try budget.takeElement()
            return true
        }
    }

    /// Decodes a list element by element; `keep` decides, for each decoded element, whether it is kept (it may
    /// throw to stop the decode).
    static func decodeList<Key: CodingKey, Element: Decodable>(
        _ container: KeyedDecodingContainer<Key>,
        _ key: Key,
        decoder: any Decoder,
        keep: (Element) throws -> Bool
    ) throws -> [Element]? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        var list = try container.nestedUnkeyedContainer(forKey: key)
        var elements: [Element] = []
        while !list.isAtEnd {
            let element = try list.decode(Element.self)
            if try keep(element) { elements.append(element) }
        }
        return elements
    }

    /// Attributes, at most ``maxAttributes`` of them.
    static func decodeAttributes<Key: CodingKey>(
        _ container: KeyedDecodingContainer<Key>,
        _ key: Key,
        decoder: any Decoder
    ) throws -> [OTLPExportRequest.KeyValue]? {
        // Past the cap, elements are skipped without being built, and counted.
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        var list = try container.nestedUnkeyedContainer(forKey: key)
        var kept: [OTLPExportRequest.KeyValue] = []
        while !list.isAtEnd {
            if kept.count < maxAttributes {
                kept.append(try list.decode(OTLPExportRequest.KeyValue.self))
            } else {
                _ = try list.decode(Skipped.self)
                budget(decoder)?.dropAttributes(1)
            }
        }
        return kept
    }
}
