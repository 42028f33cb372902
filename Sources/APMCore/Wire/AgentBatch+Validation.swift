extension AgentBatch {
    /// Limits a batch must respect, enforced by ``validate(now:limits:)``. Every number that comes from outside
    /// has a range here, so that no arithmetic or conversion on it can overflow (docs/protocol.md lists them).
    public struct ValidationLimits: Sendable, Hashable {
        /// Longest name (transaction, segment) in UTF-8 bytes.
        public var maxNameLength: Int = 1024
        /// Oldest accepted minute, relative to now (seconds). Default 7 days.
        public var maxAge: Double = 7 * 86_400
        /// Furthest accepted time ahead of now, for clock skew (seconds). Default 10 minutes.
        public var maxFutureSkew: Double = 600
        /// Longest accepted duration (seconds). Default 1 day.
        public var maxDuration: Double = 86_400
        /// Most minute intervals in one batch.
        public var maxIntervals: Int = 10_080
        /// Largest count of anything (transactions, errors, segment calls, drops) in one entry: 10^12, far
        /// above a real minute, and small enough that no sum of accepted values can overflow 64 bits.
        public var maxCount: UInt64 = 1_000_000_000_000
        /// Most transaction and segment entries, over all intervals, in one batch.
        public var maxMetricEntries: Int = 200_000
        /// Most labels in the agent's identity.
        public var maxLabels: Int = 64
        /// Most log records in one batch.
        public var maxLogRecords: Int = 50_000
        /// Most attributes of one log record (those past ``LogRecord/maxAttributes`` are dropped when stored).
        public var maxLogAttributes: Int = 256
        /// Most metric readings in one batch.
        public var maxMetricPoints: Int = 50_000

        /// The defaults.
        public static let `default` = ValidationLimits()

        /// Creates limits with the defaults.
        public init() {}
    }

    /// Checks every figure of the batch for consistency and plausibility.
    ///
    /// - Parameters:
    ///   - now: The current time (Unix seconds).
    ///   - limits: The limits to enforce.
    /// - Throws: ``WireFormatError`` naming the first field at fault and what is allowed.
    public func validate(now: Double, limits: ValidationLimits = .default) throws {
        let check = FieldChecks(now: now, limits: limits)
        guard version == Self.currentVersion else {
            throw WireFormatError(.unsupportedVersion, field: "version", message: "version \(version) is not supported")
        }
        guard (8...128).contains(batchID.utf8.count),
            batchID.utf8.allSatisfy({
                $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || ($0 >= 48 && $0 <= 57)
                    || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122)
            })
        else {
            throw check.fail("batch_id", "must be 8 to 128 characters of letters, digits, '-' or '_' (a UUID)")
        }
        try check.identity(agent)
        guard ApdexThreshold(seconds: apdexT) != nil else {
            throw check.fail("apdex_t", "must be \(ApdexThreshold.allowedDescription), got \(apdexT)")
        }
        try check.time(createdAt, "created_at")
        guard intervals.count <= limits.maxIntervals else {
            throw check.fail("intervals", "\(intervals.count) intervals; at most \(limits.maxIntervals) are allowed")
        }
        let entries = intervals.reduce(0) { $0 + $1.transactions.count + $1.segments.count }
        guard entries <= limits.maxMetricEntries else {
            throw check.fail(
                "intervals",
                "\(entries) transaction and segment entries; at most \(limits.maxMetricEntries) are allowed in one batch"
            )
        }
        for (i, interval) in intervals.enumerated() {
            let base = "intervals[\(i)]"
            try check.time(Double(interval.start), "\(base).start")
            guard interval.start % 60 == 0 else {
                throw check.fail("\(base).start", "must be a multiple of 60 (a minute's start)")
            }
            for (j, metric) in interval.transactions.enumerated() {
                try check.transaction(metric, "\(base).transactions[\(j)]")
            }
            for (j, metric) in interval.segments.enumerated() {
                try check.segment(metric, "\(base).segments[\(j)]")
            }
        }
        for (i, trace) in traces.enumerated() {
            try check.trace(trace, "traces[\(i)]")
        }
        for (i, error) in errors.enumerated() {
            let field = "errors[\(i)]"
            try check.time(error.timestamp, "\(field).timestamp")
            try check.name(error.type, "\(field).type")
            try check.name(error.transaction, "\(field).transaction")
            try check.status(error.status, "\(field).status")
            if let fingerprint = error.fingerprint { try check.text(fingerprint, "\(field).fingerprint", max: 255) }
        }
        try check.count(dropped.transactions, "dropped.transactions")
        try check.count(dropped.segments, "dropped.segments")
        try check.count(dropped.traces, "dropped.traces")
        try check.count(dropped.errors, "dropped.errors")
        try check.count(dropped.overflowedNames, "dropped.overflowed_names")
        try check.count(dropped.logs, "dropped.logs")
        guard logs.count <= limits.maxLogRecords else {
            throw check.fail(
                "logs",
                "\(logs.count) log records; at most \(limits.maxLogRecords) are allowed in one batch"
            )
        }
        for (i, record) in logs.enumerated() {
            let field = "logs[\(i)]"
            try check.time(Double(record.timeUnixNano) / 1e9, "\(field).time_unix_nano")
            if let traceID = record.traceID { try check.text(traceID, "\(field).trace_id", max: 64) }
            if let spanID = record.spanID { try check.text(spanID, "\(field).span_id", max: 64) }
            if let transaction = record.transaction {
                try check.text(transaction, "\(field).transaction", max: limits.maxNameLength)
            }
            guard record.attributes.count <= limits.maxLogAttributes else {
                throw check.fail(
                    "\(field).attributes",
                    "\(record.attributes.count) attributes; at most \(limits.maxLogAttributes) are allowed"
                )
            }
        }
        try check.metrics(metrics)
    }
}

