public import APMCore
import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore

/// An error answered as `{"error": {"code": …, "field": …, "message": …}}` with its HTTP status.
public struct APIError: HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A short machine-readable code, e.g. `invalid_value`.
    public var code: String
    /// The field or parameter at fault, empty when none.
    public var field: String
    /// What is wrong and how to fix it.
    public var message: String
    /// Extra header fields, such as `Retry-After` on a 503.
    public var headers: HTTPFields = [:]

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - status: The status.
    ///   - code: The code.
    ///   - field: The field.
    ///   - message: The message.
    public init(_ status: HTTPResponse.Status, code: String, field: String = "", message: String) {
        self.status = status
        self.code = code
        self.field = field
        self.message = message
    }

    /// The JSON body, also what clients (`apm`) decode.
    public struct Body: Codable, Sendable {
        /// The error.
        public struct Detail: Codable, Sendable {
            /// ``APIError/code``.
            public var code: String
            /// ``APIError/field``.
            public var field: String
            /// ``APIError/message``.
            public var message: String
        }
        /// The error.
        public var error: Detail
    }

    /// Builds the response.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - context: The context.
    /// - Returns: The JSON error response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        // Messages name URLs, paths and MIME types: keep their slashes readable.
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(Body(error: .init(code: code, field: field, message: message)))) ?? Data()
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(
            status: status,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// A 503 that tells the client when to come back: the collector is at a limit (memory, queue) that frees
    /// itself, so a retry after the delay succeeds.
    ///
    /// - Parameters:
    ///   - code: The code, e.g. `overloaded`.
    ///   - seconds: The `Retry-After` delay.
    ///   - message: What is full.
    /// - Returns: The error.
    static func unavailable(_ code: String, retryAfter seconds: Int, _ message: String) -> APIError {
        var error = APIError(.serviceUnavailable, code: code, message: message)
        error.headers[.retryAfter] = String(seconds)
        return error
    }

    static func badRequest(_ field: String, _ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_value", field: field, message: message)
    }

    static func from(_ error: WireFormatError) -> APIError {
        let status: HTTPResponse.Status = error.code == .tooLarge ? .contentTooLarge : .badRequest
        let code: String
        switch error.code {
        case .tooLarge: code = "too_large"
        case .malformed: code = "malformed"
        case .unsupportedVersion: code = "unsupported_version"
        default: code = "invalid_value"
        }
        return APIError(status, code: code, field: error.field, message: error.message)
    }
}

/// A batch, export or report that is not what the wire format says is answered by the handler that read it, as the
/// ``APIError`` it stands for (400, or 413 when too large), without a conversion in each handler.
extension WireFormatError: HTTPResponseError {
    /// 413 for a body too large, 400 otherwise.
    public var status: HTTPResponse.Status { APIError.from(self).status }

    /// The answer of the ``APIError`` this error stands for.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - context: Its context.
    /// - Returns: The JSON error answer.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try APIError.from(self).response(from: request, context: context)
    }
}
