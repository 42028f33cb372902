/// One reading of a metric series, as a batch carries it in ``AgentBatch/metrics``: what `apm run-program` reads
/// of the host, and what the collector turns an OpenTelemetry data point into. The app and host are the batch's;
/// the series is the name, the process (``AgentIdentity/pid``) and the attributes.
///
/// Names follow the OpenTelemetry semantic conventions (`system.cpu.utilization`, `process.runtime.jvm.memory.usage`)
/// and units UCUM as OpenTelemetry writes them (`By`, `s`, `1`, `{packets}`).
public struct MetricPoint: Codable, Sendable, Hashable {
    /// Longest name (UTF-8 bytes).
    public static let maxNameBytes = 255
    /// Longest unit (UTF-8 bytes).
    public static let maxUnitBytes = 63
    /// Most attributes of one series: the rest are dropped when read, and counted.
    public static let maxAttributes = 16
    /// Longest attribute key or value (UTF-8 bytes).
    public static let maxAttributeBytes = 255
    /// Most buckets of a histogram (explicit bounds + 1): OpenTelemetry's default has 16.
    public static let maxBuckets = 160

    /// What a reading means, and so how readings add up in a minute.
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        /// A level at an instant (memory used, CPU utilisation, queue length): a minute keeps the readings' count,
        /// sum (for the average), minimum, maximum and the last one.
        case gauge
        /// A monotonic count (bytes sent, requests): a minute keeps the increase in it, so that its rate is the
        /// increase over the seconds.
        case counter
        /// A distribution over explicit bucket bounds: a minute keeps the observations' count, sum, minimum,
        /// maximum and the counts per bucket.
        case histogram
    }

    /// Whether a counter's or histogram's value counts since the previous reading or since the series started.
    public enum Temporality: String, Codable, Sendable, Hashable {
        /// Since the previous reading.
        case delta
        /// Since ``MetricPoint/startTimeUnixNano``: the collector subtracts the previous reading.
        case cumulative
    }

    /// A histogram reading.
    public struct Histogram: Codable, Sendable, Hashable {
        /// Observations.
        public var count: UInt64
        /// Their sum, when the source knows it.
        public var sum: Double?
        /// The least observation, when known.
        public var min: Double?
        /// The greatest observation, when known.
        public var max: Double?
        /// The buckets' upper bounds, increasing; bucket `i` holds values in `(bounds[i-1], bounds[i]]`, the last
        /// one everything above the last bound.
        public var bounds: [Double]
        /// Observations per bucket: one more than the bounds; they add up to ``count``.
        public var counts: [UInt64]

        /// Creates a histogram reading.
        ///
        /// - Parameters:
        ///   - count: Observations.
        ///   - sum: Their sum.
        ///   - min: The least.
        ///   - max: The greatest.
        ///   - bounds: Upper bounds.
        ///   - counts: Observations per bucket.
        public init(
            count: UInt64,
            sum: Double?,
            min: Double? = nil,
            max: Double? = nil,
            bounds: [Double],
            counts: [UInt64]
        ) {
            self.count = count
            self.sum = sum
            self.min = min
            self.max = max
            self.bounds = bounds
            self.counts = counts
        }
    }

    /// The metric's name.
    public var name: String
    /// Its unit, empty when none.
    public var unit: String
    /// What a reading means.
    public var kind: Kind
    /// How a counter or histogram counts (ignored for gauges).
    public var temporality: Temporality
    /// The series' attributes (`state = user`, `device = eth0`).
    public var attributes: [String: String]
    /// When a cumulative series started counting (Unix nanoseconds), 0 when unknown.
    public var startTimeUnixNano: Int64
    /// When it was read (Unix nanoseconds).
    public var timeUnixNano: Int64
    /// A gauge's or counter's value.
    public var value: Double
    /// A histogram's reading.
    public var histogram: Histogram?

    /// Creates a gauge or counter reading.
    ///
    /// - Parameters:
    ///   - name: The metric.
    ///   - unit: Its unit.
    ///   - kind: `gauge` or `counter`.
    ///   - temporality: For a counter, how it counts.
    ///   - attributes: The series' attributes.
    ///   - startTimeUnixNano: A cumulative counter's start, 0 when unknown.
    ///   - timeUnixNano: When it was read.
    ///   - value: The value.
    public init(
        name: String,
        unit: String = "",
        kind: Kind,
        temporality: Temporality = .delta,
        attributes: [String: String] = [:],
        startTimeUnixNano: Int64 = 0,
        timeUnixNano: Int64,
        value: Double
    ) {
        self.name = name
        self.unit = unit
        self.kind = kind
        self.temporality = temporality
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.value = value
        self.histogram = nil
    }

    /// Creates a histogram reading.
    ///
    /// - Parameters:
    ///   - name: The metric.
    ///   - unit: Its unit.
    ///   - temporality: How it counts.
    ///   - attributes: The series' attributes.
    ///   - startTimeUnixNano: A cumulative histogram's start, 0 when unknown.
    ///   - timeUnixNano: When it was read.
    ///   - histogram: The reading.
    public init(
        name: String,
        unit: String = "",
        temporality: Temporality,
        attributes: [String: String] = [:],
        startTimeUnixNano: Int64 = 0,
        timeUnixNano: Int64,
        histogram: Histogram
    ) {
        self.name = name
        self.unit = unit
        self.kind = .histogram
        self.temporality = temporality
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.value = 0
        self.histogram = histogram
    }

    enum CodingKeys: String, CodingKey {
        case name, unit, kind, temporality, attributes, value, histogram
        case startTimeUnixNano = "start_time_unix_nano"
        case timeUnixNano = "time_unix_nano"
    }

    /// Creates one.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        unit = try container.decodeIfPresent(String.self, forKey: .unit) ?? ""
        kind = try container.decode(Kind.self, forKey: .kind)
        temporality = try container.decodeIfPresent(Temporality.self, forKey: .temporality) ?? .delta
        attributes = try container.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        startTimeUnixNano = try container.decodeIfPresent(Int64.self, forKey: .startTimeUnixNano) ?? 0
        timeUnixNano = try container.decode(Int64.self, forKey: .timeUnixNano)
        value = try container.decodeIfPresent(Double.self, forKey: .value) ?? 0
        histogram = try container.decodeIfPresent(Histogram.self, forKey: .histogram)
    }

    /// Encodes it as the wire format has it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        if !unit.isEmpty { try container.encode(unit, forKey: .unit) }
        try container.encode(kind, forKey: .kind)
        if kind != .gauge { try container.encode(temporality, forKey: .temporality) }
        if !attributes.isEmpty { try container.encode(attributes, forKey: .attributes) }
        if startTimeUnixNano != 0 { try container.encode(startTimeUnixNano, forKey: .startTimeUnixNano) }
        try container.encode(timeUnixNano, forKey: .timeUnixNano)
        if let histogram {
            try container.encode(histogram, forKey: .histogram)
        } else {
            try container.encode(value, forKey: .value)
        }
    }

    /// What is wrong with the reading, `nil` when nothing is: the rules every source's points meet (a batch with
    /// such a point is refused naming the field; an OTLP export has the point rejected in its partial success).
    ///
    /// The message says what is allowed; `field` is the part of the point at fault.
    public var problem: (field: String, message: String)? {
        if name.isEmpty { return ("name", "must not be empty") }
        if name.utf8.count > Self.maxNameBytes {
            return ("name", "is \(name.utf8.count) bytes long; at most \(Self.maxNameBytes) are allowed")
        }
        if unit.utf8.count > Self.maxUnitBytes {
            return ("unit", "is \(unit.utf8.count) bytes long; at most \(Self.maxUnitBytes) are allowed")
        }
        if name.utf8.contains(0) || unit.utf8.contains(0) { return ("name", "must not contain NUL characters") }
        if attributes.count > Self.maxAttributes {
            return ("attributes", "\(attributes.count) attributes; at most \(Self.maxAttributes) are allowed")
        }
        for (key, value) in attributes
        where key.isEmpty || key.utf8.count > Self.maxAttributeBytes || value.utf8.count > Self.maxAttributeBytes
            || key.utf8.contains(0) || value.utf8.contains(0)
        {
            return (
                "attributes",
                "an attribute's key must be 1 to \(Self.maxAttributeBytes) bytes and its value at most as long, without NUL"
            )
        }
        if timeUnixNano <= 0 { return ("time_unix_nano", "must be a positive Unix time in nanoseconds") }
        if startTimeUnixNano < 0 || startTimeUnixNano > timeUnixNano {
            return ("start_time_unix_nano", "must be 0 (unknown) or a time no later than time_unix_nano")
        }
        switch kind {
        case .gauge, .counter:
            guard histogram == nil else { return ("histogram", "only a histogram has one") }
            guard value.isFinite, abs(value) <= Self.maxMagnitude else {
                return (
                    "value", "must be a finite number of magnitude at most 1e300 (NaN and infinities are not values)"
                )
            }
            if kind == .counter && value < 0 { return ("value", "a counter counts up: it must not be negative") }
        case .histogram:
            guard let histogram else { return ("histogram", "a histogram reading needs its buckets") }
            return Self.problem(histogram)
        }
        return nil
    }

    /// Values beyond it are refused, so that sums of a minute's readings stay finite.
    public static let maxMagnitude = 1e300

    private static func problem(_ histogram: Histogram) -> (field: String, message: String)? {
        let bounds = histogram.bounds
        guard bounds.count + 1 <= maxBuckets else {
            return ("histogram.bounds", "\(bounds.count) bounds; at most \(maxBuckets - 1) are allowed")
        }
        guard histogram.counts.count == bounds.count + 1 else {
            return ("histogram.counts", "must have one count more than there are bounds (\(bounds.count + 1))")
        }
        guard bounds.allSatisfy({ $0.isFinite && abs($0) <= maxMagnitude }),
            zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 })
        else {
            return ("histogram.bounds", "must be finite and strictly increasing")
        }
        var total: UInt64 = 0
        for count in histogram.counts {
            let (sum, overflow) = total.addingReportingOverflow(count)
            guard !overflow, sum <= 1_000_000_000_000 else {
                return ("histogram.counts", "add up to more than 10^12 observations")
            }
            total = sum
        }
        guard total == histogram.count else {
            return ("histogram.count", "is \(histogram.count) but the bucket counts add up to \(total)")
        }
        for (field, value) in [("sum", histogram.sum), ("min", histogram.min), ("max", histogram.max)] {
            if let value, !(value.isFinite && abs(value) <= maxMagnitude) {
                return ("histogram.\(field)", "must be a finite number of magnitude at most 1e300")
            }
        }
        if let min = histogram.min, let max = histogram.max, min > max {
            return ("histogram.min", "is greater than max")
        }
        return nil
    }
}
