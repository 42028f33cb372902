import APMCore
import APMStorage
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

extension IngestController {
    /// `POST /v1/traces`: an OTLP/HTTP trace export, protobuf (the SDKs' default) or JSON. Its spans are read
    /// and checked at once (the rejected ones named in the answer, OTLP's partial success), kept in the store
    /// durably before the 200, and counted by the span settler once their trace has had `otlp_trace_wait` to
    /// arrive (see ``OTLPTranslator``). Idempotent: the export's id is a digest of its body, so a retried export
    /// counts once. With `otlp_trace_wait = 0` the export is turned into batches on its own, through the same
    /// pipeline as the agent's. The answer is in the request's encoding.
    func ingestOTLPTraces(_ request: Request, context: Context) async throws -> Response {
        try await withOTLPExport(
            request,
            context: context,
            protobuf: { try OTLPExportRequest(protobuf: $0) },
            json: { try OTLPExportRequest(json: $0) },
            ingest: { key, export, isProtobuf, digest in
                try await self.ingest(export, key: key, isProtobuf: isProtobuf, digest: digest)
            }
        )
    }

    /// The spans of a trace export: parked for their traces, or turned into batches at once.
    private func ingest(
        _ export: OTLPExportRequest,
        key: Identity,
        isProtobuf: Bool,
        digest: String
    ) async throws -> Response {
        let receivedAt = now()
        let wait = Double(configuration.otlp.traceWait.components.seconds)
        let total: Int
        let rejected: Int
        let reasons: [String]
        let warnings: [String]
        if wait > 0 {
            let read = OTLPTranslator.read(export, receivedAt: receivedAt, wait: wait)
            (total, rejected, reasons, warnings) = (read.total, read.rejected, read.reasons, read.warnings)
            try await park(read.spans, accountID: key.accountID, exportID: "otlp-\(digest)", receivedAt: receivedAt)
        } else {
            let apps = try await store.apps(accountID: key.accountID)
            let translation = OTLPTranslator.translate(export, digest: digest, receivedAt: receivedAt) { name in
                let app = apps.first { $0.name == name }
                return (app?.apdexT ?? ApdexThreshold.default.seconds, app?.transactionApdexT ?? [:])
            }
            for batch in translation.batches { try batch.validate(now: now()) }
            for var batch in translation.batches {
                batch.applySampleCaps(configuration.limits.samples)
                _ = try await submit(batch, accountID: key.accountID)
            }
            metrics.unmatchedSpans.increment(by: Int64(translation.unmatchedSpans))
            (total, rejected, reasons) = (translation.spans, translation.rejectedSpans, translation.rejectionReasons)
            warnings = translation.warnings
        }
        // OTLP's answer: empty, or a partial success naming what was not used and why; with no span rejected, a
        // message alone is a warning (what was cut to fit).
        var notes =
            rejected == 0 ? [] : ["\(rejected) of \(total) spans were not used: " + reasons.joined(separator: "; ")]
        notes += warnings + export.warnings
        let message = notes.joined(separator: "; ")
        return try Self.otlpAnswer(rejected: rejected, message: message, isProtobuf: isProtobuf, signal: "Spans")
    }

    /// Reads one OTLP/HTTP export of any signal and hands it to `ingest`, within the ingest memory budget (its
    /// reservation lasts until `ingest` returns): the body within the limits (protobuf, the SDKs' default, or
    /// JSON), decoded by `protobuf` or `json`, and the body's digest, which is the export's id (a retried export
    /// is stored once).
    func withOTLPExport<Export>(
        _ request: Request,
        context: Context,
        protobuf: (Data) throws -> Export,
        json: (Data) throws -> Export,
        ingest: (_ key: Identity, _ export: Export, _ isProtobuf: Bool, _ digest: String) async throws -> Response
    ) async throws -> Response {
        let reservation = IngestMemoryBudget.Reservation(memoryBudget)
        defer { reservation.releaseAll() }
        let (key, export, isProtobuf, digest) = try await readOTLPExport(
            request,
            context: context,
            reservation: reservation,
            protobuf: protobuf,
            json: json
        )
        return try await ingest(key, export, isProtobuf, digest)
    }

    private func readOTLPExport<Export>(
        _ request: Request,
        context: Context,
        reservation: IngestMemoryBudget.Reservation,
        protobuf: (Data) throws -> Export,
        json: (Data) throws -> Export
    ) async throws -> (key: Identity, export: Export, isProtobuf: Bool, digest: String) {
        let protobufTypes = ["application/x-protobuf", "application/protobuf"]
        let (key, data, mediaType) = try await ingestBody(
            request,
            context: context,
            contentTypes: protobufTypes + ["application/json"],
            reservation: reservation
        )
        let isProtobuf = protobufTypes.contains(mediaType)
        let export: Export
        do {
            export = isProtobuf ? try protobuf(data) : try json(data)
        } catch let error as DecodingError {
            throw WireFormatError(decodingError: error)
        }
        let digest = SHA256.hash(data: data).prefix(16).map { String(format: "%02x", $0) }.joined()
        return (key, export, isProtobuf, digest)
    }

