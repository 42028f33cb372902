public import Foundation

/// JSON encoding and decoding of wire types, with the settings both sides must agree on.
public enum WireCoding {
    /// An encoder with sorted keys (stable output), no escaping of slashes, and histograms in their compact
    /// form.
    ///
    /// - Returns: A configured encoder.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .throw
        encoder.userInfo[.compactHistograms] = true
        return encoder
    }

    /// A decoder matching ``makeEncoder()``.
    ///
    /// - Returns: A configured decoder.
    public static func makeDecoder() -> JSONDecoder {
        JSONDecoder()
    }

    /// Decodes a batch and turns any decoding failure into a ``WireFormatError`` naming the field.
    ///
    /// - Parameter data: JSON bytes.
    /// - Returns: The batch.
    /// - Throws: ``WireFormatError`` with the path of the offending field.
    public static func decodeBatch(_ data: Data) throws -> AgentBatch {
        if let version = try? makeDecoder().decode(VersionProbe.self, from: data).version,
            version != AgentBatch.currentVersion
        {
            throw WireFormatError(
                .unsupportedVersion,
                field: "version",
                message:
                    "version \(version) is not supported; this collector reads version \(AgentBatch.currentVersion)"
            )
        }
        do {
            return try makeDecoder().decode(AgentBatch.self, from: data)
        } catch let error as DecodingError {
            throw WireFormatError(decodingError: error)
        }
    }

    private struct VersionProbe: Decodable {
        var version: Int
    }
}

extension WireFormatError {
    /// Describes a `DecodingError` with the JSON path of the field at fault.
    ///
    /// - Parameter decodingError: The error thrown by `JSONDecoder`.
    public init(decodingError: DecodingError) {
        func path(_ codingPath: [any CodingKey]) -> String {
            var result = ""
            for key in codingPath {
                if let index = key.intValue {
                    result += "[\(index)]"
                } else {
                    result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return result
        }
        switch decodingError {
        case .typeMismatch(let type, let context):
            self.init(.invalidValue, field: path(context.codingPath), message: "expected \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            self.init(
                .invalidValue,
                field: path(context.codingPath),
                message: "expected \(Self.describe(type)), got null"
            )
        case .keyNotFound(let key, let context):
            self.init(.invalidValue, field: path(context.codingPath + [key]), message: "required field is missing")
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            let message =
                context.codingPath.isEmpty
                ? "the body is not valid JSON\(underlying.map { ": \($0)" } ?? "")"
                : context.debugDescription
            self.init(.malformed, field: path(context.codingPath), message: message)
        @unknown default:
            self.init(.malformed, field: "", message: "the body could not be decoded")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type: return "an integer"
        case is UInt64.Type: return "a non-negative integer"
        case is Double.Type: return "a number"
        default: return "a value of type \(type)"
        }
    }
}
