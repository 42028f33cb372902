import APMCore
import Foundation

/// An OTLP/HTTP log export (`ExportLogsServiceRequest`), read from protobuf or JSON within ``OTLPDecodeLimits``
/// (resources, scopes and records together count against the export's elements; attributes past the cap are
/// skipped and counted), into the resource attributes and the records the collector keeps.
///
/// Field numbers are those of `opentelemetry/proto/collector/logs/v1/logs_service.proto` and `logs/v1/logs.proto`.
struct OTLPLogsExport {
    struct Resource {
        var attributes: [String: String]
        var records: [Record]
    }

    /// A log record as read: what is missing stays empty, and ``OTLPLogsExport/batches(digest:receivedAt:)``
    /// decides.
    struct Record {
        var timeUnixNano: UInt64 = 0
        var observedTimeUnixNano: UInt64 = 0
        var severityNumber = 0
        var severityText = ""
        var body = ""
        var attributes: [String: String] = [:]
        var traceID = ""
        var spanID = ""
    }

    var resources: [Resource] = []
    var droppedAttributes = 0
    var total: Int { resources.reduce(0) { $0 + $1.records.count } }

    /// The export's records as batches, one per app and host (the resource's `service.name` and `host.name`),
    /// each with an id derived from the body's digest so that a retried export is stored once. A record older
    /// than the 7 days a batch may reach back, or more than 10 minutes ahead, is rejected and named.
    func batches(digest: String, receivedAt: Double) -> (batches: [AgentBatch], rejected: Int, reasons: [String]) {
        var grouped: [AgentIdentity: [LogRecord]] = [:]
        var order: [AgentIdentity] = []
        var rejected = 0
        var reasons: Set<String> = []
        let limits = AgentBatch.ValidationLimits.default
        let oldest = receivedAt - limits.maxAge + 60
        let newest = receivedAt + limits.maxFutureSkew - 60
        for resource in resources {
            let identity = OTLPTranslator.identityWithinLimits(resource.attributes).identity
            for record in resource.records {
                let nanoseconds =
                    record.timeUnixNano != 0
                    ? record.timeUnixNano
                    : record.observedTimeUnixNano != 0 ? record.observedTimeUnixNano : UInt64(receivedAt * 1e9)
                let seconds = Double(nanoseconds) / 1e9
                guard seconds >= oldest, seconds <= newest, nanoseconds <= UInt64(Int64.max) else {
                    rejected += 1
                    reasons.insert("a record's time is more than 7 days old or 10 minutes ahead")
                    continue
                }
                let level =
                    LogLevel(severityNumber: record.severityNumber) ?? LogLevel(name: record.severityText) ?? .info
                var attributes = record.attributes
                if attributes.count > LogRecord.maxAttributes {
                    attributes = Dictionary(
                        uniqueKeysWithValues: attributes.sorted { $0.key < $1.key }.prefix(LogRecord.maxAttributes)
                            .map { ($0.key, $0.value) }
                    )
                }
                if grouped[identity] == nil { order.append(identity) }
                grouped[identity, default: []].append(
                    LogRecord(
                        timeUnixNano: Int64(nanoseconds),
                        level: level,
                        message: record.body,
                        attributes: attributes,
                        traceID: OTLPTranslator.Service.hexID(record.traceID, bytes: 16),
                        spanID: OTLPTranslator.Service.hexID(record.spanID, bytes: 8)
                    )
                )
            }
        }
        var batches: [AgentBatch] = []
        let maxPerBatch = limits.maxLogRecords
        for (index, identity) in order.enumerated() {
            let records = grouped[identity] ?? []
            for (part, start) in stride(from: 0, to: records.count, by: maxPerBatch).enumerated() {
                batches.append(
                    AgentBatch(
                        batchID: "otlp-logs-\(digest)-\(index)-\(part)",
                        agent: identity,
                        createdAt: receivedAt,
                        apdexT: ApdexThreshold.default.seconds,
                        logs: Array(records[start..<min(start + maxPerBatch, records.count)])
                    )
                )
            }
        }
        return (batches, rejected, reasons.sorted())
    }
}

// MARK: Protobuf

