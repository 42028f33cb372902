/// The SQL dialect of a statement, which decides how quotes are read.
public enum SQLDialect: String, Sendable, Hashable, CaseIterable {
    /// PostgreSQL: `"…"` quotes identifiers, `$tag$…$tag$` quotes strings, `$1` is a parameter,
    /// backslashes escape only inside `E'…'`.
    case postgresql
    /// MySQL and MariaDB: `"…"` is a string, `` `…` `` an identifier, `#` starts a comment, `\` escapes.
    case mysql
    /// SQLite: `"…"` may be a string (SQLite accepts one where an identifier is unknown), so it is obfuscated;
    /// `` `…` `` and `[…]` are identifiers.
    case sqlite
    /// Anything else: the safest reading, every quoted text is obfuscated.
    case generic

    /// The dialect for an OpenTelemetry `db.system` / `db.system.name` value.
    ///
    /// - Parameter system: The database system, e.g. `postgresql`, `mysql`, `sqlite`.
    /// - Returns: The matching dialect, `generic` when unknown.
    public static func forSystem(_ system: String) -> SQLDialect {
        switch system.lowercased() {
        case "postgresql", "postgres", "pg", "cockroachdb", "redshift": .postgresql
        case "mysql", "mariadb": .mysql
        case "sqlite", "sqlite3": .sqlite
        default: .generic
        }
    }
}

