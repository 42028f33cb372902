import APMCore
import Foundation

/// Turns OTLP spans into the agent's batch format, so that apps in any language instrumented with
/// OpenTelemetry get the same transactions, breakdown, Apdex, traces and errors as Swift apps with APMAgent.
///
/// The mapping is the agent's tracer's: a span of kind server is a web transaction named
/// `METHOD <http.route>` (`METHOD (unrouted)` without a route), of kind consumer or a root span of kind internal a
/// background transaction; below a transaction, a span with `db.system.name` (or `db.system`) is a datastore
/// segment, a client span with an HTTP method an external segment, any other a custom segment. A child span
/// belongs to the nearest transaction span above it.
///
/// Exporters do not send a request's spans together: the SDKs' batch processors export what has ended every few
/// seconds, so a request's database span is often in the export before its server span (or, when it ends
/// later, after it). The collector therefore reads and checks an export's spans at once (``read(_:receivedAt:)``)
/// but assembles transactions only once their trace has had `otlp_trace_wait` to arrive
/// (``assemble(_:receivedAt:isDue:apdex:)``, run by the span settler over spans kept in the store).
enum OTLPTranslator {
    /// An export's spans, read and checked, and what could not be used.
    struct ReadExport {
        var spans: [ReadSpan] = []
        var total = 0
        var rejected = 0
        var reasons: [String] = []
        /// What was used but changed (attributes cut to fit), for the answer's message.
        var warnings: [String] = []

        mutating func reject(_ reason: String, count: Int = 1) {
            rejected += count
            if !reasons.contains(reason) { reasons.append(reason) }
        }
    }

    /// Reads an export's spans: ids, times and attributes checked, each span with its resource (service).
    ///
    /// - Parameters:
    ///   - request: The decoded export.
    ///   - receivedAt: The collector's time.
    ///   - wait: How long the spans may wait for their trace before they are counted (widens the age check, so
    ///     that a span accepted now is still within the batch limits when it is settled).
    /// - Returns: The spans and the rejected ones.
    static func read(_ request: OTLPExportRequest, receivedAt: Double, wait: Double = 0) -> ReadExport {
        var export = ReadExport()
        if request.droppedSpans > 0 {
            export.total = request.droppedSpans
            export.reject("spans need traceId and spanId", count: request.droppedSpans)
        }
        if request.oversizeSpans > 0 {
            export.total += request.oversizeSpans
            export.reject(
                "spans with more than \(OTLPDecodeLimits.maxFieldsPerElement) fields (attributes, events, links) are not read",
                count: request.oversizeSpans
            )
        }
        let limits = AgentBatch.ValidationLimits.default
        for resourceSpans in request.resourceSpans ?? [] {
            let resource = attributes(resourceSpans.resource?.attributes)
            let (identity, cut) = Self.identityWithinLimits(resource)
            for name in cut {
                let warning =
                    "the resource attribute \(name) was cut to fit (service, host and environment: \(AgentIdentity.maxTextBytes) bytes; SDK name, version and language: \(AgentIdentity.maxShortTextBytes))"
                if !export.warnings.contains(warning) { export.warnings.append(warning) }
            }
            for scope in resourceSpans.scopeSpans ?? [] {
                for span in scope.spans ?? [] {
                    export.total += 1
                    guard let read = ReadSpan(span, resource: identity, receivedAt: receivedAt) else {
                        export.reject(
                            "spans need traceId, spanId, startTimeUnixNano and endTimeUnixNano, end not before start"
                        )
                        continue
                    }
                    // A minute's margin inside the batch limits (which apply to the minute a span ends in), and the
                    // wait for its trace.
                    let end = Service.seconds(read.end)
                    guard end > receivedAt - limits.maxAge + 120 + wait,
                        end < receivedAt + limits.maxFutureSkew - 60,
                        Service.seconds(read.duration) <= limits.maxDuration
                    else {
                        export.reject(
                            "spans that ended more than 7 days ago or over 10 minutes ahead, or lasted over a day"
                        )
                        continue
                    }
                    if let exception = read.exception, exception.type.isEmpty {
                        export.reject("spans with an exception event whose exception.type is empty")
                        continue
                    }
                    export.spans.append(read)
                }
            }
        }
        return export
    }

    /// The batches assembled from spans, and which spans they used.
    struct Assembly {
        var batches: [AgentBatch] = []
        /// Indices of the spans counted: due transactions and their segments.
        var consumed: [Int] = []
        /// Indices of due spans whose transaction is not among the spans.
        var unmatched: [Int] = []
        /// Transactions counted.
        var transactions = 0
    }

    /// Assembles transactions from spans: every due transaction span with all its segments among `spans`
    /// (whenever they arrived); due segments without their transaction are unmatched; the rest is left for later.
    ///
    /// - Parameters:
    ///   - spans: Spans of whole traces, as kept.
    ///   - receivedAt: The batches' creation time.
    ///   - batchID: The id of the n-th batch (one per resource).
    ///   - isDue: Whether a span has waited long enough.
    ///   - apdex: The app's T and per-transaction Ts, by app name.
    /// - Returns: The batches and the spans used.
    static func assemble(
        _ spans: [ReadSpan],
        receivedAt: Double,
        batchID: (Int) -> String,
        isDue: (ReadSpan) -> Bool,
        apdex: (String) -> (app: Double, transactions: [String: Double])
    ) -> Assembly {
        var assembly = Assembly()
        var groups: [AgentIdentity: [Int]] = [:]
        var order: [AgentIdentity] = []
        for (index, span) in spans.enumerated() {
            if groups[span.resource] == nil { order.append(span.resource) }
            groups[span.resource, default: []].append(index)
        }
        for identity in order {
            let indices = groups[identity] ?? []
            var service = Service(
                appName: identity.appName,
                settings: apdex(identity.appName),
                receivedAt: receivedAt
            )
            let used = service.add(indices.map { spans[$0] }, isDue: isDue)
            assembly.consumed += used.consumed.map { indices[$0] }
            assembly.unmatched += used.unmatched.map { indices[$0] }
            assembly.transactions += used.transactions
            guard !service.isEmpty else { continue }
            assembly.batches.append(
                service.batch(id: batchID(assembly.batches.count), createdAt: receivedAt, identity: identity)
            )
        }
        return assembly
    }

