import APMCore
import Foundation

/// An OTLP/HTTP metrics export (`ExportMetricsServiceRequest`), read from protobuf or JSON within
/// ``OTLPDecodeLimits`` into ``MetricPoint``s per resource: gauges; sums (monotonic ones as counters, either
/// temporality; non-monotonic cumulative ones as gauges, the level they are); histograms with explicit buckets.
/// What is not read is counted with its reason, for the answer's partial success: exponential histograms and
/// summaries, non-monotonic delta sums, points without a recorded value, and points that break
/// ``MetricPoint/problem`` (NaN, negative counts, too many buckets or attributes).
///
/// Field numbers are those of `opentelemetry/proto/collector/metrics/v1/metrics_service.proto` and
/// `metrics/v1/metrics.proto`.
struct OTLPMetricsExport {
    struct Resource {
        var attributes: [String: String]
        var points: [MetricPoint]
    }

    var resources: [Resource] = []
    /// Data points not read, and why.
    var rejected = 0
    var reasons: Set<String> = []
    var total: Int { rejected + resources.reduce(0) { $0 + $1.points.count } }

    /// What a metric's data says its points are (from its data field and, for sums, temporality and monotonicity).
    struct Shape {
        var kind: MetricPoint.Kind
        var temporality: MetricPoint.Temporality

        /// A sum's shape: monotonic sums are counters; a non-monotonic cumulative sum is a level (a gauge); a
        /// non-monotonic delta sum is not read.
        static func sum(temporality: Int, monotonic: Bool) -> Shape? {
            let temporality: MetricPoint.Temporality = temporality == 1 ? .delta : .cumulative
            if monotonic { return Shape(kind: .counter, temporality: temporality) }
            return temporality == .cumulative ? Shape(kind: .gauge, temporality: .cumulative) : nil
        }
    }

    mutating func reject(_ reason: String, count: Int = 1) {
        rejected += count
        reasons.insert(reason)
    }

    /// Keeps a point that meets ``MetricPoint/problem``'s rules; rejects (and names) one that does not.
    mutating func keep(_ point: MetricPoint, in resource: inout Resource) {
        if let problem = point.problem {
            reject("a point's \(problem.field) \(problem.message)")
        } else {
            resource.points.append(point)
        }
    }

    static let flagNoRecordedValue: UInt64 = 1
    static let noRecordedValue = "points flagged as having no recorded value were skipped"
    static let exponentialHistograms =
        "exponential histograms and summaries are not read: use explicit-bucket histograms (OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=explicit_bucket_histogram)"
    static let nonMonotonicDelta =
        "non-monotonic delta sums are not read: export up-down counters with cumulative temporality"
    static let tooManyBuckets = "a histogram point has more than \(MetricPoint.maxBuckets) buckets"

    /// The export's points as batches, one per app, host and process (the resource's `service.name`, `host.name`,
    /// `process.pid`), each with an id derived from the body's digest so that a retried export is stored once. A
    /// point older than the 7 days a batch may reach back, or more than 10 minutes ahead, is rejected and named.
    mutating func batches(digest: String, receivedAt: Double) -> [AgentBatch] {
        var grouped: [AgentIdentity: [MetricPoint]] = [:]
        var order: [AgentIdentity] = []
        let limits = AgentBatch.ValidationLimits.default
        let oldest = receivedAt - limits.maxAge + 60
        let newest = receivedAt + limits.maxFutureSkew - 60
        for resource in resources {
            let identity = OTLPTranslator.identityWithinLimits(resource.attributes).identity
            // Per resource, not per point: hashing an identity per point was a visible part of an export's cost.
            let inTime = resource.points.filter { point in
                let seconds = Double(point.timeUnixNano) / 1e9
                return seconds >= oldest && seconds <= newest
            }
            if inTime.count < resource.points.count {
                reject(
                    "a point's time is more than 7 days old or 10 minutes ahead",
                    count: resource.points.count - inTime.count
                )
            }
            guard !inTime.isEmpty else { continue }
            if grouped[identity] == nil { order.append(identity) }
            grouped[identity, default: []].append(contentsOf: inTime)
        }
        var batches: [AgentBatch] = []
        let maxPerBatch = limits.maxMetricPoints
        for (index, identity) in order.enumerated() {
            let points = grouped[identity] ?? []
            for (part, start) in stride(from: 0, to: points.count, by: maxPerBatch).enumerated() {
                batches.append(
                    AgentBatch(
                        batchID: "otlp-metrics-\(digest)-\(index)-\(part)",
                        agent: identity,
                        createdAt: receivedAt,
                        apdexT: ApdexThreshold.default.seconds,
                        metrics: Array(points[start..<min(start + maxPerBatch, points.count)])
                    )
                )
            }
        }
        return batches
    }
}

