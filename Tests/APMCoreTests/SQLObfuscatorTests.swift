import APMCore
import Testing

@Suite struct SQLObfuscatorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var dialect: SQLDialect
        var expected: String
        var testDescription: String { "\(dialect): \(input)" }
    }

    static let cases: [Case] = [
        // Literals
        Case(
            input: "SELECT * FROM users WHERE id = 42",
            dialect: .generic,
            expected: "SELECT * FROM users WHERE id = ?"
        ),
        Case(
            input: "SELECT * FROM t WHERE a = 'x' AND b = 1.5e-3",
            dialect: .generic,
            expected: "SELECT * FROM t WHERE a = ? AND b = ?"
        ),
        Case(
            input: "SELECT * FROM t WHERE a = .5 AND b = -7",
            dialect: .generic,
            expected: "SELECT * FROM t WHERE a = ? AND b = -?"
        ),
        Case(
            input: "UPDATE t SET flag = TRUE, other = false, gone = NULL",
            dialect: .generic,
            expected: "UPDATE t SET flag = ?, other = ?, gone = ?"
        ),
        Case(input: "SELECT * FROM t WHERE h = 0xDEADBEEF", dialect: .mysql, expected: "SELECT * FROM t WHERE h = ?"),
        Case(
            input: "SELECT * FROM t WHERE id = 123e4567-e89b-12d3-a456-426614174000",
            dialect: .generic,
            expected: "SELECT * FROM t WHERE id = ?"
        ),
        Case(
            input: "SELECT * FROM t WHERE id = a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            dialect: .generic,
            expected: "SELECT * FROM t WHERE id = ?"
        ),
        Case(
            input: "SELECT * FROM t WHERE k = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
            dialect: .postgresql,
            expected: "SELECT * FROM t WHERE k = ?"
        ),
        Case(
            input: "SELECT * FROM table1 JOIN t2 ON table1.c3 = t2.c3",
            dialect: .generic,
            expected: "SELECT * FROM table1 JOIN t2 ON table1.c3 = t2.c3"
        ),
        Case(
            input: "SELECT * FROM t WHERE hash = 9f86d081884c7d659a2feaa0c55ad015",
            dialect: .generic,
            expected: "SELECT * FROM t WHERE hash = ?"
        ),
        // Escaped quotes
        Case(
            input: "SELECT * FROM t WHERE name = 'O''Brien'",
            dialect: .postgresql,
            expected: "SELECT * FROM t WHERE name = ?"
        ),
        Case(
            input: #"SELECT * FROM t WHERE name = 'O\'Brien' AND x = 1"#,
            dialect: .mysql,
            expected: "SELECT * FROM t WHERE name = ? AND x = ?"
        ),
        Case(
            input: #"SELECT * FROM t WHERE path = 'C:\' AND x = 1"#,
            dialect: .postgresql,
            expected: "SELECT * FROM t WHERE path = ? AND x = ?"
        ),
        Case(input: #"SELECT E'it\'s' FROM t"#, dialect: .postgresql, expected: "SELECT ? FROM t"),
        Case(input: "SELECT X'ABCD', N'text' FROM t", dialect: .generic, expected: "SELECT ?, ? FROM t"),
        // Dollar quotes (PostgreSQL)
        Case(
            input: "SELECT $$secret$$, $tag$it's $$ nested$tag$ FROM t WHERE id = $1",
            dialect: .postgresql,
            expected: "SELECT ?, ? FROM t WHERE id = $1"
        ),
        Case(
            input: "SELECT * FROM t WHERE id = $1 AND name = $2",
            dialect: .postgresql,
            expected: "SELECT * FROM t WHERE id = $1 AND name = $2"
        ),
        // Double quotes by dialect
        Case(
            input: #"SELECT "name" FROM "users" WHERE "id" = 5"#,
            dialect: .postgresql,
            expected: #"SELECT "name" FROM "users" WHERE "id" = ?"#
        ),
        Case(
            input: #"SELECT * FROM users WHERE name = "bob""#,
            dialect: .mysql,
            expected: "SELECT * FROM users WHERE name = ?"
        ),
        Case(
            input: #"SELECT * FROM users WHERE name = "bob""#,
            dialect: .sqlite,
            expected: "SELECT * FROM users WHERE name = ?"
        ),
        Case(
            input: "SELECT `name` FROM `users` WHERE id = 3",
            dialect: .mysql,
            expected: "SELECT `name` FROM `users` WHERE id = ?"
        ),
        // Comments
        Case(input: "SELECT a -- the password is 'x'\nFROM t", dialect: .generic, expected: "SELECT a FROM t"),
        Case(input: "SELECT /* user 42 */ a FROM t", dialect: .generic, expected: "SELECT a FROM t"),
        Case(input: "SELECT a FROM t # trailing 'x'", dialect: .mysql, expected: "SELECT a FROM t"),
        // IN lists
        Case(
            input: "SELECT * FROM t WHERE id IN (1, 2, 3, 4)",
            dialect: .generic,
            expected: "SELECT * FROM t WHERE id IN (?)"
        ),
        Case(
            input: "SELECT * FROM t WHERE id in ('a','b')",
            dialect: .generic,
            expected: "SELECT * FROM t WHERE id in (?)"
        ),
        Case(
            input: "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE x = 1)",
            dialect: .generic,
            expected: "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE x = ?)"
        ),
        Case(
            input: "SELECT * FROM t WHERE id IN ($1, $2)",
            dialect: .postgresql,
            expected: "SELECT * FROM t WHERE id IN ($1, $2)"
        ),
        // Unbalanced: obfuscated whole
        Case(input: "SELECT * FROM t WHERE name = 'unterminated", dialect: .generic, expected: "?"),
        Case(input: "SELECT * FROM t WHERE a = 1 /* open comment", dialect: .generic, expected: "?"),
        Case(input: "SELECT $x$ never closed", dialect: .postgresql, expected: "?"),
        Case(input: #"SELECT "open FROM t"#, dialect: .postgresql, expected: "?"),
        // Whitespace
        Case(input: "SELECT\n\t a\n  FROM   t  ", dialect: .generic, expected: "SELECT a FROM t"),
    ]

    @Test(arguments: cases)
    func obfuscates(_ testCase: Case) {
        #expect(SQLObfuscator.obfuscate(testCase.input, dialect: testCase.dialect) == testCase.expected)
    }

    @Test func dialectFromSystem() {
        #expect(SQLDialect.forSystem("postgresql") == .postgresql)
        #expect(SQLDialect.forSystem("MySQL") == .mysql)
        #expect(SQLDialect.forSystem("sqlite") == .sqlite)
        #expect(SQLDialect.forSystem("oracle") == .generic)
    }

    @Test func neverLeaksAQuotedSecret() {
        // Whatever the dialect, a secret inside quotes never survives (dollar quotes exist in PostgreSQL only).
        let secret = "hunter2"
        for dialect in SQLDialect.allCases {
            for sql in [
                "SELECT * FROM u WHERE p = '\(secret)'", "SELECT * FROM u WHERE p = E'\(secret)'",
                "SELECT * FROM u WHERE p = '\(secret)",
            ] + (dialect == .postgresql || dialect == .generic ? ["SELECT * FROM u WHERE p = $$\(secret)$$"] : []) {
                let result = SQLObfuscator.obfuscate(sql, dialect: dialect)
                #expect(!result.contains(secret), "\(dialect): \(sql) -> \(result)")
            }
        }
    }
}

@Suite struct SQLStatementSummaryTests {
    @Test(arguments: [
        ("SELECT * FROM users WHERE id = $1", "SELECT", "users"),
        ("select name from \"Accounts\" a join orders o on o.a = a.id", "SELECT", "Accounts"),
        ("INSERT INTO audit_log(a, b) VALUES (?, ?)", "INSERT", "audit_log"),
        ("UPDATE `carts` SET total = 3", "UPDATE", "carts"),
        ("DELETE FROM sessions WHERE expires < 5", "DELETE", "sessions"),
        // A CTE's name is not a table (before: `SQLite SELECT n` for a recursive counter that reads no table).
        ("WITH recent AS (SELECT 1) SELECT * FROM recent", "SELECT", ""),
        (
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10) SELECT SUM(x) FROM n",
            "SELECT", ""
        ),
        ("WITH recent AS (SELECT * FROM orders WHERE at > ?) SELECT count(*) FROM recent", "SELECT", "orders"),
        ("WITH moved AS (DELETE FROM queue RETURNING *) INSERT INTO archive SELECT * FROM moved", "INSERT", "archive"),
        ("with a as (select 1), b(y) as (select 2) update totals set v = (select y from b)", "UPDATE", "totals"),
        ("CREATE TABLE IF NOT EXISTS t1 (id int)", "CREATE", "t1"),
        ("  \n  ", "other", ""),
        ("BEGIN", "BEGIN", ""),
    ])
    func operationAndTable(_ statement: String, _ operation: String, _ table: String) {
        #expect(SQLStatementSummary.operation(of: statement) == operation)
        #expect(SQLStatementSummary.table(of: statement) == table)
    }
}
