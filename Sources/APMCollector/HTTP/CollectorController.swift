import APMCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A group of the collector's routes (ingest, API, dashboard): what each offers as a `RouteCollection`, and the
/// request and response helpers they share, so that every controller reads bodies, parameters and ranges, and
/// writes JSON, the same way.
protocol CollectorController: Sendable {
    typealias Context = CollectorRequestContext

    /// The controller's routes, added to the router by ``Collector``.
    var endpoints: RouteCollection<Context> { get }
}

extension CollectorController {
    /// A whole-number query parameter within `range`, or `value` when absent.
    static func integer(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.queryFields[name] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// The time range of `since`, `from` and `to` (validated; at most 400 days).
    static func range(_ request: Request, queries: CollectorQueries, now: Double) throws -> TimeRange {
        let parameters = request.queryFields
        var since: Int64 = 1800
        if let text = parameters["since"] {
            guard let seconds = TimeRange.seconds(parsing: text) else {
                throw APIError.badRequest(
                    "since",
                    "must be a duration such as 30m, 1h, 24h or 7d (1 minute to 400 days), got \(text)"
                )
            }
            since = seconds
        }
        func time(_ name: String) throws -> Int64? {
            guard let text = parameters[name] else { return nil }
            guard let value = Int64(text), value > 946_684_800, value < 4_102_444_800 else {
                throw APIError.badRequest(name, "must be a Unix time in seconds, got \(text)")
            }
            return value
        }
        let from = try time("from")
        let to = try time("to")
        // Without `to` the range ends now: its span is capped all the same.
        let end = to ?? Int64(now)
        if let from, from >= end { throw APIError.badRequest("from", "must be before to (or now, without to)") }
        if let from, end - from > 400 * 86_400 {
            throw APIError.badRequest("from", "the range may span at most 400 days")
        }
        return queries.range(from: from, to: to, since: since)
    }

    /// A JSON body of at most 64 KiB, sent as `application/json`.
    static func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        // Exactly JSON (a form or text/plain, which a page of another site can send without asking, is refused).
        _ = try mediaType(request, accepted: ["application/json"])
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 64 * 1024)
        } catch {
            throw APIError(.contentTooLarge, code: "too_large", message: "the body exceeds 64 KiB")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            let wire = WireFormatError(decodingError: error)
            throw APIError(.badRequest, code: "invalid_value", field: wire.field, message: wire.message)
        }
    }

    /// The request's media type, exactly one of `accepted` (parameters such as `charset` aside); `nil` when the
    /// request names none.
    static func mediaType(_ request: Request, accepted: [String]) throws -> String? {
        guard let header = request.headers[.contentType] else { return nil }
        let type = (header.split(separator: ";", maxSplits: 1).first.map(String.init) ?? "")
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard accepted.contains(type) else {
            throw APIError(
                .unsupportedMediaType,
                code: "unsupported_media_type",
                message: "send Content-Type: \(accepted.joined(separator: " or ")), not \(header.prefix(100))"
            )
        }
        return type
    }

    /// A JSON answer with sorted keys (or `encoder`'s format), never cached.
    static func json(
        _ value: some Encodable,
        status: HTTPResponse.Status = .ok,
        encoder: JSONEncoder? = nil
    ) throws -> Response {
        try JSONReply.response(value, status: status, encoder: encoder)
    }

    /// A JSON answer of strings.
    static func json(_ value: [String: String]) -> Response {
        (try? JSONReply.response(value, status: .ok)) ?? Response(status: .ok)
    }
}

/// JSON answers, for the controllers and the collector's own endpoints alike.
enum JSONReply {
    static func response(
        _ value: some Encodable,
        status: HTTPResponse.Status = .ok,
        encoder: JSONEncoder? = nil
    ) throws -> Response {
        let encoder =
            encoder
            ?? {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                return encoder
            }()
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
        )
    }
}