/// Replaces every literal in a SQL statement by `?` so that statements can be grouped and shown without
/// leaking data.
///
/// - String, number, hex, UUID, boolean and `NULL` literals become `?`.
/// - Comments (`-- …`, `/* … */`, and `# …` for MySQL) are removed; whitespace runs become one space.
/// - `IN (?, ?, ?)` collapses to `IN (?)`, so the statement's shape does not depend on the list's length.
/// - A statement with an unterminated quote, comment or dollar quote cannot be read safely and becomes `?`.
public enum SQLObfuscator {
    /// Obfuscates one statement.
    ///
    /// - Parameters:
    ///   - statement: The SQL as sent to the database.
    ///   - dialect: How quotes are read.
    /// - Returns: The statement with literals replaced by `?`.
    public static func obfuscate(_ statement: String, dialect: SQLDialect = .generic) -> String {
        let input = Array(statement.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        guard scan(input, dialect: dialect, into: &output) else { return "?" }
        collapseInLists(&output)
        while output.last == UInt8(ascii: " ") { output.removeLast() }
        return String(decoding: output, as: UTF8.self)
    }

    private static let quote = UInt8(ascii: "'")
    private static let doubleQuote = UInt8(ascii: "\"")
    private static let backtick = UInt8(ascii: "`")
    private static let backslash = UInt8(ascii: "\\")
    private static let dollar = UInt8(ascii: "$")
    private static let space = UInt8(ascii: " ")
    private static let placeholder = UInt8(ascii: "?")

    @inline(__always) private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    @inline(__always) private static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 }
    @inline(__always) private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 102)
    }
    @inline(__always) private static func isIdentifierStart(_ c: UInt8) -> Bool {
        isLetter(c) || c == UInt8(ascii: "_") || c >= 0x80
    }
    @inline(__always) private static func isIdentifierPart(_ c: UInt8) -> Bool {
        isIdentifierStart(c) || isDigit(c) || c == dollar
    }
    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }

    /// Writes the obfuscated statement; returns `false` when a quote or comment is not terminated.
    private static func scan(_ s: [UInt8], dialect: SQLDialect, into out: inout [UInt8]) -> Bool {
        let n = s.count
        var i = 0
        func emitSpace() {
            if let last = out.last, last != space { out.append(space) }
        }
        while i < n {
            let c = s[i]
            let next: UInt8 = i + 1 < n ? s[i + 1] : 0
            if isSpace(c) {
                emitSpace()
                i += 1
            } else if c == UInt8(ascii: "-") && next == UInt8(ascii: "-")
                || (c == UInt8(ascii: "#") && dialect == .mysql)
            {
                while i < n && s[i] != UInt8(ascii: "\n") { i += 1 }
                emitSpace()
            } else if c == UInt8(ascii: "/") && next == UInt8(ascii: "*") {
                guard let end = endOfBlockComment(s, from: i) else { return false }
                i = end
                emitSpace()
            } else if c == quote {
                let backslashEscapes = dialect == .mysql || dialect == .generic
                guard let end = endOfQuoted(s, from: i, quote: quote, backslashEscapes: backslashEscapes) else {
                    return false
                }
                out.append(placeholder)
                i = end
            } else if c == doubleQuote {
                guard let end = endOfQuoted(s, from: i, quote: doubleQuote, backslashEscapes: dialect == .mysql) else {
                    return false
                }
                if dialect == .postgresql {
                    out.append(contentsOf: s[i..<end])
                } else {
                    out.append(placeholder)
                }
                i = end
            } else if c == backtick && dialect != .postgresql {
                guard let end = endOfQuoted(s, from: i, quote: backtick, backslashEscapes: false) else { return false }
                out.append(contentsOf: s[i..<end])
                i = end
            } else if c == dollar && (dialect == .postgresql || dialect == .generic) && !isDigit(next) {
                guard let end = scanDollarQuoted(s, from: i, into: &out) else { return false }
                i = end
            } else if c == dollar && isDigit(next) {
                // A positional parameter ($1): not a literal.
                out.append(c)
                i += 1
                while i < n && isDigit(s[i]) {
                    out.append(s[i])
                    i += 1
                }
            } else if isDigit(c) || (c == UInt8(ascii: ".") && isDigit(next)) {
                if let last = out.last, isIdentifierPart(last) {
                    // Part of a name such as `table1`.
                    out.append(c)
                    i += 1
                    continue
                }
                out.append(placeholder)
                i = endOfNumberOrHexToken(s, from: i)
            } else if isIdentifierStart(c) {
                guard let end = scanWord(s, from: i, dialect: dialect, into: &out) else { return false }
                i = end
            } else {
                out.append(c)
                i += 1
            }
        }
        return true
    }

    /// The index after a block comment's `*/`, or `nil` when it is not closed.
    @inline(__always) private static func endOfBlockComment(_ s: [UInt8], from start: Int) -> Int? {
        var j = start + 2
        while j + 1 < s.count {
            if s[j] == UInt8(ascii: "*") && s[j + 1] == UInt8(ascii: "/") { return j + 2 }
            j += 1
        }
        return nil
    }

    /// `$tag$ ... $tag$` (the tag may be empty) becomes a placeholder; any other `$` is copied as it is. Returns
    /// the index after what was read, or `nil` when a quote is not closed.
    @inline(__always) private static func scanDollarQuoted(_ s: [UInt8], from i: Int, into out: inout [UInt8]) -> Int? {
        let n = s.count
        var j = i + 1
        while j < n && (isIdentifierStart(s[j]) || isDigit(s[j])) { j += 1 }
        guard j < n && s[j] == dollar && (j == i + 1 || isIdentifierStart(s[i + 1])) else {
            out.append(s[i])
            return i + 1
        }
        let tag = Array(s[i...j])
        guard let close = find(tag, in: s, from: j + 1) else { return nil }
        out.append(placeholder)
        return close + tag.count
    }

    /// A word: a prefixed string literal (`E'…'`, `X'…'`, `B'…'`, `N'…'`), a UUID, `true`/`false`/`null`
    /// (placeholders), or a name or keyword (copied). Returns the index after it, or `nil` when a quote is not
    /// closed.
    @inline(__always) private static func scanWord(
        _ s: [UInt8],
        from i: Int,
        dialect: SQLDialect,
        into out: inout [UInt8]
    ) -> Int? {
        let n = s.count
        let c = s[i]
        var j = i
        while j < n && isIdentifierPart(s[j]) { j += 1 }
        if j == i + 1 && j < n && s[j] == quote && "eEbBxXnN".utf8.contains(c) {
            let backslashEscapes = (c | 0x20) == UInt8(ascii: "e") || dialect == .mysql || dialect == .generic
            guard let end = endOfQuoted(s, from: j, quote: quote, backslashEscapes: backslashEscapes) else {
                return nil
            }
            out.append(placeholder)
            return end
        }
        if let uuidEnd = uuidEnd(s, from: i) {
            out.append(placeholder)
            return uuidEnd
        }
        let word = s[i..<j]
        if equalsIgnoringCase(word, "true") || equalsIgnoringCase(word, "false") || equalsIgnoringCase(word, "null") {
            out.append(placeholder)
        } else {
            out.append(contentsOf: word)
        }
        return j
    }

    /// The index after the closing quote, or `nil` when there is none. A doubled quote is an escaped quote.
    private static func endOfQuoted(_ s: [UInt8], from start: Int, quote q: UInt8, backslashEscapes: Bool) -> Int? {
        var j = start + 1
        while j < s.count {
            let c = s[j]
            if backslashEscapes && c == backslash {
                j += 2
                continue
            }
            if c == q {
                if j + 1 < s.count && s[j + 1] == q {
                    j += 2
                    continue
                }
                return j + 1
            }
            j += 1
        }
        return nil
    }

    /// Skips a number (`12`, `1.5e-3`, `.5`), a hex literal (`0xFF`) or a UUID / hex token that starts with a digit.
    private static func endOfNumberOrHexToken(_ s: [UInt8], from start: Int) -> Int {
        if let end = uuidEnd(s, from: start) { return end }
        var j = start
        let n = s.count
        if s[j] == UInt8(ascii: "0") && j + 1 < n && (s[j + 1] | 0x20) == UInt8(ascii: "x") {
            j += 2
            while j < n && isHex(s[j]) { j += 1 }
            return j
        }
        // A hex run mixing digits and letters (a hash, an id): one token.
        var k = j
        while k < n && isHex(s[k]) { k += 1 }
        if k - j >= 16 && (k == n || !isIdentifierPart(s[k])) { return k }
        while j < n && isDigit(s[j]) { j += 1 }
        if j < n && s[j] == UInt8(ascii: ".") {
            j += 1
            while j < n && isDigit(s[j]) { j += 1 }
        }
        if j < n && (s[j] | 0x20) == UInt8(ascii: "e") {
            var k = j + 1
            if k < n && (s[k] == UInt8(ascii: "+") || s[k] == UInt8(ascii: "-")) { k += 1 }
            if k < n && isDigit(s[k]) {
                j = k
                while j < n && isDigit(s[j]) { j += 1 }
            }
        }
        return j
    }

    /// The end of an 8-4-4-4-12 hex UUID starting at `start`, or `nil`.
    private static func uuidEnd(_ s: [UInt8], from start: Int) -> Int? {
        let groups = [8, 4, 4, 4, 12]
        var j = start
        for (index, length) in groups.enumerated() {
            for _ in 0..<length {
                guard j < s.count, isHex(s[j]) else { return nil }
                j += 1
            }
            if index < groups.count - 1 {
                guard j < s.count, s[j] == UInt8(ascii: "-") else { return nil }
                j += 1
            }
        }
        if j < s.count && isIdentifierPart(s[j]) { return nil }
        return j
    }

    private static func find(_ needle: [UInt8], in s: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, s.count >= needle.count else { return nil }
        var j = start
        while j + needle.count <= s.count {
            if s[j] == needle[0] && s[j..<(j + needle.count)].elementsEqual(needle) { return j }
            j += 1
        }
        return nil
    }

    private static func equalsIgnoringCase(_ word: ArraySlice<UInt8>, _ keyword: StaticString) -> Bool {
        guard word.count == keyword.utf8CodeUnitCount else { return false }
        return keyword.withUTF8Buffer { key in
            zip(word, key).allSatisfy { ($0 | 0x20) == $1 }
        }
    }

    /// Rewrites `IN (?, ?, ?)` (any spacing) as `IN (?)`.
    private static func collapseInLists(_ out: inout [UInt8]) {
        var result: [UInt8] = []
        result.reserveCapacity(out.count)
        var i = 0
        let n = out.count
        while i < n {
            let atWordStart = i == 0 || !isIdentifierPart(out[i - 1])
            if atWordStart, i + 1 < n, (out[i] | 0x20) == UInt8(ascii: "i"), (out[i + 1] | 0x20) == UInt8(ascii: "n"),
                i + 2 >= n || !isIdentifierPart(out[i + 2])
            {
                var j = i + 2
                while j < n && out[j] == space { j += 1 }
                if j < n && out[j] == UInt8(ascii: "(") {
                    var k = j + 1
                    var sawPlaceholder = false
                    var valid = true
                    while k < n && out[k] != UInt8(ascii: ")") {
                        let c = out[k]
                        if c == placeholder {
                            sawPlaceholder = true
                        } else if c != space && c != UInt8(ascii: ",") {
                            valid = false
                            break
                        }
                        k += 1
                    }
                    if valid && sawPlaceholder && k < n {
                        result.append(contentsOf: out[i..<(i + 2)])
                        result.append(contentsOf: " (?)".utf8)
                        i = k + 1
                        continue
                    }
                }
            }
            result.append(out[i])
            i += 1
        }
        out = result
    }
}
