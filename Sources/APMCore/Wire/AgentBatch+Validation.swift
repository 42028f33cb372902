extension AgentBatch {
    /// Limits a batch must respect, enforced by ``validate(now:limits:)``.
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
        func fail(_ field: String, _ message: String) -> WireFormatError {
            WireFormatError(.invalidValue, field: field, message: message)
        }
        func checkName(_ value: String, _ field: String) throws {
            if value.isEmpty { throw fail(field, "must not be empty") }
            if value.utf8.count > limits.maxNameLength {
                throw fail(field, "is \(value.utf8.count) bytes long; at most \(limits.maxNameLength) are allowed")
            }
        }
        func checkDuration(_ value: Double, _ field: String) throws {
            guard value.isFinite, value >= 0 else { throw fail(field, "must be a non-negative number, got \(value)") }
            guard value <= limits.maxDuration * 1e7 else { throw fail(field, "\(value) s is not a plausible duration") }
        }
        func checkTime(_ value: Double, _ field: String) throws {
            guard value.isFinite else { throw fail(field, "must be a finite number") }
            if value > now + limits.maxFutureSkew {
                throw fail(
                    field,
                    "\(Int64(value)) is more than \(Int(limits.maxFutureSkew)) s in the future; check the agent host's clock"
                )
            }
            if value < now - limits.maxAge {
                throw fail(field, "\(Int64(value)) is older than the \(Int(limits.maxAge / 86_400))-day limit")
            }
        }

        guard version == Self.currentVersion else {
            throw WireFormatError(.unsupportedVersion, field: "version", message: "version \(version) is not supported")
        }
        guard (8...128).contains(batchID.utf8.count),
            batchID.utf8.allSatisfy({
                $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || ($0 >= 48 && $0 <= 57)
                    || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122)
            })
        else {
            throw fail("batch_id", "must be 8 to 128 characters of letters, digits, '-' or '_' (a UUID)")
        }
        try checkName(agent.appName, "agent.app_name")
        guard agent.appName.utf8.count <= 255 else { throw fail("agent.app_name", "at most 255 bytes are allowed") }
        guard ApdexThreshold(seconds: apdexT) != nil else {
            throw fail("apdex_t", "must be a positive number of seconds, got \(apdexT)")
        }
        try checkTime(createdAt, "created_at")
        guard intervals.count <= limits.maxIntervals else {
            throw fail("intervals", "\(intervals.count) intervals; at most \(limits.maxIntervals) are allowed")
        }
        for (i, interval) in intervals.enumerated() {
            let base = "intervals[\(i)]"
            guard interval.start % 60 == 0 else {
                throw fail("\(base).start", "must be a multiple of 60 (a minute's start)")
            }
            try checkTime(Double(interval.start), "\(base).start")
            for (j, metric) in interval.transactions.enumerated() {
                let field = "\(base).transactions[\(j)]"
                try checkName(metric.name, "\(field).name")
                guard metric.count > 0 else { throw fail("\(field).count", "must be at least 1") }
                guard metric.errorCount <= metric.count else {
                    throw fail("\(field).error_count", "\(metric.errorCount) errors exceed count \(metric.count)")
                }
                guard metric.satisfied &+ metric.tolerating &+ metric.frustrated == metric.count else {
                    throw fail(
                        "\(field)",
                        "satisfied + tolerating + frustrated = \(metric.satisfied + metric.tolerating + metric.frustrated) must equal count \(metric.count)"
                    )
                }
                guard metric.frustrated >= metric.errorCount else {
                    throw fail("\(field).frustrated", "every error is frustrated, so frustrated must be ≥ error_count")
                }
                guard ApdexThreshold(seconds: metric.apdexT) != nil else {
                    throw fail("\(field).apdex_t", "must be a positive number of seconds, got \(metric.apdexT)")
                }
                try checkDuration(metric.totalDuration, "\(field).total_duration")
                try checkDuration(metric.minDuration, "\(field).min_duration")
                try checkDuration(metric.maxDuration, "\(field).max_duration")
                guard metric.maxDuration <= limits.maxDuration else {
                    throw fail(
                        "\(field).max_duration",
                        "\(metric.maxDuration) s exceeds the \(Int(limits.maxDuration)) s limit"
                    )
                }
                guard metric.minDuration <= metric.maxDuration else {
                    throw fail("\(field).min_duration", "must not exceed max_duration")
                }
                guard metric.sumOfSquares.isFinite, metric.sumOfSquares >= 0 else {
                    throw fail("\(field).sum_of_squares", "must be a non-negative number")
                }
                for (key, value) in [
                    ("database", metric.breakdown.database), ("external", metric.breakdown.external),
                    ("application", metric.breakdown.application),
                ] {
                    try checkDuration(value, "\(field).breakdown.\(key)")
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
            for (j, metric) in interval.segments.enumerated() {
                let field = "\(base).segments[\(j)]"
                try checkName(metric.transaction, "\(field).transaction")
                try checkName(metric.name, "\(field).name")
                guard metric.count > 0 else { throw fail("\(field).count", "must be at least 1") }
                guard metric.errorCount <= metric.count else { throw fail("\(field).error_count", "exceeds count") }
                try checkDuration(metric.totalDuration, "\(field).total_duration")
                try checkDuration(metric.exclusiveDuration, "\(field).exclusive_duration")
                try checkDuration(metric.minDuration, "\(field).min_duration")
                try checkDuration(metric.maxDuration, "\(field).max_duration")
                guard metric.minDuration <= metric.maxDuration else {
                    throw fail("\(field).min_duration", "must not exceed max_duration")
                }
                if let statement = metric.slowestStatement {
                    guard statement.utf8.count <= 4096 else {
                        throw fail(
                            "\(field).slowest_statement",
                            "is \(statement.utf8.count) bytes long; at most 4096 are allowed"
                        )
                    }
                    guard let duration = metric.slowestStatementDuration else {
                        throw fail("\(field).slowest_statement_duration", "is required with slowest_statement")
                    }
                    try checkDuration(duration, "\(field).slowest_statement_duration")
                    guard duration <= metric.maxDuration * (1 + 1e-9) + 1e-9 else {
                        throw fail("\(field).slowest_statement_duration", "must not exceed max_duration")
                    }
                }
            }
        }
        for (i, trace) in traces.enumerated() {
            let field = "traces[\(i)]"
            try checkName(trace.transaction, "\(field).transaction")
            try checkTime(trace.start, "\(field).start")
            try checkDuration(trace.duration, "\(field).duration")
            for (j, segment) in trace.segments.enumerated() {
                try checkDuration(segment.duration, "\(field).segments[\(j)].duration")
                try checkDuration(segment.offset, "\(field).segments[\(j)].offset")
                if let parent = segment.parent, !(0..<j).contains(parent) {
                    throw fail("\(field).segments[\(j)].parent", "must be the index of an earlier segment")
                }
            }
        }
        for (i, error) in errors.enumerated() {
            try checkTime(error.timestamp, "errors[\(i)].timestamp")
            try checkName(error.type, "errors[\(i)].type")
        }
    }
}