// MARK: Protobuf

extension OTLPMetricsExport {
    /// Decodes an `ExportMetricsServiceRequest` in protobuf form.
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
            var resourceMetrics = try reader.message()
            var resource = Resource(attributes: [:], points: [])
            while !resourceMetrics.isAtEnd {
                let (field, wireType) = try resourceMetrics.tag()
                switch (field, wireType) {
                case (1, 2):  // Resource: attributes (1)
                    var message = try resourceMetrics.message()
                    resource.attributes = try Self.attributes(&message, field: 1, limit: OTLPDecodeLimits.maxAttributes)
                        .attributes
                case (2, 2):  // ScopeMetrics: metrics (2)
                    try budget.takeElement()
                    var scope = try resourceMetrics.message()
                    while !scope.isAtEnd {
                        let (field, wireType) = try scope.tag()
                        if field == 2 && wireType == 2 {
                            try budget.takeElement()
                            var message = try scope.message()
                            try readMetric(&message, into: &resource, budget: budget)
                        } else {
                            try scope.skip(wireType)
                        }
                    }
                default: try resourceMetrics.skip(wireType)
                }
            }
            resources.append(resource)
        }
    }

    private mutating func readMetric(
        _ reader: inout ProtobufReader,
        into resource: inout Resource,
        budget: OTLPDecodeLimits.Budget
    ) throws {
        var name = ""
        var unit = ""
        var data: (field: UInt64, reader: ProtobufReader)?
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (1, 2): name = try reader.string()
            case (3, 2): unit = try reader.string()
            case (5, 2), (7, 2), (9, 2), (10, 2), (11, 2): data = (field, try reader.message())
            default: try reader.skip(wireType)
            }
        }
        guard let (kindField, reader) = data else { return }
        var message = reader
        // Gauge, Sum and Histogram: data_points (1), aggregation_temporality (2), is_monotonic (3).
        var points: [ProtobufReader] = []
        var temporality = 0
        var monotonic = false
        while !message.isAtEnd {
            let (field, wireType) = try message.tag()
            switch (field, wireType) {
            case (1, 2):
                try budget.takeElement()
                points.append(try message.message())
            case (2, 0): temporality = Int(truncatingIfNeeded: try message.varint())
            case (3, 0): monotonic = try message.varint() != 0
            default: try message.skip(wireType)
            }
        }
        let shape: Shape?
        switch kindField {
        case 5: shape = Shape(kind: .gauge, temporality: .cumulative)
        case 7: shape = Shape.sum(temporality: temporality, monotonic: monotonic)
        case 9: shape = Shape(kind: .histogram, temporality: temporality == 1 ? .delta : .cumulative)
        default:
            reject(Self.exponentialHistograms, count: points.count)
            return
        }
        guard let shape else {
            reject(Self.nonMonotonicDelta, count: points.count)
            return
        }
        for var point in points {
            if shape.kind == .histogram {
                try readHistogramPoint(&point, name: name, unit: unit, shape: shape, into: &resource)
            } else {
                try readNumberPoint(&point, name: name, unit: unit, shape: shape, into: &resource)
            }
        }
    }

    private mutating func readNumberPoint(
        _ reader: inout ProtobufReader,
        name: String,
        unit: String,
        shape: Shape,
        into resource: inout Resource
    ) throws {
        var point = MetricPoint(
            name: name,
            unit: unit,
            kind: shape.kind,
            temporality: shape.temporality,
            timeUnixNano: 0,
            value: 0
        )
        var flags: UInt64 = 0
        var tooManyAttributes = false
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (2, 1): point.startTimeUnixNano = Int64(truncatingIfNeeded: try reader.fixed64())
            case (3, 1): point.timeUnixNano = Int64(truncatingIfNeeded: try reader.fixed64())
            case (4, 1): point.value = Double(bitPattern: try reader.fixed64())
            case (6, 1): point.value = Double(Int64(bitPattern: try reader.fixed64()))
            case (7, 2) where point.attributes.count >= MetricPoint.maxAttributes:
                // Past the cap the point is rejected: the rest are skipped unread (an attribute bomb costs nothing).
                tooManyAttributes = true
                try reader.skip(wireType)
            case (7, 2):
                var pair = try reader.message()
                let keyValue = try OTLPExportRequest.KeyValue(protobuf: &pair)
                if let text = keyValue.value?.text { point.attributes[keyValue.key] = text }
            case (8, 0): flags = try reader.varint()
            default: try reader.skip(wireType)
            }
        }
        guard flags & Self.flagNoRecordedValue == 0 else { return reject(Self.noRecordedValue) }
        guard !tooManyAttributes else { return reject(Self.tooManyAttributes) }
        keep(point, in: &resource)
    }

    static let tooManyAttributes = "a point has more than \(MetricPoint.maxAttributes) attributes"

    private mutating func readHistogramPoint(
        _ reader: inout ProtobufReader,
        name: String,
        unit: String,
        shape: Shape,
        into resource: inout Resource
    ) throws {
        var histogram = MetricPoint.Histogram(count: 0, sum: nil, bounds: [], counts: [])
        var point = MetricPoint(
            name: name,
            unit: unit,
            temporality: shape.temporality,
            timeUnixNano: 0,
            histogram: histogram
        )
        var flags: UInt64 = 0
        var tooManyAttributes = false
        var tooManyBuckets = false
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (2, 1): point.startTimeUnixNano = Int64(truncatingIfNeeded: try reader.fixed64())
            case (3, 1): point.timeUnixNano = Int64(truncatingIfNeeded: try reader.fixed64())
            case (4, 1): histogram.count = try reader.fixed64()
            case (5, 1): histogram.sum = Double(bitPattern: try reader.fixed64())
            case (11, 1): histogram.min = Double(bitPattern: try reader.fixed64())
            case (12, 1): histogram.max = Double(bitPattern: try reader.fixed64())
            case (6, 2), (7, 2):
                // Packed: the number of values is known before one is read, so 10^6 buckets are never kept.
                var packed = try reader.message()
                guard packed.remainingBytes / 8 + 1 <= MetricPoint.maxBuckets else {
                    tooManyBuckets = true
                    continue
                }
                var values: [UInt64] = []
                while !packed.isAtEnd { values.append(try packed.fixed64()) }
                if field == 6 {
                    histogram.counts = values
                } else {
                    histogram.bounds = values.map { Double(bitPattern: $0) }
                }
            case (6, 1), (7, 1):
                let value = try reader.fixed64()
                if field == 6 && histogram.counts.count <= MetricPoint.maxBuckets {
                    histogram.counts.append(value)
                } else if field == 7 && histogram.bounds.count <= MetricPoint.maxBuckets {
                    histogram.bounds.append(Double(bitPattern: value))
                } else {
                    tooManyBuckets = true
                }
            case (9, 2) where point.attributes.count >= MetricPoint.maxAttributes:
                // Past the cap the point is rejected: the rest are skipped unread (an attribute bomb costs nothing).
                tooManyAttributes = true
                try reader.skip(wireType)
            case (9, 2):
                var pair = try reader.message()
                let keyValue = try OTLPExportRequest.KeyValue(protobuf: &pair)
                if let text = keyValue.value?.text { point.attributes[keyValue.key] = text }
            case (10, 0): flags = try reader.varint()
            default: try reader.skip(wireType)
            }
        }
        guard flags & Self.flagNoRecordedValue == 0 else { return reject(Self.noRecordedValue) }
        guard !tooManyAttributes else { return reject(Self.tooManyAttributes) }
        guard !tooManyBuckets else { return reject(Self.tooManyBuckets) }
        // No buckets at all: one bucket holding every observation.
        if histogram.counts.isEmpty && histogram.bounds.isEmpty { histogram.counts = [histogram.count] }
        point.histogram = histogram
        keep(point, in: &resource)
    }

    /// Attributes of a resource: at most `limit`, and whether there were more.
    static func attributes(
        _ reader: inout ProtobufReader,
        field wanted: UInt64,
        limit: Int
    ) throws -> (attributes: [String: String], cut: Bool) {
        var attributes: [String: String] = [:]
        var cut = false
        var fields = 0
        while !reader.isAtEnd {
            fields += 1
            let (field, wireType) = try reader.tag()
            if field == wanted && wireType == 2 && attributes.count < limit
                && fields <= OTLPDecodeLimits.maxFieldsPerElement
            {
                var pair = try reader.message()
                let keyValue = try OTLPExportRequest.KeyValue(protobuf: &pair)
                if let text = keyValue.value?.text { attributes[keyValue.key] = text }
            } else {
                if field == wanted { cut = true }
                try reader.skip(wireType)
            }
        }
        return (attributes, cut)
    }
}