    /// OTLP's answer to an export, in its encoding: empty, or a partial success with the count of what was not
    /// used (`rejectedSpans`, `rejectedLogRecords`: the same field numbers in every signal's protobuf) and why.
    static func otlpAnswer(rejected: Int, message: String, isProtobuf: Bool, signal: String) throws -> Response {
        if isProtobuf {
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-protobuf"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        bytes: OTLPProtobufResponse.encode(rejectedSpans: rejected, message: message)
                    )
                )
            )
        }
        guard !message.isEmpty else { return try Self.json([String: String](), status: .ok) }
        let partialSuccess: [String: String] = ["rejected\(signal)": String(rejected), "errorMessage": message]
        return try Self.json(["partialSuccess": partialSuccess], status: .ok)
    }

    /// `POST /v1/logs`: an OTLP/HTTP log export, protobuf or JSON. Its records are read within the limits, those
    /// with an impossible time are rejected (named in a partial success), and the rest are committed through the
    /// same pipeline as the agent's batches (one per app and host, ids from the body's digest: a retried export
    /// is stored once) before the 200.
    func ingestOTLPLogs(_ request: Request, context: Context) async throws -> Response {
        try await withOTLPExport(
            request,
            context: context,
            protobuf: { try OTLPLogsExport(protobuf: $0) },
            json: { try OTLPLogsExport(json: $0) },
            ingest: { key, export, isProtobuf, digest in
                try await self.ingest(export, key: key, isProtobuf: isProtobuf, digest: digest)
            }
        )
    }

    /// The records of a log export, committed as batches.
    private func ingest(
        _ export: OTLPLogsExport,
        key: Identity,
        isProtobuf: Bool,
        digest: String
    ) async throws -> Response {
        let receivedAt = now()
        let (batches, rejected, reasons) = export.batches(digest: digest, receivedAt: receivedAt)
        for batch in batches { try batch.validate(now: receivedAt) }
        for batch in batches { _ = try await submit(batch, accountID: key.accountID) }
        var notes =
            rejected == 0
            ? [] : ["\(rejected) of \(export.total) log records were not used: " + reasons.joined(separator: "; ")]
        if export.droppedAttributes > 0 {
            notes.append("\(export.droppedAttributes) attributes past the cap per record or resource were dropped")
        }
        return try Self.otlpAnswer(
            rejected: rejected,
            message: notes.joined(separator: "; "),
            isProtobuf: isProtobuf,
            signal: "LogRecords"
        )
    }

    /// `POST /v1/metrics`: an OTLP/HTTP metrics export, protobuf or JSON. Its points are read within the limits
    /// (``OTLPMetricsExport`` says which are read and how), and committed through the same pipeline as the
    /// agent's batches (one per app, host and process; ids from the body's digest: a retried export is stored
    /// once) before the 200. Points not read, or not stored (a new series past `max_metric_series`, a reading that
    /// does not match its series), are counted in a partial success with the reasons.
    func ingestOTLPMetrics(_ request: Request, context: Context) async throws -> Response {
        try await withOTLPExport(
            request,
            context: context,
            protobuf: { try OTLPMetricsExport(protobuf: $0) },
            json: { try OTLPMetricsExport(json: $0) },
            ingest: { key, export, isProtobuf, digest in
                try await self.ingest(export, key: key, isProtobuf: isProtobuf, digest: digest)
            }
        )
    }

    /// The points of a metrics export, committed as batches.
    private func ingest(
        _ export: OTLPMetricsExport,
        key: Identity,
        isProtobuf: Bool,
        digest: String
    ) async throws -> Response {
        var export = export
        let receivedAt = now()
        let total = export.total
        let batches = export.batches(digest: digest, receivedAt: receivedAt)
        for batch in batches { try batch.validate(now: receivedAt) }
        var rejected = export.rejected
        var reasons = export.reasons
        for batch in batches {
            let outcome = try await submit(batch, accountID: key.accountID)
            rejected += Int(clamping: outcome.metricPointsRefused)
            reasons.formUnion(outcome.metricRefusalReasons)
        }
        let message =
            rejected == 0
            ? "" : "\(rejected) of \(total) data points were not used: " + reasons.sorted().joined(separator: "; ")
        return try Self.otlpAnswer(rejected: rejected, message: message, isProtobuf: isProtobuf, signal: "DataPoints")
    }

    /// Keeps an export's spans in the store until their traces are settled (``settlePendingSpans()``): durable
    /// before the export is answered, once per export body.
    private func park(
        _ spans: [OTLPTranslator.ReadSpan],
        accountID: Int64,
        exportID: String,
        receivedAt: Double
    ) async throws {
        guard !spans.isEmpty else { return }
        let limit = configuration.otlp.maxPendingSpans
        guard try await pendingSpanCounter.current(store) + spans.count <= limit else {
            throw APIError.unavailable(
                "pending_spans_full",
                retryAfter: 5,
                "\(limit) spans are waiting for the rest of their traces (max_pending_spans); retry shortly"
            )
        }
        let encoder = JSONEncoder()
        let pending = try spans.map { span in
            PendingSpan(
                accountID: accountID,
                traceID: span.traceID,
                spanID: span.spanID,
                isTransaction: span.isTransaction,
                receivedAt: receivedAt,
                payload: try encoder.encode(span)
            )
        }
        if try await store.parkSpans(pending, accountID: accountID, exportID: exportID, receivedAt: receivedAt) {
            pendingSpanCounter.add(spans.count)
            metrics.pendingSpans.set(Double(try await pendingSpanCounter.current(store)))
        } else {
            metrics.duplicates.increment()
        }
    }
}
