import APMCore
import Foundation

/// Turns OTLP spans into the agent's batch format, so that apps in any language instrumented with
/// OpenTelemetry get the same transactions, breakdown, Apdex, traces and errors as Swift apps with APMAgent.
///
/// The mapping is the agent's tracer's: a span of kind server is a web transaction named
/// `METHOD <http.route>` (its name when there is no route), of kind consumer or a root span of kind internal a
/// background transaction; below a transaction, a span with `db.system.name` (or `db.system`) is a datastore
/// segment, a client span with an HTTP method an external segment, any other a custom segment. A child span
/// belongs to the nearest transaction span above it *in the same export*; exporters send a request's spans
/// together, and the few whose transaction is not in the export are reported back as rejected (OTLP's partial
/// success), not guessed at.
enum OTLPTranslator {
    /// The batches of one export (one per resource, that is per service) and what could not be used.
    struct Translation {
        var batches: [AgentBatch] = []
        var spans = 0
        var rejectedSpans = 0
        var rejectionReasons: [String] = []
    }

    /// Translates an export.
    ///
    /// - Parameters:
    ///   - request: The decoded export.
    ///   - digest: A digest of the request body: the batch ids derive from it, so a retried export counts once.
    ///   - receivedAt: The collector's time, the batches' creation time.
    ///   - apdex: The app's T and per-transaction Ts, by app name.
    /// - Returns: The batches and the rejected spans.
    static func translate(
        _ request: OTLPExportRequest,
        digest: String,
        receivedAt: Double,
        apdex: (String) -> (app: Double, transactions: [String: Double])
    ) -> Translation {
        var translation = Translation()
        if request.droppedSpans > 0 {
            translation.spans = request.droppedSpans
            translation.rejectedSpans = request.droppedSpans
            translation.rejectionReasons.append("spans need traceId and spanId")
        }
        for (index, resourceSpans) in (request.resourceSpans ?? []).enumerated() {
            let resource = attributes(resourceSpans.resource?.attributes)
            let appName = String((resource["service.name"] ?? "unknown_service").prefix(255))
            let spans = (resourceSpans.scopeSpans ?? []).flatMap { $0.spans ?? [] }
            guard !spans.isEmpty else { continue }
            translation.spans += spans.count
            let settings = apdex(appName)
            var service = Service(appName: appName, settings: settings, receivedAt: receivedAt)
            service.add(spans)
            translation.rejectedSpans += service.rejected
            translation.rejectionReasons += service.reasons
            guard !service.isEmpty else { continue }
            translation.batches.append(
                service.batch(
                    id: "otlp-\(digest)-\(index)",
                    createdAt: receivedAt,
                    identity: AgentIdentity(
                        appName: appName,
                        environment: resource["deployment.environment.name"] ?? resource["deployment.environment"]
                            ?? "",
                        host: String((resource["host.name"] ?? "").prefix(255)),
                        pid: Int(resource["process.pid"] ?? "") ?? 0,
                        language: String((resource["telemetry.sdk.language"] ?? "otlp").prefix(40)),
                        agentVersion: String(
                            ("otlp " + (resource["telemetry.sdk.name"] ?? "") + " "
                                + (resource["telemetry.sdk.version"] ?? "")).prefix(100)
                        )
                    )
                )
            )
        }
        return translation
    }

    static func attributes(_ list: [OTLPExportRequest.KeyValue]?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in list ?? [] {
            if let text = pair.value?.text { result[pair.key] = text }
        }
        return result
    }

    /// A span read and checked: ids as hex, times, attributes.
    struct ReadSpan {
        var traceID: String
        var spanID: String
        var parentID: String
        var name: String
        var kind: Int
        var start: UInt64
        var end: UInt64
        var conventions: SpanConventions
        var failed: Bool
        var exception: (type: String, message: String, stack: [String], at: UInt64)?

        var duration: UInt64 { end - start }
        var isTransaction: Bool { kind == 2 || kind == 5 || (parentID.isEmpty && kind != 3 && kind != 4) }
    }

    /// One service's spans, aggregated as the agent aggregates.
    struct Service {
        let appName: String
        let settings: (app: Double, transactions: [String: Double])
        var rejected = 0
        var reasons: [String] = []
        var transactions: [TransactionKey: TransactionAccumulator] = [:]
        var segments: [SegmentMetricKey: SegmentMetric] = [:]
        var traces: [TransactionTrace] = []
        var errors: [ErrorSample] = []

        struct TransactionKey: Hashable {
            var minute: Int64
            var name: String
            var kind: TransactionKind
        }

        struct SegmentMetricKey: Hashable {
            var minute: Int64
            var transaction: String
            var name: String
        }

