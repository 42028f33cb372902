/// A parsed INI file that remembers where every value came from, so errors can name file, line and key.
///
/// Syntax: `[section]` headers (`[agent]`, `[agent:production]`), `key = value` lines, comments starting with
/// `#` or `;` on their own line, blank lines. Keys may contain dots (`transaction_tracer.enabled`). Values are
/// trimmed; a value wrapped in double quotes keeps its inner spaces. A key repeated in one section: the last
/// one wins.
public struct INIDocument: Sendable, Hashable {
    /// One `key = value` line.
    public struct Entry: Sendable, Hashable {
        /// The key, as written.
        public var key: String
        /// The value, trimmed and unquoted.
        public var value: String
        /// The 1-based line number.
        public var line: Int
    }

    /// One `[section]` and its entries.
    public struct Section: Sendable, Hashable {
        /// The section name without brackets.
        public var name: String
        /// The 1-based line of the header.
        public var line: Int
        /// Entries in file order.
        public var entries: [Entry]

        /// The last entry with a key.
        ///
        /// - Parameter key: The key.
        /// - Returns: The entry or `nil`.
        public func entry(_ key: String) -> Entry? {
            entries.last { $0.key == key }
        }
    }

    /// The file's path, for messages ("<string>" when parsed from text).
    public var path: String
    /// Sections in file order.
    public var sections: [Section]

    /// Parses INI text.
    ///
    /// - Parameters:
    ///   - text: The file's contents.
    ///   - path: The file's path, used in error messages.
    /// - Throws: ``ConfigurationError`` naming the line for a malformed line.
    public init(parsing text: String, path: String = "<string>") throws {
        let (document, problems) = Self.parseAll(text, path: path)
        if let first = problems.first { throw first }
        self = document
    }

    /// Parses INI text, skipping malformed lines and reporting every one of them.
    ///
    /// - Parameters:
    ///   - text: The file's contents.
    ///   - path: The file's path, used in error messages.
    /// - Returns: The well-formed part of the document, and one error per malformed line.
    public static func parseAll(_ text: String, path: String = "<string>") -> (INIDocument, [ConfigurationError]) {
        var document = INIDocument(path: path)
        var problems: [ConfigurationError] = []
        document.parse(text, problems: &problems)
        return (document, problems)
    }

    private init(path: String) {
        self.path = path
        self.sections = []
    }

    private mutating func parse(_ text: String, problems: inout [ConfigurationError]) {
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    problems.append(
                        ConfigurationError(
                            .syntax,
                            file: path,
                            line: lineNumber,
                            message: "a section header must look like [agent] or [agent:production], got \(line)"
                        )
                    )
                    continue
                }
                let name = line.dropFirst().dropLast().trimmingWhitespace()
                sections.append(Section(name: String(name), line: lineNumber, entries: []))
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                problems.append(
                    ConfigurationError(
                        .syntax,
                        file: path,
                        line: lineNumber,
                        message: "expected `key = value` or a [section] header, got \(line)"
                    )
                )
                continue
            }
            let key = line[..<equals].trimmingWhitespace()
            var value = line[line.index(after: equals)...].trimmingWhitespace()
            guard !key.isEmpty else {
                problems.append(
                    ConfigurationError(.syntax, file: path, line: lineNumber, message: "a line has a value but no key")
                )
                continue
            }
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = value.dropFirst().dropLast()
            }
            guard !sections.isEmpty else {
                problems.append(
                    ConfigurationError(
                        .syntax,
                        file: path,
                        line: lineNumber,
                        key: String(key),
                        message: "`\(key)` comes before any section; put it under [agent]"
                    )
                )
                continue
            }
            sections[sections.count - 1].entries.append(Entry(key: String(key), value: String(value), line: lineNumber))
        }
    }

    /// The sections with a name, in file order (a name may appear more than once).
    ///
    /// - Parameter name: The section name.
    /// - Returns: Matching sections.
    public func sections(named name: String) -> [Section] {
        sections.filter { $0.name == name }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result = result.dropFirst() }
        while let last = result.last, last.isWhitespace { result = result.dropLast() }
        return result
    }
}