extension OTLPLogsExport {
    /// Decodes an `ExportLogsServiceRequest` in protobuf form.
    ///
    /// - Throws: ``WireFormatError`` for malformed bytes or past the limits.
    init(protobuf data: Data) throws {
        var reader = ProtobufReader([UInt8](data))
        let budget = OTLPDecodeLimits.Budget()
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            guard field == 1 && wireType == 2 else {
                try reader.skip(wireType)
                continue
            }
            try budget.takeElement()
            var resourceLogs = try reader.message()
            var resource = Resource(attributes: [:], records: [])
            while !resourceLogs.isAtEnd {
                let (field, wireType) = try resourceLogs.tag()
                switch (field, wireType) {
                case (1, 2):  // Resource: attributes (1)
                    var message = try resourceLogs.message()
                    resource.attributes = try Self.attributes(&message, field: 1, budget: budget)
                case (2, 2):  // ScopeLogs: log_records (2)
                    try budget.takeElement()
                    var scope = try resourceLogs.message()
                    while !scope.isAtEnd {
                        let (field, wireType) = try scope.tag()
                        if field == 2 && wireType == 2 {
                            try budget.takeElement()
                            var message = try scope.message()
                            resource.records.append(try Self.record(&message, budget: budget))
                        } else {
                            try scope.skip(wireType)
                        }
                    }
                default: try resourceLogs.skip(wireType)
                }
            }
            resources.append(resource)
        }
        droppedAttributes = budget.droppedAttributes
    }

    private static func record(_ reader: inout ProtobufReader, budget: OTLPDecodeLimits.Budget) throws -> Record {
        var record = Record()
        var attributes: [String: String] = [:]
        var fields = 0
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            fields += 1
            switch (field, wireType) {
            case (1, 1): record.timeUnixNano = try reader.fixed64()
            case (11, 1): record.observedTimeUnixNano = try reader.fixed64()
            case (2, 0): record.severityNumber = Int(truncatingIfNeeded: try reader.varint())
            case (3, 2): record.severityText = String(try reader.string().prefix(64))
            case (5, 2):
                var value = try reader.message()
                record.body = try Self.anyValue(&value) ?? ""
            case (6, 2)
            where fields <= OTLPDecodeLimits.maxFieldsPerElement && attributes.count < LogRecord.maxAttributes:
                var pair = try reader.message()
                let keyValue = try OTLPExportRequest.KeyValue(protobuf: &pair)
                if let text = keyValue.value?.text { attributes[keyValue.key] = text }
            case (6, 2):
                budget.dropAttributes(1)
                try reader.skip(wireType)
            case (9, 2): record.traceID = try reader.hex()
            case (10, 2): record.spanID = try reader.hex()
            default: try reader.skip(wireType)
            }
        }
        record.attributes = attributes
        return record
    }

    /// A body: a scalar as text; a map or list as its scalars' text (`key=value`, space-separated).
    private static func anyValue(_ reader: inout ProtobufReader) throws -> String? {
        var text: String?
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (1, 2): text = try reader.string()
            case (2, 0): text = try reader.varint() != 0 ? "true" : "false"
            case (3, 0): text = String(Int64(bitPattern: try reader.varint()))
            case (4, 1): text = String(Double(bitPattern: try reader.fixed64()))
            case (5, 2), (6, 2):  // ArrayValue (values = 1) or KeyValueList (values = 1, KeyValue)
                let isMap = field == 6
                var list = try reader.message()
                var parts: [String] = []
                while !list.isAtEnd, parts.count < LogRecord.maxAttributes {
                    let (field, wireType) = try list.tag()
                    guard field == 1 && wireType == 2 else {
                        try list.skip(wireType)
                        continue
                    }
                    var element = try list.message()
                    if isMap {
                        let pair = try OTLPExportRequest.KeyValue(protobuf: &element)
                        parts.append("\(pair.key)=\(pair.value?.text ?? "")")
                    } else if let value = try anyValue(&element) {
                        parts.append(value)
                    }
                }
                text = parts.joined(separator: " ")
            default: try reader.skip(wireType)
            }
        }
        return text
    }

    private static func attributes(
        _ reader: inout ProtobufReader,
        field wanted: UInt64,
        budget: OTLPDecodeLimits.Budget
    ) throws -> [String: String] {
        var attributes: [String: String] = [:]
        var fields = 0
        while !reader.isAtEnd {
            fields += 1
            guard fields <= OTLPDecodeLimits.maxFieldsPerElement else {
                budget.dropAttributes(1)
                break
            }
            let (field, wireType) = try reader.tag()
            if field == wanted && wireType == 2 && attributes.count < OTLPDecodeLimits.maxAttributes {
                var pair = try reader.message()
                let keyValue = try OTLPExportRequest.KeyValue(protobuf: &pair)
                if let text = keyValue.value?.text { attributes[keyValue.key] = text }
            } else {
                if field == wanted { budget.dropAttributes(1) }
                try reader.skip(wireType)
            }
        }
        return attributes
    }
}

// MARK: JSON