    /// The batches of one export taken alone (`otlp_trace_wait = 0`): a segment whose transaction is not in the
    /// same export is rejected (OTLP's partial success).
    struct Translation {
        var batches: [AgentBatch] = []
        var spans = 0
        var rejectedSpans = 0
        var unmatchedSpans = 0
        var rejectionReasons: [String] = []
        var warnings: [String] = []
    }

    /// Translates an export on its own.
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
        var read = read(request, receivedAt: receivedAt)
        let assembly = assemble(
            read.spans,
            receivedAt: receivedAt,
            batchID: { "otlp-\(digest)-\($0)" },
            isDue: { _ in true },
            apdex: apdex
        )
        if !assembly.unmatched.isEmpty {
            read.reject(
                "spans whose transaction (server, consumer or root span) is not in the same export",
                count: assembly.unmatched.count
            )
        }
        return Translation(
            batches: assembly.batches,
            spans: read.total,
            rejectedSpans: read.rejected,
            unmatchedSpans: assembly.unmatched.count,
            rejectionReasons: read.reasons,
            warnings: read.warnings
        )
    }

    /// The sender and the resource attributes that were cut to fit (named as OTLP names them).
    static func identityWithinLimits(_ resource: [String: String]) -> (identity: AgentIdentity, cut: [String]) {
        let sdk = ["telemetry.sdk.name", "telemetry.sdk.version"]
        let (identity, cut) = AgentIdentity(
            appName: resource["service.name"] ?? "unknown_service",
            environment: resource["deployment.environment.name"] ?? resource["deployment.environment"] ?? "",
            host: resource["host.name"] ?? "",
            pid: Int(resource["process.pid"] ?? "") ?? 0,
            language: resource["telemetry.sdk.language"] ?? "otlp",
            agentVersion: "otlp " + (resource["telemetry.sdk.name"] ?? "") + " "
                + (resource["telemetry.sdk.version"] ?? "")
        ).withinLimits()
        let names: [String: [String]] = [
            "app_name": ["service.name"], "environment": ["deployment.environment.name"], "host": ["host.name"],
            "language": ["telemetry.sdk.language"], "agent_version": sdk,
        ]
        return (identity, cut.flatMap { names[$0] ?? [$0] })
    }

    static func attributes(_ list: [OTLPExportRequest.KeyValue]?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in list ?? [] {
            if let text = pair.value?.text { result[pair.key] = text }
        }
        return result
    }

    /// An exception event of a span.
    struct SpanException: Codable, Hashable {
        var type: String
        var message: String
        var stack: [String]
        var at: UInt64
    }

    /// A span read and checked: ids as hex, times, attributes, its resource and when it arrived. Kept in the
    /// store (JSON) while it waits for its trace.
    struct ReadSpan: Codable, Hashable {
        var traceID: String
        var spanID: String
        var parentID: String
        var name: String
        var kind: Int
        var start: UInt64
        var end: UInt64
        var conventions: SpanConventions
        var failed: Bool
        var exception: SpanException?
        var resource: AgentIdentity
        var receivedAt: Double

        var duration: UInt64 { end - start }
        var isTransaction: Bool { kind == 2 || kind == 5 || (parentID.isEmpty && kind != 3 && kind != 4) }

        init?(_ span: OTLPExportRequest.Span, resource: AgentIdentity, receivedAt: Double) {
            guard let traceID = Service.hexID(span.traceId, bytes: 16),
                let spanID = Service.hexID(span.spanId, bytes: 8),
                let start = span.startTimeUnixNano?.value, let end = span.endTimeUnixNano?.value, end >= start,
                start > 946_684_800_000_000_000
            else { return nil }
            var exception: SpanException?
            for event in span.events ?? [] where event.name == "exception" {
                let details = OTLPTranslator.attributes(event.attributes)
                exception = SpanException(
                    type: String(
                        (details["exception.type"] ?? "Error").trimmingCharacters(in: .whitespaces).prefix(255)
                    ),
                    message: String((details["exception.message"] ?? "").prefix(4096)),
                    stack: (details["exception.stacktrace"] ?? "").split(separator: "\n").prefix(100).map {
                        String($0.prefix(1024))
                    },
                    // The event's time if it falls within the span (it is only the error's time), else the end.
                    at: event.timeUnixNano.map(\.value).flatMap { (start...end).contains($0) ? $0 : nil } ?? end
                )
            }
            self.traceID = traceID
            self.spanID = spanID
            self.parentID = span.parentSpanId.flatMap { $0.isEmpty ? nil : Service.hexID($0, bytes: 8) } ?? ""
            self.name = String((span.name ?? "").prefix(1024))
            self.kind = span.kind?.value ?? 0
            self.start = start
            self.end = end
            self.conventions = SpanConventions(OTLPTranslator.attributes(span.attributes))
            self.failed = span.status?.code?.value == 2
            self.exception = exception
            self.resource = resource
            self.receivedAt = receivedAt
        }
    }
}