/// The checks of one batch's fields. Messages never convert an outside number to an integer type: a value out
/// of range is described as it came, so that describing it cannot trap.
private struct FieldChecks {
    let now: Double
    let limits: AgentBatch.ValidationLimits

    /// Relative slack for sums of floating-point durations (an agent adds nanoseconds; OTLP adds doubles).
    private static let slack = 1e-6

    func fail(_ field: String, _ message: String) -> WireFormatError {
        WireFormatError(.invalidValue, field: field, message: message)
    }

    func metrics(_ metrics: [MetricPoint]) throws {
        guard metrics.count <= limits.maxMetricPoints else {
            throw fail(
                "metrics",
                "\(metrics.count) readings; at most \(limits.maxMetricPoints) are allowed in one batch"
            )
        }
        for (i, point) in metrics.enumerated() {
            if let problem = point.problem { throw fail("metrics[\(i)].\(problem.field)", problem.message) }
            try time(Double(point.timeUnixNano) / 1e9, "metrics[\(i)].time_unix_nano")
        }
    }

    func name(_ value: String, _ field: String) throws {
        if value.isEmpty { throw fail(field, "must not be empty") }
        try noNUL(value, field)
        if value.utf8.count > limits.maxNameLength {
            throw fail(field, "is \(value.utf8.count) bytes long; at most \(limits.maxNameLength) are allowed")
        }
    }

    /// No store keeps a NUL inside text the same way (PostgreSQL refuses it), and no name needs one.
    func noNUL(_ value: String, _ field: String) throws {
        if value.utf8.contains(0) { throw fail(field, "contains a NUL character (U+0000); names and texts may not") }
    }

    func text(_ value: String, _ field: String, max: Int) throws {
        try noNUL(value, field)
        if value.utf8.count > max {
            throw fail(field, "is \(value.utf8.count) bytes long; at most \(max) are allowed")
        }
    }

    func count(_ value: UInt64, _ field: String, atLeast minimum: UInt64 = 0) throws {
        guard value >= minimum, value <= limits.maxCount else {
            throw fail(field, "must be a whole number from \(minimum) to \(limits.maxCount), got \(value)")
        }
    }