// MARK: JSON

extension OTLPMetricsExport {
    /// Decodes an export in OTLP/JSON form (64-bit integers as strings or numbers, temporalities as numbers or
    /// names, `NaN` and infinities as strings).
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
        for resourceMetrics in export.resourceMetrics ?? [] {
            var resource = Resource(
                attributes: OTLPTranslator.attributes(resourceMetrics.resource?.attributes),
                points: []
            )
            for metric in (resourceMetrics.scopeMetrics ?? []).flatMap({ $0.metrics ?? [] }) {
                read(metric, into: &resource)
            }
            resources.append(resource)
        }
    }

    private mutating func read(_ metric: JSONMetric, into resource: inout Resource) {
        let shape: Shape?
        let data: JSONData
        if let gauge = metric.gauge {
            (shape, data) = (Shape(kind: .gauge, temporality: .cumulative), gauge)
        } else if let sum = metric.sum {
            (shape, data) = (Shape.sum(temporality: sum.temporality, monotonic: sum.isMonotonic ?? false), sum)
        } else if let histogram = metric.histogram {
            (shape, data) = (
                Shape(kind: .histogram, temporality: histogram.temporality == 1 ? .delta : .cumulative), histogram
            )
        } else {
            if metric.hasOtherData { reject(Self.exponentialHistograms, count: metric.otherDataPoints) }
            return
        }
        let points = data.dataPoints ?? []
        guard let shape else { return reject(Self.nonMonotonicDelta, count: points.count) }
        for json in points {
            guard (json.flags ?? 0) & Self.flagNoRecordedValue == 0 else {
                reject(Self.noRecordedValue)
                continue
            }
            guard (json.attributes?.count ?? 0) <= MetricPoint.maxAttributes else {
                reject(Self.tooManyAttributes)
                continue
            }
            guard !json.tooManyBuckets else {
                reject(Self.tooManyBuckets)
                continue
            }
            let attributes = OTLPTranslator.attributes(json.attributes)
            let start = Int64(clamping: json.startTimeUnixNano?.value ?? 0)
            let time = Int64(clamping: json.timeUnixNano?.value ?? 0)
            if shape.kind == .histogram {
                let count = json.count?.value ?? 0
                var histogram = MetricPoint.Histogram(
                    count: count,
                    sum: json.sum?.value,
                    min: json.min?.value,
                    max: json.max?.value,
                    bounds: (json.explicitBounds ?? []).map(\.value),
                    counts: (json.bucketCounts ?? []).map(\.value)
                )
                if histogram.counts.isEmpty && histogram.bounds.isEmpty { histogram.counts = [count] }
                let point = MetricPoint(
                    name: metric.name ?? "",
                    unit: metric.unit ?? "",
                    temporality: shape.temporality,
                    attributes: attributes,
                    startTimeUnixNano: start,
                    timeUnixNano: time,
                    histogram: histogram
                )
                keep(point, in: &resource)
            } else {
                let value = json.asDouble?.value ?? json.asInt.map { Double($0.value) } ?? 0
                let point = MetricPoint(
                    name: metric.name ?? "",
                    unit: metric.unit ?? "",
                    kind: shape.kind,
                    temporality: shape.temporality,
                    attributes: attributes,
                    startTimeUnixNano: start,
                    timeUnixNano: time,
                    value: value
                )
                keep(point, in: &resource)
            }
        }
    }

    private struct JSONExport: Decodable {
        var resourceMetrics: [ResourceMetrics]?

        enum CodingKeys: String, CodingKey { case resourceMetrics }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            resourceMetrics = try OTLPDecodeLimits.decodeCountedList(container, .resourceMetrics, decoder: decoder)
        }
    }

    private struct ResourceMetrics: Decodable {
        var resource: OTLPExportRequest.Resource?
        var scopeMetrics: [ScopeMetrics]?

        enum CodingKeys: String, CodingKey { case resource, scopeMetrics }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            resource = try container.decodeIfPresent(OTLPExportRequest.Resource.self, forKey: .resource)
            scopeMetrics = try OTLPDecodeLimits.decodeCountedList(container, .scopeMetrics, decoder: decoder)
        }
    }

    private struct ScopeMetrics: Decodable {
        var metrics: [JSONMetric]?

        enum CodingKeys: String, CodingKey { case metrics }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            metrics = try OTLPDecodeLimits.decodeCountedList(container, .metrics, decoder: decoder)
        }
    }

    private struct JSONMetric: Decodable {
        var name: String?
        var unit: String?
        var gauge: JSONData?
        var sum: JSONData?
        var histogram: JSONData?
        /// An exponential histogram or summary: its points are counted, not read.
        var otherData: JSONData?
        var hasOtherData: Bool { otherData != nil }
        var otherDataPoints: Int { otherData?.dataPoints?.count ?? 0 }

        enum CodingKeys: String, CodingKey { case name, unit, gauge, sum, histogram, exponentialHistogram, summary }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            unit = try container.decodeIfPresent(String.self, forKey: .unit)
            gauge = try container.decodeIfPresent(JSONData.self, forKey: .gauge)
            sum = try container.decodeIfPresent(JSONData.self, forKey: .sum)
            histogram = try container.decodeIfPresent(JSONData.self, forKey: .histogram)
            otherData =
                try container.decodeIfPresent(JSONData.self, forKey: .exponentialHistogram)
                ?? container.decodeIfPresent(JSONData.self, forKey: .summary)
        }
    }

    /// `AGGREGATION_TEMPORALITY_DELTA` is 1, `AGGREGATION_TEMPORALITY_CUMULATIVE` 2.
    enum TemporalityNames: OTLPExportRequest.EnumNames {
        static let names = [
            "AGGREGATION_TEMPORALITY_UNSPECIFIED", "AGGREGATION_TEMPORALITY_DELTA",
            "AGGREGATION_TEMPORALITY_CUMULATIVE",
        ]
    }

    private struct JSONData: Decodable {
        var dataPoints: [JSONPoint]?
        var temporality: Int
        var isMonotonic: Bool?

        enum CodingKeys: String, CodingKey { case dataPoints, aggregationTemporality, isMonotonic }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            dataPoints = try OTLPDecodeLimits.decodeCountedList(container, .dataPoints, decoder: decoder)
            temporality =
                try container.decodeIfPresent(
                    OTLPExportRequest.EnumValue<TemporalityNames>.self,
                    forKey: .aggregationTemporality
                )?.value ?? 2
            isMonotonic = try container.decodeIfPresent(Bool.self, forKey: .isMonotonic)
        }
    }

    /// A number as OTLP/JSON writes a double: a JSON number, or a string (`"NaN"`, `"Infinity"`, `"-Infinity"`).
    struct JSONDouble: Decodable {
        var value: Double

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                value = number
            } else if let text = try? container.decode(String.self), let number = Double(text) {
                value = number
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be a number")
            }
        }
    }

    /// A signed 64-bit integer, as a JSON string or number.
    struct JSONInt: Decodable {
        var value: Int64

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self), let number = Int64(text) {
                value = number
            } else {
                value = try container.decode(Int64.self)
            }
        }
    }

    private struct JSONPoint: Decodable {
        var attributes: [OTLPExportRequest.KeyValue]?
        var startTimeUnixNano: OTLPExportRequest.Nanoseconds?
        var timeUnixNano: OTLPExportRequest.Nanoseconds?
        var asDouble: JSONDouble?
        var asInt: JSONInt?
        var flags: UInt64?
        var count: OTLPExportRequest.Nanoseconds?
        var sum: JSONDouble?
        var min: JSONDouble?
        var max: JSONDouble?
        var bucketCounts: [OTLPExportRequest.Nanoseconds]?
        var explicitBounds: [JSONDouble]?
        var tooManyBuckets = false

        enum CodingKeys: String, CodingKey {
            case attributes, startTimeUnixNano, timeUnixNano, asDouble, asInt, flags, count, sum, min, max,
                bucketCounts, explicitBounds
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            attributes = try OTLPDecodeLimits.decodeAttributes(container, .attributes, decoder: decoder)
            startTimeUnixNano = try container.decodeIfPresent(
                OTLPExportRequest.Nanoseconds.self,
                forKey: .startTimeUnixNano
            )
            timeUnixNano = try container.decodeIfPresent(OTLPExportRequest.Nanoseconds.self, forKey: .timeUnixNano)
            asDouble = try container.decodeIfPresent(JSONDouble.self, forKey: .asDouble)
            asInt = try container.decodeIfPresent(JSONInt.self, forKey: .asInt)
            flags = try container.decodeIfPresent(UInt64.self, forKey: .flags)
            count = try container.decodeIfPresent(OTLPExportRequest.Nanoseconds.self, forKey: .count)
            sum = try container.decodeIfPresent(JSONDouble.self, forKey: .sum)
            min = try container.decodeIfPresent(JSONDouble.self, forKey: .min)
            max = try container.decodeIfPresent(JSONDouble.self, forKey: .max)
            // Past the cap the point is rejected; the rest of the list is read over, not kept.
            var counts = 0
            bucketCounts = try OTLPDecodeLimits.decodeList(container, .bucketCounts, decoder: decoder) {
                (_: OTLPExportRequest.Nanoseconds) in
                counts += 1
                return counts <= MetricPoint.maxBuckets
            }
            var bounds = 0
            explicitBounds = try OTLPDecodeLimits.decodeList(container, .explicitBounds, decoder: decoder) {
                (_: JSONDouble) in
                bounds += 1
                return bounds < MetricPoint.maxBuckets
            }
            let tooMany = counts > MetricPoint.maxBuckets || bounds >= MetricPoint.maxBuckets
            tooManyBuckets = tooMany
        }
    }
}
