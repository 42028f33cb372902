/// A problem with data that crossed the wire: a batch, a histogram, a compressed body.
///
/// The message names the field and what is wrong, so a 400 reply can carry it verbatim.
public struct WireFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem; compare against the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalidValue = "invalid value"
            case unsupportedVersion = "unsupported version"
            case malformed
            case tooLarge = "too large"
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// A field holds a value outside what is allowed.
        public static let invalidValue = Code(.invalidValue)
        /// The payload declares a protocol version this build does not read.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The bytes do not parse (JSON, gzip).
        public static let malformed = Code(.malformed)
        /// A size limit was exceeded.
        public static let tooLarge = Code(.tooLarge)

        /// The code's name.
        public var description: String { kind.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The JSON path of the offending field, e.g. `intervals[0].transactions[3].count`.
    public var field: String
    /// What is wrong and what is allowed.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of problem.
    ///   - field: The path of the field at fault.
    ///   - message: What is wrong and what is allowed.
    public init(_ code: Code, field: String, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// `field: message`.
    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}
