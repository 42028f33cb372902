import APMCore
import Foundation

extension OTLPTranslator {
    /// One service's spans, aggregated as the agent aggregates.
    struct Service {
        let appName: String
        let settings: (app: Double, transactions: [String: Double])
        var transactions: [TransactionKey: TransactionAccumulator] = [:]
        var segments: [SegmentMetricKey: SegmentEntry] = [:]
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

        /// A segment as the collector names and describes it, and its calls.
        struct SegmentEntry {
            var described: SpanConventions.Segment
            var calls = SegmentAccumulator()
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
                let inChildren = children[index].reduce(UInt64(0)) { $0 &+ spans[$1].duration }
                return spans[index].duration > inChildren ? spans[index].duration - inChildren : 0
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

        mutating func addTransaction(_ span: ReadSpan, segments: [(span: ReadSpan, exclusive: UInt64)]) {
            let kind: TransactionKind = span.kind == 2 ? .web : .background
            var name = kind == .web ? span.conventions.webTransactionName(spanName: span.name) : span.name
            name = TransactionNameNormalizer.normalize(String((name.isEmpty ? "(unnamed)" : name).prefix(255)))
            let status = span.conventions.httpStatus ?? 0
            let failed = span.failed || status >= 500
            let duration = span.duration
            let t = settings.transactions[name] ?? settings.app
            let threshold = ApdexThreshold(seconds: t) ?? .default
            // Database and external time: each segment's own time, less its children's.
            var database: UInt64 = 0
            var external: UInt64 = 0
            // Each segment classified (and its statement obfuscated) once, for its metric and for the trace.
            let described = segments.map { Self.describe($0.span) }
            for (segment, description) in zip(segments, described) {
                switch description.category {
                case .datastore: database &+= segment.exclusive
                case .external: external &+= segment.exclusive
                case .custom: break
                }
            }
            let times = TimeBreakdown.categoryTimes(database: database, external: external, within: duration)
            let key = TransactionKey(minute: Self.minute(span.end), name: name, kind: kind)
            transactions[key, default: TransactionAccumulator(kind: kind)].record(
                duration: duration,
                zone: threshold.zone(durationNanoseconds: duration, isError: failed),
                isError: failed,
                database: times.database,
                external: times.external
            )

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
                if let exception = span.exception ?? segments.compactMap(\.span.exception).first {
                    errors.append(
                        ErrorSample(
                            timestamp: Self.seconds(exception.at),
                            transaction: name,
                            type: exception.type,
                            message: exception.message,
                            stack: exception.stack,
                            status: status,
                            traceID: span.traceID
                        )
                    )
                } else {
                    errors.append(
                        .failedTransaction(
                            timestamp: Self.seconds(span.end),
                            transaction: name,
                            status: status,
                            reason: "the span's status was ERROR",
                            traceID: span.traceID
                        )
                    )
                }
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
            exclusive: UInt64,
            transaction: String,
            minute: Int64
        ) {
            var bounded = described
            bounded.system = String(described.system.prefix(100))
            let name = String(
                SegmentNaming.name(
                    category: bounded.category,
                    system: bounded.system,
                    operation: bounded.operation,
                    target: bounded.target
                ).prefix(255)
            )
            let key = SegmentMetricKey(minute: minute, transaction: transaction, name: name)
            segments[key, default: SegmentEntry(described: bounded)].calls.record(
                duration: span.duration,
                exclusive: exclusive,
                isError: span.failed,
                statement: described.statement
            )
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
                intervals[key.minute, default: MetricInterval(start: key.minute)].transactions.append(
                    entry.metric(name: key.name, apdexT: settings.transactions[key.name] ?? settings.app)
                )
            }
            for (key, entry) in segments {
                let statement = entry.calls.slowestStatement
                intervals[key.minute, default: MetricInterval(start: key.minute)].segments.append(
                    entry.calls.metric(
                        transaction: key.transaction,
                        name: key.name,
                        category: entry.described.category,
                        system: entry.described.system,
                        operation: entry.described.operation,
                        target: entry.described.target,
                        statement: statement.isEmpty ? nil : statement
                    )
                )
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