        struct TransactionAccumulator {
            var apdex = ApdexCounts()
            var count: UInt64 = 0
            var errors: UInt64 = 0
            var total = 0.0
            var minimum = Double.infinity
            var maximum = 0.0
            var squares = 0.0
            var database = 0.0
            var external = 0.0
            var histogram = LatencyHistogram()
            var errorHistogram = LatencyHistogram()
        }

        var isEmpty: Bool { transactions.isEmpty }

        /// The collector's time: spans the batch validation would refuse are rejected one by one instead, so
        /// that one odd span does not cost the whole export.
        let receivedAt: Double

        init(appName: String, settings: (app: Double, transactions: [String: Double]), receivedAt: Double) {
            self.appName = appName
            self.settings = settings
            self.receivedAt = receivedAt
        }

        mutating func reject(_ reason: String, count: Int = 1) {
            rejected += count
            if !reasons.contains(reason) { reasons.append(reason) }
        }

        mutating func add(_ raw: [OTLPExportRequest.Span]) {
            var spans: [ReadSpan] = []
            spans.reserveCapacity(raw.count)
            for span in raw {
                guard let read = Self.read(span) else {
                    reject("spans need traceId, spanId, startTimeUnixNano and endTimeUnixNano, end not before start")
                    continue
                }
                let limits = AgentBatch.ValidationLimits.default
                // A minute's margin inside the batch limits, which apply to the minute a span ends in.
                guard Self.seconds(read.end) > receivedAt - limits.maxAge + 120,
                    Self.seconds(read.end) < receivedAt + limits.maxFutureSkew - 60,
                    Self.seconds(read.duration) <= limits.maxDuration
                else {
                    reject("spans that ended more than 7 days ago or over 10 minutes ahead, or lasted over a day")
                    continue
                }
                if let exception = read.exception, exception.type.isEmpty {
                    reject("spans with an exception event whose exception.type is empty")
                    continue
                }
                spans.append(read)
            }
            var byID: [String: Int] = [:]
            for (index, span) in spans.enumerated() { byID[span.traceID + span.spanID] = index }
            // The transaction of every span: itself, or the nearest transaction span above it.
            var owner = [Int?](repeating: nil, count: spans.count)
            var children = [[Int]](repeating: [], count: spans.count)
            for index in spans.indices {
                var current = index
                for _ in 0..<64 {
                    if spans[current].isTransaction {
                        owner[index] = current
                        break
                    }
                    guard let parent = byID[spans[current].traceID + spans[current].parentID] else { break }
                    current = parent
                }
                if !spans[index].isTransaction, let parent = byID[spans[index].traceID + spans[index].parentID] {
                    children[parent].append(index)
                }
            }
            var segmentsOf = [Int: [Int]]()
            for index in spans.indices where !spans[index].isTransaction {
                guard let transaction = owner[index] else {
                    reject("spans whose transaction (server, consumer or root span) is not in the same export")
                    continue
                }
                segmentsOf[transaction, default: []].append(index)
            }
            // Each segment's own time: its duration less its children's.
            let exclusive = spans.indices.map { index in
                max(
                    0,
                    Self.seconds(spans[index].duration)
                        - children[index].reduce(0.0) { $0 + Self.seconds(spans[$1].duration) }
                )
            }
            for index in spans.indices where spans[index].isTransaction {
                let own = segmentsOf[index] ?? []
                addTransaction(spans[index], segments: own.map { (spans[$0], exclusive[$0]) })
            }
        }

        static func read(_ span: OTLPExportRequest.Span) -> ReadSpan? {
            guard let traceID = hexID(span.traceId, bytes: 16), let spanID = hexID(span.spanId, bytes: 8),
                let start = span.startTimeUnixNano?.value, let end = span.endTimeUnixNano?.value, end >= start,
                start > 946_684_800_000_000_000
            else { return nil }
            let parent = span.parentSpanId.flatMap { $0.isEmpty ? nil : hexID($0, bytes: 8) } ?? ""
            var exception: (type: String, message: String, stack: [String], at: UInt64)?
            for event in span.events ?? [] where event.name == "exception" {
                let details = OTLPTranslator.attributes(event.attributes)
                exception = (
                    String((details["exception.type"] ?? "Error").trimmingCharacters(in: .whitespaces).prefix(255)),
                    String((details["exception.message"] ?? "").prefix(4096)),
                    (details["exception.stacktrace"] ?? "").split(separator: "\n").prefix(100).map {
                        String($0.prefix(1024))
                    },
                    // The event's time if it falls within the span (it is only the error's time), else the end.
                    event.timeUnixNano.map(\.value).flatMap { (start...end).contains($0) ? $0 : nil } ?? end
                )
            }
            return ReadSpan(
                traceID: traceID,
                spanID: spanID,
                parentID: parent,
                name: String((span.name ?? "").prefix(1024)),
                kind: span.kind?.value ?? 0,
                start: start,
                end: end,
                conventions: SpanConventions(OTLPTranslator.attributes(span.attributes)),
                failed: span.status?.code?.value == 2,
                exception: exception
            )
        }