extension OTLPLogsExport {
    /// Decodes an export in OTLP/JSON form (64-bit numbers as strings or numbers, severities as numbers or
    /// names, ids as hex or base64).
    ///
    /// - Throws: `DecodingError` for malformed JSON, ``WireFormatError`` past the limits.
    init(json data: Data) throws {
        let decoder = JSONDecoder()
        let budget = OTLPDecodeLimits.Budget()
        decoder.userInfo[OTLPDecodeLimits.budgetKey] = budget
        let export: JSONExport
        do {
            export = try decoder.decode(JSONExport.self, from: data)
        } catch {
            if let exceeded = budget.exceeded { throw exceeded }
            throw error
        }
        resources = (export.resourceLogs ?? []).map { resourceLogs in
            Resource(
                attributes: OTLPTranslator.attributes(resourceLogs.resource?.attributes),
                records: (resourceLogs.scopeLogs ?? []).flatMap { $0.logRecords ?? [] }.map { json in
                    Record(
                        timeUnixNano: json.timeUnixNano?.value ?? 0,
                        observedTimeUnixNano: json.observedTimeUnixNano?.value ?? 0,
                        severityNumber: json.severityNumber?.value ?? 0,
                        severityText: String((json.severityText ?? "").prefix(64)),
                        body: json.body?.text ?? "",
                        attributes: OTLPTranslator.attributes(json.attributes),
                        traceID: json.traceId ?? "",
                        spanID: json.spanId ?? ""
                    )
                }
            )
        }
        droppedAttributes = budget.droppedAttributes
    }

    private struct JSONExport: Decodable {
        var resourceLogs: [ResourceLogs]?

        enum CodingKeys: String, CodingKey { case resourceLogs }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            resourceLogs = try OTLPDecodeLimits.decodeCountedList(container, .resourceLogs, decoder: decoder)
        }
    }

    private struct ResourceLogs: Decodable {
        var resource: OTLPExportRequest.Resource?
        var scopeLogs: [ScopeLogs]?

        enum CodingKeys: String, CodingKey { case resource, scopeLogs }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            resource = try container.decodeIfPresent(OTLPExportRequest.Resource.self, forKey: .resource)
            scopeLogs = try OTLPDecodeLimits.decodeCountedList(container, .scopeLogs, decoder: decoder)
        }
    }

    private struct ScopeLogs: Decodable {
        var logRecords: [JSONRecord]?

        enum CodingKeys: String, CodingKey { case logRecords }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            logRecords = try OTLPDecodeLimits.decodeCountedList(container, .logRecords, decoder: decoder)
        }
    }

    /// `SEVERITY_NUMBER_TRACE` is 1, … `SEVERITY_NUMBER_FATAL4` 24.
    enum SeverityNames: OTLPExportRequest.EnumNames {
        static let names =
            ["SEVERITY_NUMBER_UNSPECIFIED"]
            + ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].flatMap { level in
                ["", "2", "3", "4"].map { "SEVERITY_NUMBER_\(level)\($0)" }
            }
    }

    private struct JSONRecord: Decodable {
        var timeUnixNano: OTLPExportRequest.Nanoseconds?
        var observedTimeUnixNano: OTLPExportRequest.Nanoseconds?
        var severityNumber: OTLPExportRequest.EnumValue<SeverityNames>?
        var severityText: String?
        var body: OTLPExportRequest.AnyValue?
        var attributes: [OTLPExportRequest.KeyValue]?
        var traceId: String?
        var spanId: String?

        enum CodingKeys: String, CodingKey {
            case timeUnixNano, observedTimeUnixNano, severityNumber, severityText, body, attributes, traceId, spanId
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            timeUnixNano = try container.decodeIfPresent(OTLPExportRequest.Nanoseconds.self, forKey: .timeUnixNano)
            observedTimeUnixNano = try container.decodeIfPresent(
                OTLPExportRequest.Nanoseconds.self,
                forKey: .observedTimeUnixNano
            )
            severityNumber = try container.decodeIfPresent(
                OTLPExportRequest.EnumValue<SeverityNames>.self,
                forKey: .severityNumber
            )
            severityText = try container.decodeIfPresent(String.self, forKey: .severityText)
            body = try container.decodeIfPresent(OTLPExportRequest.AnyValue.self, forKey: .body)
            attributes = try OTLPDecodeLimits.decodeAttributes(container, .attributes, decoder: decoder)
            traceId = try container.decodeIfPresent(String.self, forKey: .traceId)
            spanId = try container.decodeIfPresent(String.self, forKey: .spanId)
        }
    }
}
