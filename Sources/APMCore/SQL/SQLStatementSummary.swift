/// The operation and main table of a SQL statement, for naming datastore segments when the caller did not.
///
/// Runs on the agent's record path, so it scans UTF-8 bytes once and allocates nothing but its result (and
/// not even that for operations and table names of up to 15 bytes, which Swift stores inline).
public enum SQLStatementSummary {
    /// The statement's first keyword in upper case (`SELECT`, `INSERT`, ...); for `WITH` the main statement's
    /// (the first SELECT/INSERT/UPDATE/DELETE outside the common table expressions' parentheses); `other` when
    /// there is no keyword.
    ///
    /// - Parameter statement: A SQL statement.
    /// - Returns: The operation.
    public static func operation(of statement: String) -> String {
        var result = "other"
        var first = true
        var fallback: String?
        scanWords(statement) { word, depth in
            if first {
                first = false
                if matches(word, "WITH") {
                    result = "WITH"
                    return true
                }
                result = upper(word)
                return false
            }
            for keyword in dataKeywords where matches(word, keyword) {
                if depth == 0 {
                    result = "\(keyword)"
                    return false
                }
                fallback = fallback ?? "\(keyword)"
            }
            return true
        }
        return result == "WITH" ? fallback ?? result : result
    }

    /// The table the statement works on: the name after `FROM`, `INTO`, `UPDATE`, `TABLE` or `JOIN`, without
    /// quotes; empty when not found. A statement with common table expressions (`WITH n AS (...) SELECT ...
    /// FROM n`) names the main statement's table, else the first table a CTE reads, never a CTE's own name
    /// (which names no table: `WITH RECURSIVE n(x) AS (SELECT 1 ...) SELECT SUM(x) FROM n` has none).
    ///
    /// - Parameter statement: A SQL statement.
    /// - Returns: The table name.
    public static func table(of statement: String) -> String {
        var takeNext = false
        var isWith = false
        var first = true
        var expressionNames: [String] = []
        var previousTopLevelWord: String?
        var inMainStatement = false
        var firstTable: String?
        var result: String?
        scanWords(statement) { word, depth in
            defer { first = false }
            if first && matches(word, "WITH") {
                isWith = true
                return true
            }
            if isWith && !inMainStatement && depth == 0 {
                // `name AS (` or `name(columns) AS (`: the word before a top-level AS names an expression.
                if matches(word, "AS"), let name = previousTopLevelWord {
                    expressionNames.append(name.lowercased())
                }
                if dataKeywords.contains(where: { matches(word, $0) }) { inMainStatement = true }
                previousTopLevelWord = string(word) { $0 }
            }
            if takeNext {
                if matches(word, "ONLY") || matches(word, "IF") || matches(word, "NOT") || matches(word, "EXISTS") {
                    return true
                }
                let cleaned = string(word) {
                    $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "`") || $0 == UInt8(ascii: "[")
                        || $0 == UInt8(ascii: "]") ? nil : $0
                }
                takeNext = false
                if !cleaned.isEmpty {
                    guard isWith else {
                        result = cleaned
                        return false
                    }
                    if !expressionNames.contains(cleaned.lowercased()) {
                        if inMainStatement && depth == 0 {
                            result = cleaned
                            return false
                        }
                        firstTable = firstTable ?? cleaned
                    }
                }
            }
            takeNext =
                matches(word, "FROM") || matches(word, "INTO") || matches(word, "UPDATE") || matches(word, "TABLE")
                || matches(word, "JOIN")
            return true
        }
        return result ?? firstTable ?? ""
    }

    /// Calls `body` with each word of the first 512 bytes (split on whitespace, parentheses, commas and
    /// semicolons) and its depth in parentheses, until it returns `false`.
    private static func scanWords(_ statement: String, _ body: (Slice<UnsafeBufferPointer<UInt8>>, Int) -> Bool) {
        var statement = statement
        statement.withUTF8 { bytes in
            let limit = min(bytes.count, 512)
            var index = 0
            var words = 0
            var depth = 0
            while index < limit && words < 64 {
                while index < limit && isSeparator(bytes[index]) {
                    if bytes[index] == UInt8(ascii: "(") { depth += 1 }
                    if bytes[index] == UInt8(ascii: ")") { depth = max(0, depth - 1) }
                    index += 1
                }
                let start = index
                while index < limit && !isSeparator(bytes[index]) { index += 1 }
                guard index > start else { break }
                words += 1
                if !body(bytes[start..<index], depth) { return }
            }
        }
    }

    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == 32 || (byte >= 9 && byte <= 13) || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")")
            || byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";")
    }

    private static func matches(_ word: Slice<UnsafeBufferPointer<UInt8>>, _ keyword: StaticString) -> Bool {
        guard word.count == keyword.utf8CodeUnitCount else { return false }
        return keyword.withUTF8Buffer { key in zip(word, key).allSatisfy { ($0 & 0xDF) == $1 } }
    }

    private static let dataKeywords: [StaticString] = ["SELECT", "INSERT", "UPDATE", "DELETE"]

    private static func upper(_ word: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        string(word) { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }
    }

    /// A string of the word's bytes passed through `transform` (`nil` drops a byte), at most 128 bytes;
    /// no allocation for up to 15 bytes.
    private static func string(_ word: Slice<UnsafeBufferPointer<UInt8>>, _ transform: (UInt8) -> UInt8?) -> String {
        let text = String(unsafeUninitializedCapacity: min(word.count, 128)) { buffer in
            var count = 0
            for byte in word.prefix(128) {
                guard let mapped = transform(byte) else { continue }
                buffer[count] = mapped
                count += 1
            }
            return count
        }
        return text
    }
}