    func integer(_ value: Int, _ field: String, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw fail(field, "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
    }

    func status(_ value: Int, _ field: String) throws {
        try integer(value, field, 0...999)
    }

    /// A duration of one thing (a call, a transaction): 0 to `maxDuration`.
    func duration(_ value: Double, _ field: String) throws {
        guard value.isFinite, value >= 0, value <= limits.maxDuration else {
            throw fail(field, "must be a number of seconds from 0 to \(Int(limits.maxDuration)), got \(value)")
        }
    }

    /// A sum of `count` durations each at most `max`: at most count × max (and non-negative).
    func sum(_ value: Double, _ field: String, count: UInt64, max: Double, min: Double = 0) throws {
        guard value.isFinite, value >= 0 else {
            throw fail(field, "must be a non-negative number of seconds, got \(value)")
        }
        let upper = Double(count) * max
        guard value <= upper * (1 + Self.slack) + Self.slack else {
            throw fail(field, "\(value) s is more than count × max_duration (\(count) × \(max) s)")
        }
        let lower = Double(count) * min
        guard value >= lower * (1 - Self.slack) - Self.slack else {
            throw fail(field, "\(value) s is less than count × min_duration (\(count) × \(min) s)")
        }
    }

    func time(_ value: Double, _ field: String) throws {
        guard value.isFinite else { throw fail(field, "must be a finite number of Unix seconds, got \(value)") }
        if value > now + limits.maxFutureSkew {
            throw fail(
                field,
                "\(value) is more than \(Int(limits.maxFutureSkew)) s in the future; check the agent host's clock"
            )
        }
        if value < now - limits.maxAge {
            throw fail(field, "\(value) is older than the \(Int(limits.maxAge / 86_400))-day limit")
        }
    }

    func identity(_ agent: AgentIdentity) throws {
        try name(agent.appName, "agent.app_name")
        try text(agent.appName, "agent.app_name", max: AgentIdentity.maxTextBytes)
        try text(agent.environment, "agent.environment", max: AgentIdentity.maxTextBytes)
        try text(agent.host, "agent.host", max: AgentIdentity.maxTextBytes)
        try text(agent.language, "agent.language", max: AgentIdentity.maxShortTextBytes)
        try text(agent.agentVersion, "agent.agent_version", max: AgentIdentity.maxShortTextBytes)
        try integer(agent.pid, "agent.pid", 0...Int(Int32.max))
        guard agent.labels.count <= limits.maxLabels else {
            throw fail("agent.labels", "\(agent.labels.count) labels; at most \(limits.maxLabels) are allowed")
        }
        for (key, value) in agent.labels {
            try text(key, "agent.labels", max: 255)
            try text(value, "agent.labels[\(key.prefix(64))]", max: 1024)
        }
    }

    func transaction(_ metric: TransactionMetric, _ field: String) throws {
        try name(metric.name, "\(field).name")
        try count(metric.count, "\(field).count", atLeast: 1)
        for (value, key) in [
            (metric.errorCount, "error_count"), (metric.satisfied, "satisfied"), (metric.tolerating, "tolerating"),
            (metric.frustrated, "frustrated"),
        ] {
            guard value <= metric.count else {
                throw fail("\(field).\(key)", "\(value) exceeds count \(metric.count)")
            }
        }
        // Each term is at most count ≤ 10^12 (checked above), so the sum cannot overflow.
        let classified = metric.satisfied + metric.tolerating + metric.frustrated
        guard classified == metric.count else {
            throw fail(
                field,
                "satisfied + tolerating + frustrated = \(classified) must equal count \(metric.count)"
            )
        }
        guard metric.frustrated >= metric.errorCount else {
            throw fail("\(field).frustrated", "every error is frustrated, so frustrated must be ≥ error_count")
        }
        guard ApdexThreshold(seconds: metric.apdexT) != nil else {
            throw fail("\(field).apdex_t", "must be \(ApdexThreshold.allowedDescription), got \(metric.apdexT)")
        }
        try duration(metric.minDuration, "\(field).min_duration")
        try duration(metric.maxDuration, "\(field).max_duration")
        guard metric.minDuration <= metric.maxDuration else {
            throw fail("\(field).min_duration", "must not exceed max_duration")
        }
        try sum(
            metric.totalDuration,
            "\(field).total_duration",
            count: metric.count,
            max: metric.maxDuration,
            min: metric.minDuration
        )
        try sum(
            metric.sumOfSquares,
            "\(field).sum_of_squares",
            count: metric.count,
            max: metric.maxDuration * metric.maxDuration
        )
        let breakdown = metric.breakdown
        for (value, key) in [
            (breakdown.database, "database"), (breakdown.external, "external"), (breakdown.application, "application"),
        ] {
            guard value.isFinite, value >= 0 else {
                throw fail("\(field).breakdown.\(key)", "must be a non-negative number of seconds, got \(value)")
            }
        }
        let tolerance = metric.totalDuration * Self.slack + Self.slack
        guard breakdown.database + breakdown.external <= metric.totalDuration + tolerance else {
            throw fail(
                "\(field).breakdown",
                "database + external (\(breakdown.database + breakdown.external) s) exceed total_duration (\(metric.totalDuration) s)"
            )
        }
        guard breakdown.application <= metric.totalDuration + tolerance else {
            throw fail(
                "\(field).breakdown.application",
                "\(breakdown.application) s exceeds total_duration (\(metric.totalDuration) s)"
            )
        }
        guard metric.errorHistogram.totalCount == metric.errorCount else {
            throw fail(
                "\(field).error_histogram",
                "holds \(metric.errorHistogram.totalCount) values; must equal error_count \(metric.errorCount)"
            )
        }
        guard metric.histogram.totalCount == metric.count else {
            throw fail(
                "\(field).histogram",
                "holds \(metric.histogram.totalCount) values; must equal count \(metric.count)"
            )
        }
    }

    func segment(_ metric: SegmentMetric, _ field: String) throws {
        try name(metric.transaction, "\(field).transaction")
        try name(metric.name, "\(field).name")
        try text(metric.system, "\(field).system", max: 255)
        try text(metric.operation, "\(field).operation", max: 1024)
        try text(metric.target, "\(field).target", max: 1024)
        try count(metric.count, "\(field).count", atLeast: 1)
        guard metric.errorCount <= metric.count else {
            throw fail("\(field).error_count", "\(metric.errorCount) exceeds count \(metric.count)")
        }
        try duration(metric.minDuration, "\(field).min_duration")
        try duration(metric.maxDuration, "\(field).max_duration")
        guard metric.minDuration <= metric.maxDuration else {
            throw fail("\(field).min_duration", "must not exceed max_duration")
        }
        try sum(
            metric.totalDuration,
            "\(field).total_duration",
            count: metric.count,
            max: metric.maxDuration,
            min: metric.minDuration
        )
        try sum(metric.exclusiveDuration, "\(field).exclusive_duration", count: metric.count, max: metric.maxDuration)
        guard metric.exclusiveDuration <= metric.totalDuration * (1 + Self.slack) + Self.slack else {
            throw fail("\(field).exclusive_duration", "must not exceed total_duration")
        }
        if let statement = metric.slowestStatement {
            try text(statement, "\(field).slowest_statement", max: 4096)
            guard let slowest = metric.slowestStatementDuration else {
                throw fail("\(field).slowest_statement_duration", "is required with slowest_statement")
            }
            try duration(slowest, "\(field).slowest_statement_duration")
            guard slowest <= metric.maxDuration * (1 + 1e-9) + 1e-9 else {
                throw fail("\(field).slowest_statement_duration", "must not exceed max_duration")
            }
        }
        // Empty: an agent from before segment histograms (its calls then have no percentiles).
        guard metric.histogram.isEmpty || metric.histogram.totalCount == metric.count else {
            throw fail(
                "\(field).histogram",
                "holds \(metric.histogram.totalCount) values; must equal count \(metric.count) (or be absent)"
            )
        }
    }

    func trace(_ trace: TransactionTrace, _ field: String) throws {
        try name(trace.transaction, "\(field).transaction")
        try text(trace.traceID, "\(field).trace_id", max: 64)
        try text(trace.method, "\(field).method", max: 32)
        try time(trace.start, "\(field).start")
        try duration(trace.duration, "\(field).duration")
        try status(trace.status, "\(field).status")
        try integer(trace.droppedSegments, "\(field).dropped_segments", 0...Int(limits.maxCount))
        for (j, segment) in trace.segments.enumerated() {
            try text(segment.name, "\(field).segments[\(j)].name", max: limits.maxNameLength)
            try duration(segment.duration, "\(field).segments[\(j)].duration")
            try duration(segment.offset, "\(field).segments[\(j)].offset")
            try status(segment.status, "\(field).segments[\(j)].status")
            if let parent = segment.parent, !(0..<j).contains(parent) {
                throw fail("\(field).segments[\(j)].parent", "must be the index of an earlier segment")
            }
        }
    }
}
