/// Turns a program's output, line by line, into log records, as `apm run-program --forward-output` sends them:
/// a multi-line record (a Python traceback, a Java stack, an indented continuation) stays one record, and each
/// record's level is read from the prefixes logging libraries write (`ERROR:root:…`, `[WARN]`, `level=error`,
/// swift-log's `… error label : …`).
public struct OutputLogAssembler: Sendable {
    /// A record assembled from one or more lines.
    public struct Record: Sendable, Hashable {
        /// The lines, joined by newlines.
        public var message: String
        /// The level read from its first line (or `error` for a bare traceback, or the stream's default).
        public var level: LogLevel
    }

    /// The most lines one record gathers before it is sent as it is (a runaway stack stays bounded).
    public static let maxLinesPerRecord = 256
    /// The longest line kept (UTF-8 bytes); the rest is cut.
    public static let maxLineBytes = 64 * 1024

    /// The level of a record whose first line names none.
    public let defaultLevel: LogLevel
    private var lines: [String] = []
    private var inTraceback = false

    /// Creates an assembler for one stream.
    ///
    /// - Parameter defaultLevel: The level of records that name none (`info` for stdout, `warn` for stderr).
    public init(defaultLevel: LogLevel) {
        self.defaultLevel = defaultLevel
    }

    /// Adds one line (without its newline); returns the record it completed, if any.
    ///
    /// - Parameter line: The line.
    /// - Returns: The previous record, when this line starts a new one.
    public mutating func add(_ line: String) -> Record? {
        let line = LogRecord.cut(line, to: Self.maxLineBytes).text
        if !lines.isEmpty, isContinuation(line), lines.count < Self.maxLinesPerRecord {
            lines.append(line)
            if line.hasPrefix("Traceback (most recent call last)") { inTraceback = true }
            return nil
        }
        let completed = flush()
        lines = [line]
        inTraceback = line.hasPrefix("Traceback (most recent call last)")
        return completed
    }

    /// The record being gathered, if any, now (at the end of the stream, or after a quiet moment).
    ///
    /// - Returns: The record.
    public mutating func flush() -> Record? {
        guard let first = lines.first else { return nil }
        defer {
            lines = []
            inTraceback = false
        }
        while lines.count > 1, lines.last?.isEmpty == true { lines.removeLast() }
        let message = lines.joined(separator: "\n")
        let hasTraceback = lines.contains { $0.hasPrefix("Traceback (most recent call last)") }
        return Record(
            message: message,
            level: Self.level(of: first) ?? (hasTraceback ? .error : defaultLevel)
        )
    }

    /// Whether a line continues the record being gathered: indented lines (stack frames, wrapped text), the
    /// headers of chained exceptions, and the exception line that ends a Python traceback.
    private func isContinuation(_ line: String) -> Bool {
        if let first = line.first, first == " " || first == "\t" { return !line.allSatisfy { $0 == " " || $0 == "\t" } }
        for header in [
            "Traceback (most recent call last)", "During handling of the above exception",
            "The above exception was the direct cause", "Caused by:", "Stack trace:",
        ] where line.hasPrefix(header) {
            return true
        }
        // A blank line between chained tracebacks.
        if inTraceback && line.isEmpty { return true }
        // The exception line under a traceback's frames (`ValueError: boom`) ends it.
        if inTraceback, let last = lines.last, last.first == " " || last.first == "\t" {
            return true
        }
        return false
    }

    /// The level a line's prefix names: the first of its first few words that is a level name (`ERROR`,
    /// `warning`, `[INFO]`, `level=error`, Python's `ERROR:root:`), or `nil`.
    public static func level(of line: String) -> LogLevel? {
        let words = line.prefix(80).split { !$0.isLetter }.prefix(6)
        for word in words where word.count >= 3 {
            if let level = LogLevel(name: word) { return level }
        }
        return nil
    }
}