        /// Lowercase hex of an id given as hex or base64; `nil` when neither or all zero.
        static func hexID(_ text: String?, bytes: Int) -> String? {
            guard let text, !text.isEmpty else { return nil }
            let lower = text.lowercased()
            if lower.utf8.count == bytes * 2,
                lower.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
            {
                return lower.utf8.allSatisfy({ $0 == 48 }) ? nil : lower
            }
            guard let data = Data(base64Encoded: text), data.count == bytes, data.contains(where: { $0 != 0 }) else {
                return nil
            }
            return data.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
                .joined()
        }

        static func minute(_ nanoseconds: UInt64) -> Int64 {
            let seconds = Int64(nanoseconds / 1_000_000_000)
            return seconds - seconds % 60
        }

        static func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }

        mutating func addTransaction(_ span: ReadSpan, segments: [(span: ReadSpan, exclusive: Double)]) {
            let kind: TransactionKind = span.kind == 2 ? .web : .background
            var name = kind == .web ? span.conventions.webTransactionName(spanName: span.name) : span.name
            name = TransactionNameNormalizer.normalize(String((name.isEmpty ? "(unnamed)" : name).prefix(255)))
            let status = span.conventions.httpStatus ?? 0
            let failed = span.failed || status >= 500
            let duration = span.duration
            let t = settings.transactions[name] ?? settings.app
            let threshold = ApdexThreshold(seconds: t) ?? .default
            // Database and external time: each segment's own time, less its children's.
            var database = 0.0
            var external = 0.0
            // Each segment classified (and its statement obfuscated) once, for its metric and for the trace.
            let described = segments.map { Self.describe($0.span) }
            for (segment, description) in zip(segments, described) {
                switch description.category {
                case .datastore: database += segment.exclusive
                case .external: external += segment.exclusive
                case .custom: break
                }
            }
            let total = Self.seconds(duration)
            // Parallel segments can add up to more than the transaction: scale them down, as the agent does.
            let measured = database + external
            if measured > total && measured > 0 {
                database *= total / measured
                external *= total / measured
            }
            let key = TransactionKey(minute: Self.minute(span.end), name: name, kind: kind)
            var entry = transactions[key] ?? TransactionAccumulator()
            entry.count += 1
            if failed {
                entry.errors += 1
                entry.errorHistogram.record(seconds: total)
            }
            entry.apdex.record(threshold.zone(durationNanoseconds: duration, isError: failed))
            entry.total += total
            entry.minimum = min(entry.minimum, total)
            entry.maximum = max(entry.maximum, total)
            entry.squares += total * total
            entry.database += database
            entry.external += external
            entry.histogram.record(seconds: total)
            transactions[key] = entry

            for (segment, description) in zip(segments, described) {
                addSegment(
                    segment.span,
                    described: description,
                    exclusive: segment.exclusive,
                    transaction: name,
                    minute: key.minute
                )
            }
            if duration >= 4 * threshold.nanoseconds && traces.count < 20 {
                let traced = zip(segments, described).map { (span: $0.span, described: $1) }
                traces.append(trace(span, name: name, kind: kind, status: status, failed: failed, traced))
            }
            if failed && errors.count < 50 {
                let exception = span.exception ?? segments.compactMap(\.span.exception).first
                errors.append(
                    ErrorSample(
                        timestamp: Self.seconds(exception?.at ?? span.end),
                        transaction: name,
                        type: exception?.type ?? (status >= 500 ? "HTTP \(status)" : "Failed"),
                        message: exception?.message
                            ?? (status >= 500 ? "the response status was \(status)" : "the span's status was ERROR"),
                        stack: exception?.stack ?? [],
                        status: status,
                        traceID: span.traceID
                    )
                )
            }
        }

        /// The segment a span is, by the shared conventions, as the collector keeps it: the statement obfuscated,
        /// the URL without its query, names bounded.
        static func describe(_ span: ReadSpan) -> SpanConventions.Segment {
            var segment = span.conventions.segment(spanName: span.name, isClient: span.kind == 3)
            segment.system = String(segment.system.prefix(100))
            segment.operation = String(segment.operation.prefix(segment.category == .custom ? 255 : 100))
            segment.target = String(segment.target.prefix(100))
            if !segment.statement.isEmpty {
                segment.statement = SQLObfuscator.obfuscate(segment.statement, dialect: .forSystem(segment.system))
            }
            segment.url = String(
                SpanConventions.safeURL(segment.url)
            )
            return segment
        }

