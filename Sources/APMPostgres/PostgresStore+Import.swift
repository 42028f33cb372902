public import APMSQLite
import APMStorage
import Foundation
import NIOCore
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// What the database holds: accounts and apps (a database for `apm migrate-storage` must hold neither).
    ///
    /// - Returns: The counts.
    public func contents() async throws -> (accounts: Int, apps: Int) {
        let row = try await rows(
            "SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM apps) AS apps"
        ).first
        return (
            Int(try row?.get("accounts", as: Int64.self) ?? 0), Int(try row?.get("apps", as: Int64.self) ?? 0)
        )
    }

    /// Deletes every row of every table (for `apm migrate-storage --replace`).
    public func deleteEverything() async throws {
        try await prepare()
        let tables = SQLiteStore.copiedTables.joined(separator: ", ")
        try await execute(PostgresQuery(unsafeSQL: "TRUNCATE \(tables) RESTART IDENTITY"))
    }

    /// Inserts rows copied from another store, converting each value to its column's type here (SQLite's integers
    /// to booleans, its text names to `bytea`, ...). Partitions for their buckets are created first.
    ///
    /// - Parameters:
    ///   - table: The table.
    ///   - rows: The rows, with their columns.
    /// - Throws: ``StoreError`` naming a column this database does not have.
    public func importRows(_ table: String, _ rows: StoredRows) async throws {
        guard !rows.rows.isEmpty else { return }
        let types = try await columnTypes(of: table)
        for column in rows.columns where types[column] == nil {
            throw StoreError(.configuration, "the PostgreSQL table \(table) has no column \(column)")
        }
        if let bucketIndex = rows.columns.firstIndex(of: "bucket"),
            table.hasSuffix("_minutes") || table.hasSuffix("_hours"),
            ["txn", "app", "seg"].contains(String(table.prefix(3)))
        {
            let resolution: SliceResolution = table.hasSuffix("_minutes") ? .minute : .hour
            var buckets: Set<Int64> = []
            for row in rows.rows { if case .integer(let bucket) = row[bucketIndex] { buckets.insert(bucket) } }
            try await ensurePartitions(buckets: [resolution: buckets])
        }
        let columnList = rows.columns.map { "\"\($0)\"" }.joined(separator: ", ")
        // PostgreSQL takes at most 65,535 parameters per statement.
        let perStatement = max(1, 30_000 / rows.columns.count)
        var start = 0
        while start < rows.rows.count {
            let chunk = rows.rows[start..<min(start + perStatement, rows.rows.count)]
            var bindings = PostgresBindings()
            var tuples: [String] = []
            var number = 0
            for row in chunk {
                var placeholders: [String] = []
                for (index, value) in row.enumerated() {
                    number += 1
                    placeholders.append("$\(number)")
                    try Self.bind(value, as: types[rows.columns[index]] ?? "text", into: &bindings)
                }
                tuples.append("(\(placeholders.joined(separator: ", ")))")
            }
            try await execute(
                PostgresQuery(
                    unsafeSQL: "INSERT INTO \(table) (\(columnList)) VALUES \(tuples.joined(separator: ", "))",
                    binds: bindings
                )
            )
            start += perStatement
        }
    }

    /// After an import: the id sequences continue after the copied ids.
    public func finishImport() async throws {
        for table in [
            "accounts", "license_keys", "apps", "deployments", "traces", "error_groups", "process_events", "users",
            "api_tokens", "alert_channels", "alert_conditions", "alert_incidents", "alert_deliveries", "issue_events",
            "error_samples", "log_records", "metric_series",
        ] {
            try await execute(
                PostgresQuery(
                    unsafeSQL:
                        "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \(table)"
                )
            )
        }
    }

    private func columnTypes(of table: String) async throws -> [String: String] {
        var types: [String: String] = [:]
        for row in try await rows(
            """
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = \(table)
            """
        ) {
            types[try row.get("column_name")] = try row.get("data_type")
        }
        return types
    }

    private static func bind(_ value: StorageValue, as type: String, into bindings: inout PostgresBindings) throws {
        switch (value, type) {
        case (.null, _): bindings.appendNull()
        case (.integer(let number), "boolean"): bindings.append(number != 0)
        case (.integer(let number), "smallint"): bindings.append(Int16(clamping: number))
        case (.integer(let number), "double precision"): bindings.append(Double(number))
        case (.integer(let number), _): bindings.append(number)
        case (.real(let number), "bigint"):
            bindings.append(Int64(exactly: number.rounded()) ?? (number > 0 ? .max : .min))
        case (.real(let number), _): bindings.append(number)
        case (.text(let text), "bytea"): bindings.append(ByteBuffer(bytes: Array(text.utf8)))
        case (.text(let text), _): bindings.append(text)
        case (.blob(let data), "text"): bindings.append(String(decoding: data, as: UTF8.self))
        case (.blob(let data), _): bindings.append(ByteBuffer(bytes: data))
        }
    }
}
