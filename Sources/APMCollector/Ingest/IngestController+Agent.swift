import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

extension IngestController {
    /// `POST /v1/agent/batches`, timed and counted by outcome.
    func ingest(_ request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await ingestBatch(request, context: context)
            metrics.ingestLatency.record(ContinuousClock.now - started)
            return response
        } catch let error as APIError {
            metrics.rejected(reason: error.code)
            throw error
        } catch let error as WireFormatError {
            metrics.rejected(reason: APIError.from(error).code)
            throw error
        }
    }

    /// An ingest request's key and body: size limits (before and while inflating), the content types accepted,
    /// gzip, deflate or identity, and the memory the request holds reserved in ``IngestMemoryBudget`` (the
    /// caller releases `reservation` once it has answered).
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - contentTypes: The media types accepted.
    ///   - defaultType: How a request without `Content-Type` is read.
    ///   - reservation: The request's share of the ingest memory budget.
    /// - Returns: The caller's key, the inflated body and its media type.
    func ingestBody(
        _ request: Request,
        context: Context,
        contentTypes: [String] = ["application/json"],
        defaultType: String = "application/json",
        reservation: IngestMemoryBudget.Reservation
    ) async throws -> (key: Identity, data: Data, mediaType: String) {
        let limits = configuration.limits
        let declaredLength = request.headers[.contentLength].flatMap { Int($0) }
        if let length = declaredLength, length > limits.maxBodyBytes {
            throw APIError(
                .contentTooLarge,
                code: "too_large",
                message: "the body is \(length) bytes; the limit is \(limits.maxBodyBytes) (max_body_mb)"
            )
        }
        let mediaType = try Self.mediaType(request, accepted: contentTypes) ?? defaultType
        let key = try context.require(.ingest)
        // The body is held twice while it is read (the buffer and its copy): reserved before it arrives.
        let expected = declaredLength ?? limits.maxBodyBytes
        try reservation.reserve(2 * expected)
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limits.maxBodyBytes)
        } catch {
            throw APIError(
                .contentTooLarge,
                code: "too_large",
                message: "the body exceeds the limit of \(limits.maxBodyBytes) bytes (max_body_mb)"
            )
        }
        var data = Data(buffer.readableBytesView)
        let inflateLimit = min(limits.maxDecompressedBytes, limits.perRequestMemoryBytes / 2)
        func inflate(_ format: Gzip.Format) throws {
            data = try Self.inflate(data, limit: inflateLimit, format: format, reservation: reservation)
        }
        switch request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity":
            if Gzip.isGzip(data) { try inflate(.gzip) }
        case "gzip", "x-gzip":
            try inflate(.gzip)
        case "deflate":
            try inflate(.zlib)
        case let other?:
            throw APIError(
                .unsupportedMediaType,
                code: "unsupported_encoding",
                message: "Content-Encoding \(other) is not supported; use gzip"
            )
        }
        // Parsing allocates before any limit of the decoded types applies: JSON an index of every value, protobuf
        // a copy of the bytes and the kept elements. Reserved (or refused) from an estimate made without allocating.
        let parseBytes: Int
        if mediaType == "application/json" {
            parseBytes = JSONValueCount.count(in: data) * JSONValueCount.bytesPerValue
        } else {
            parseBytes = data.count * 4
        }
        guard reservation.held + parseBytes <= limits.perRequestMemoryBytes else {
            throw APIError(
                .contentTooLarge,
                code: "too_large",
                message:
                    "parsing this body would take about \(parseBytes / 1_048_576) MiB (it holds \(mediaType == "application/json" ? "\(JSONValueCount.count(in: data)) JSON values" : "\(data.count) bytes")); one request may hold \(limits.perRequestMemoryBytes / 1_048_576) MiB (a quarter of ingest_memory_mb): send smaller batches"
            )
        }
        try reservation.reserve(parseBytes)
        return (key, data, mediaType)
    }

    /// Commits a validated batch through the pipeline (durable before it returns) and counts it.
    func submit(_ batch: AgentBatch, accountID: Int64) async throws -> IngestOutcome {
        let commitStarted = ContinuousClock.now
        let outcome = try await pipeline.submit(IngestItem(accountID: accountID, batch: batch, receivedAt: now()))
        metrics.storeLatency.record(ContinuousClock.now - commitStarted)
        if let rejection = outcome.rejection {
            throw APIError(.unprocessableContent, code: "app_limit", field: "agent.app_name", message: rejection)
        }
        if outcome.duplicate {
            metrics.duplicates.increment()
        } else {
            metrics.accepted.increment()
            // At most 200,000 entries of at most 10^12 each (validated): no overflow.
            metrics.transactionsIngested.increment(
                by: Int64(batch.intervals.reduce(0) { $0 + $1.transactions.reduce(0) { $0 + $1.count } })
            )
        }
        return outcome
    }

    private func ingestBatch(_ request: Request, context: Context) async throws -> Response {
        let reservation = IngestMemoryBudget.Reservation(memoryBudget)
        defer { reservation.releaseAll() }
        let (key, data, _) = try await ingestBody(request, context: context, reservation: reservation)
        var batch = try WireCoding.decodeBatch(data)
        try batch.validate(now: now())
        batch.applySampleCaps(configuration.limits.samples)
        if let header = request.headers[HTTPField.Name("X-APM-Batch-ID")!], header != batch.batchID {
            throw APIError.badRequest(
                "batch_id",
                "the X-APM-Batch-ID header (\(header.prefix(128))) differs from the body's batch_id (\(batch.batchID))"
            )
        }
        let outcome = try await submit(batch, accountID: key.accountID)
        let reply = IngestReply(
            batchID: batch.batchID,
            duplicate: outcome.duplicate,
            apdexT: outcome.apdexT,
            transactionApdexT: outcome.transactionApdexT
        )
        return try Self.json(reply, status: outcome.duplicate ? .ok : .accepted, encoder: WireCoding.makeEncoder())
    }

    /// `POST /v1/agent/process`: process samples and events from `apm run-program`, counted once per report id.
    func ingestProcess(_ request: Request, context: Context) async throws -> Response {
        let reservation = IngestMemoryBudget.Reservation(memoryBudget)
        defer { reservation.releaseAll() }
        let (key, data, _) = try await ingestBody(request, context: context, reservation: reservation)
        let report: ProcessReport
        do {
            report = try WireCoding.makeDecoder().decode(ProcessReport.self, from: data)
            try report.validate(now: now())
        } catch let error as DecodingError {
            throw WireFormatError(decodingError: error)
        }
        do {
            // The host's readings first, as a batch whose id is the report's: a retried report (its process part
            // already stored, or not) counts them once.
            if let batch = report.hostMetricsBatch { _ = try await submit(batch, accountID: key.accountID) }
            let stored = try await store.recordProcess(
                accountID: key.accountID,
                report: report,
                receivedAt: now(),
                maxApps: configuration.limits.cardinality.maxApps
            )
            return try Self.json(
                ProcessReportReply(appID: stored.appID, duplicate: stored.duplicate),
                status: stored.duplicate ? .ok : .accepted
            )
        } catch let error as StoreError where error.code == .appLimit {
            throw APIError(.unprocessableContent, code: "app_limit", field: "app_name", message: error.message)
        }
    }

    /// `GET /v1/agent/settings?app=NAME`: the app's Apdex T and per-transaction Ts, for an agent starting up
    /// (so that it classifies at the collector's T from its first transaction) and for `apm validate-config`
    /// (which checks the key with it). An app not seen yet has the default T.
    func agentSettings(_ request: Request, context: Context) async throws -> Response {
        let key = try context.require(.ingest)
        let name = request.queryFields["app"] ?? ""
        guard !name.isEmpty, name.utf8.count <= 255 else {
            throw APIError.badRequest("app", "must be the app's name (app_name), 1 to 255 bytes")
        }
        let app = try await store.apps(accountID: key.accountID).first { $0.name == name }
        return try Self.json(
            AgentSettingsReply(
                app: name,
                known: app != nil,
                apdexT: app?.apdexT ?? ApdexThreshold.default.seconds,
                transactionApdexT: app?.transactionApdexT ?? [:]
            ),
            encoder: WireCoding.makeEncoder()
        )
    }

    private static func inflate(
        _ data: Data,
        limit: Int,
        format: Gzip.Format,
        reservation: IngestMemoryBudget.Reservation
    ) throws -> Data {
        do {
            return try Gzip.decompress(data, maxOutputSize: limit, format: format) { chunk in
                try reservation.reserve(chunk)
            }
        } catch let error as WireFormatError {
            if error.code == .tooLarge {
                throw APIError(
                    .contentTooLarge,
                    code: "too_large",
                    message:
                        "the decompressed body exceeds the limit of \(limit) bytes (max_decompressed_mb, at most an eighth of ingest_memory_mb)"
                )
            }
            throw APIError(.badRequest, code: "malformed", message: error.message)
        }
    }
}

/// The answer to a process report.
struct ProcessReportReply: Encodable {
    var appID: Int64
    var duplicate: Bool

    enum CodingKeys: String, CodingKey {
        case appID = "app_id"
        case duplicate
    }
}
