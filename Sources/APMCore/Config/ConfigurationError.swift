/// A problem with configuration: a file, an environment variable or a flag.
///
/// The description names where (file and line, or the variable), the key, the value, and what is allowed,
/// so one log line tells the user how to fix it.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem; compare against the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case syntax
            case invalidValue = "invalid value"
            case unknownKey = "unknown key"
            case missingValue = "missing value"
            case unreadableFile = "unreadable file"
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// A line that is not `key = value`, a comment or a section header.
        public static let syntax = Code(.syntax)
        /// A value outside what the key allows.
        public static let invalidValue = Code(.invalidValue)
        /// A key this version does not know (often a typo).
        public static let unknownKey = Code(.unknownKey)
        /// A required value is absent.
        public static let missingValue = Code(.missingValue)
        /// The file could not be read.
        public static let unreadableFile = Code(.unreadableFile)

        /// The code's name.
        public var description: String { kind.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The file, or `environment` for a variable, or empty.
    public var file: String
    /// The 1-based line, 0 when not from a file.
    public var line: Int
    /// The key or variable name, empty when none.
    public var key: String
    /// The offending value, `nil` when none.
    public var value: String?
    /// What is wrong and what is allowed.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of problem.
    ///   - file: The file (or `environment`).
    ///   - line: The line, 0 when none.
    ///   - key: The key or variable.
    ///   - value: The offending value.
    ///   - message: What is wrong and what is allowed.
    public init(_ code: Code, file: String = "", line: Int = 0, key: String = "", value: String? = nil, message: String)
    {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.value = value
        self.message = message
    }

    /// `file:line: key = "value": message`.
    public var description: String {
        var location = file
        if line > 0 { location += ":\(line)" }
        var subject = key
        if let value { subject += subject.isEmpty ? "\"\(value)\"" : " = \"\(value)\"" }
        return [location, subject, message].filter { !$0.isEmpty }.joined(separator: ": ")
    }
}
