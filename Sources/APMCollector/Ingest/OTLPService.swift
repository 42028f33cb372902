import APMCore
import Foundation

extension OTLPTranslator {
    /// One service's spans, aggregated as the agent aggregates.
    struct Service {
        let appName: String
        let settings: (app: Double, transactions: [String: Double])
        var transactions: [TransactionKey: TransactionAccumulator] = [:]
        var segments: [SegmentMetricKey: SegmentMetric] = [:]
        var traces: [TransactionTrace] = []
        /// The slowest trace of each transaction name and minute of the export, for those without one over 4T,
        /// so that a transaction slow under 4T (the usual bad Apdex) has a trace too; at most ``maxNameTraces``.
        var nameTraces: [TransactionKey: TransactionTrace] = [:]
        var errors: [ErrorSample] = []

        /// Names and minutes given their slowest trace per export, as the agent's `max_name_traces`.
        static let maxNameTraces = 50

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

        /// Adds the due transactions among `spans` (of whole traces) with all their segments.
        ///
        /// - Parameters:
        ///   - spans: The spans.
        ///   - isDue: Whether a span has waited long enough for the rest of its trace.
        /// - Returns: Indices of the spans used and of due segments whose transaction is not among `spans`.
        mutating func add(
            _ spans: [ReadSpan],
            isDue: (ReadSpan) -> Bool
        ) -> (consumed: [Int], unmatched: [Int], transactions: Int) {
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
            var unmatched: [Int] = []
            for index in spans.indices where !spans[index].isTransaction {
                guard let transaction = owner[index] else {
                    if isDue(spans[index]) { unmatched.append(index) }
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
            var consumed: [Int] = []
            var transactions = 0
            for index in spans.indices where spans[index].isTransaction && isDue(spans[index]) {
                let own = segmentsOf[index] ?? []
                addTransaction(spans[index], segments: own.map { (spans[$0], exclusive[$0]) })
                consumed.append(index)
                consumed += own
                transactions += 1
            }
            return (consumed, unmatched, transactions)
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
            if duration >= threshold.frustratedAboveNanoseconds && traces.count < 20 {
                let traced = zip(segments, described).map { (span: $0.span, described: $1) }
                traces.append(trace(span, name: name, kind: kind, status: status, failed: failed, traced))
            } else if Self.seconds(duration) >= (nameTraces[key]?.duration ?? -1),
                nameTraces[key] != nil || nameTraces.count < Self.maxNameTraces
            {
                let traced = zip(segments, described).map { (span: $0.span, described: $1) }
                nameTraces[key] = trace(span, name: name, kind: kind, status: status, failed: failed, traced)
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
            metric.histogram.record(nanoseconds: span.duration)
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
                traces: traces
                    + nameTraces.values.filter { named in
                        !traces.contains { $0.transaction == named.transaction }
                    }.sorted { $0.start < $1.start },
                errors: errors
            )
        }
    }
}