        mutating func addSegment(
            _ span: ReadSpan,
            described: SpanConventions.Segment,
            exclusive: Double,
            transaction: String,
            minute: Int64
        ) {
            let category = described.category
            let name = String(
                SegmentNaming.name(
                    category: category,
                    system: described.system,
                    operation: described.operation,
                    target: described.target
                ).prefix(255)
            )
            let seconds = Self.seconds(span.duration)
            let key = SegmentMetricKey(minute: minute, transaction: transaction, name: name)
            let statement = described.statement.isEmpty ? nil : String(described.statement.prefix(4000))
            var metric =
                segments[key]
                ?? SegmentMetric(
                    transaction: transaction,
                    name: name,
                    category: category,
                    system: String(described.system.prefix(100)),
                    operation: described.operation,
                    target: described.target,
                    count: 0,
                    totalDuration: 0,
                    exclusiveDuration: 0,
                    minDuration: seconds,
                    maxDuration: seconds
                )
            metric.count += 1
            if span.failed { metric.errorCount += 1 }
            metric.totalDuration += seconds
            metric.exclusiveDuration += exclusive
            metric.minDuration = min(metric.minDuration, seconds)
            metric.maxDuration = max(metric.maxDuration, seconds)
            if let statement, seconds >= (metric.slowestStatementDuration ?? -1) {
                metric.slowestStatement = statement
                metric.slowestStatementDuration = seconds
            }
            segments[key] = metric
        }

        func trace(
            _ span: ReadSpan,
            name: String,
            kind: TransactionKind,
            status: Int,
            failed: Bool,
            _ segments: [(span: ReadSpan, described: SpanConventions.Segment)]
        ) -> TransactionTrace {
            let ordered = segments.sorted { $0.span.start < $1.span.start }.prefix(500)
            var position: [String: Int] = [:]
            for (index, segment) in ordered.enumerated() { position[segment.span.spanID] = index }
            let traced = ordered.enumerated().map { index, entry -> TraceSegment in
                let (segment, described) = entry
                let category = described.category
                let parent = position[segment.parentID].flatMap { $0 < index ? $0 : nil }
                return TraceSegment(
                    parent: parent,
                    name: SegmentNaming.name(
                        category: category,
                        system: described.system,
                        operation: described.operation,
                        target: described.target
                    ),
                    category: category,
                    offset: Self.seconds(segment.start >= span.start ? segment.start - span.start : 0),
                    duration: Self.seconds(segment.duration),
                    statement: String(described.statement.prefix(4096)),
                    url: String(described.url.prefix(2048)),
                    isError: segment.failed
                )
            }
            return TransactionTrace(
                traceID: span.traceID,
                transaction: name,
                kind: kind,
                start: Self.seconds(span.start),
                duration: Self.seconds(span.duration),
                status: status,
                method: span.conventions.httpMethod ?? "",
                isError: failed,
                segments: traced,
                droppedSegments: segments.count - ordered.count
            )
        }

        func batch(id: String, createdAt: Double, identity: AgentIdentity) -> AgentBatch {
            var intervals: [Int64: MetricInterval] = [:]
            for (key, entry) in transactions {
                let t = settings.transactions[key.name] ?? settings.app
                let application = max(0, entry.total - entry.database - entry.external)
                intervals[key.minute, default: MetricInterval(start: key.minute)].transactions.append(
                    TransactionMetric(
                        name: key.name,
                        kind: key.kind,
                        count: entry.count,
                        errorCount: entry.errors,
                        apdexT: t,
                        satisfied: entry.apdex.satisfied,
                        tolerating: entry.apdex.tolerating,
                        frustrated: entry.apdex.frustrated,
                        totalDuration: entry.total,
                        minDuration: entry.minimum,
                        maxDuration: entry.maximum,
                        sumOfSquares: entry.squares,
                        breakdown: TimeBreakdown(
                            database: entry.database,
                            external: entry.external,
                            application: application
                        ),
                        histogram: entry.histogram,
                        errorHistogram: entry.errorHistogram
                    )
                )
            }
            for (key, metric) in segments {
                intervals[key.minute, default: MetricInterval(start: key.minute)].segments.append(metric)
            }
            return AgentBatch(
                batchID: id,
                agent: identity,
                createdAt: createdAt,
                apdexT: settings.app,
                intervals: intervals.values.sorted { $0.start < $1.start },
                traces: traces,
                errors: errors
            )
        }
    }
}
