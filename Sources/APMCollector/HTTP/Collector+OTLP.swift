import APMCore
import APMStorage
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Collector {
    /// `POST /v1/traces`: an OTLP/HTTP trace export, protobuf (the SDKs' default) or JSON, turned into the
    /// agent's batches (see ``OTLPTranslator``) and stored through the same pipeline: validated, committed
    /// durably before the 200, and idempotent, each batch's id being derived from a digest of the body, so a
    /// retried export counts once. The answer is in the request's encoding.
    func ingestOTLPTraces(_ request: Request, context: Context) async throws -> Response {
        let protobufTypes = ["application/x-protobuf", "application/protobuf"]
        let reservation = IngestMemoryBudget.Reservation(memoryBudget)
        defer { reservation.releaseAll() }
        let (key, data, mediaType) = try await ingestBody(
            request,
            context: context,
            contentTypes: protobufTypes + ["application/json"],
            reservation: reservation
        )
        let isProtobuf = protobufTypes.contains(mediaType)
        let export: OTLPExportRequest
        do {
            export = isProtobuf ? try OTLPExportRequest(protobuf: data) : try OTLPExportRequest(json: data)
        } catch let error as DecodingError {
            throw APIError.from(WireFormatError(decodingError: error))
        } catch let error as WireFormatError {
            throw APIError.from(error)
        }
        let digest = SHA256.hash(data: data).prefix(16).map { String(format: "%02x", $0) }.joined()
        let apps = try await store.apps(accountID: key.accountID)
        let translation = OTLPTranslator.translate(export, digest: digest, receivedAt: now()) { name in
            let app = apps.first { $0.name == name }
            return (app?.apdexT ?? ApdexThreshold.default.seconds, app?.transactionApdexT ?? [:])
        }
        for batch in translation.batches {
            do {
                try batch.validate(now: now())
            } catch let error as WireFormatError {
                throw APIError.from(error)
            }
        }
        for var batch in translation.batches {
            batch.applySampleCaps(configuration.limits.samples)
            _ = try await submit(batch, accountID: key.accountID)
        }
        // OTLP's answer: empty, or a partial success naming what was not used and why.
        let message =
            translation.rejectedSpans == 0
            ? ""
            : "\(translation.rejectedSpans) of \(translation.spans) spans were not used: "
                + translation.rejectionReasons.joined(separator: "; ")
        if isProtobuf {
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-protobuf"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        bytes: OTLPProtobufResponse.encode(rejectedSpans: translation.rejectedSpans, message: message)
                    )
                )
            )
        }
        struct PartialSuccess: Encodable {
            var rejectedSpans: String
            var errorMessage: String
        }
        struct ExportResponse: Encodable {
            var partialSuccess: PartialSuccess?
        }
        let response = ExportResponse(
            partialSuccess: translation.rejectedSpans == 0
                ? nil : PartialSuccess(rejectedSpans: String(translation.rejectedSpans), errorMessage: message)
        )
        return try Self.json(response, status: .ok)
    }
}
