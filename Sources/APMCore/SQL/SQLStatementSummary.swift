/// The operation and main table of a SQL statement, for naming datastore segments when the caller did not.
public enum SQLStatementSummary {
    /// The statement's first keyword in upper case (`SELECT`, `INSERT`, ...), or `other`.
    ///
    /// - Parameter statement: A SQL statement.
    /// - Returns: The operation.
    public static func operation(of statement: String) -> String {
        guard let word = words(statement).first else { return "other" }
        let upper = word.uppercased()
        return upper == "WITH"
            ? (words(statement).first { ["SELECT", "INSERT", "UPDATE", "DELETE"].contains($0.uppercased()) }?
                .uppercased() ?? "WITH") : upper
    }

    /// The table the statement works on: after `FROM`, `INTO`, `UPDATE` or `TABLE`; empty when not found.
    ///
    /// - Parameter statement: A SQL statement.
    /// - Returns: The table name without quotes or schema-qualifying quotes.
    public static func table(of statement: String) -> String {
        let tokens = words(statement)
        for (index, token) in tokens.enumerated() where index + 1 < tokens.count {
            switch token.uppercased() {
            case "FROM", "INTO", "UPDATE", "TABLE", "JOIN":
                let candidate = tokens[index + 1]
                let cleaned = candidate.filter { $0 != "\"" && $0 != "`" && $0 != "[" && $0 != "]" }
                if cleaned.uppercased() == "ONLY" || cleaned.uppercased() == "IF" { continue }
                if !cleaned.isEmpty, cleaned.first != "(" { return String(cleaned.prefix(128)) }
            default:
                continue
            }
        }
        return ""
    }

    private static func words(_ statement: String) -> [Substring] {
        Array(
            statement.prefix(512).split(whereSeparator: {
                $0.isWhitespace || $0 == "(" || $0 == ")" || $0 == "," || $0 == ";"
            }).prefix(64)
        )
    }
}
