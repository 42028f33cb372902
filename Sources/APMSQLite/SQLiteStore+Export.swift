import APMStorage
public import Foundation
import GRDB

/// A stored value, as a backend-neutral copy of a row carries it.
public enum StorageValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// Rows of one table read for a copy to another store.
public struct StoredRows: Sendable {
    /// The columns, in the order of each row's values.
    public var columns: [String]
    /// The rows.
    public var rows: [[StorageValue]]
    /// Where the next page starts (the last row's key), `nil` after the last page.
    public var next: [StorageValue]?
}

extension SQLiteStore {
    /// Every table `apm migrate-storage` copies, parents before children.
    public static let copiedTables = [
        "accounts", "license_keys", "users", "api_tokens", "sessions", "sign_in_throttle", "installation", "apps",
        "transaction_apdex", "app_names", "name_overflow_examples", "batches", "deployments", "traces", "error_groups",
        "error_minutes", "drop_minutes", "txn_minutes", "txn_hours", "app_minutes", "app_hours", "seg_minutes",
        "seg_hours", "process_minutes", "process_events", "pending_spans", "leases", "alert_channels",
        "alert_conditions", "alert_incidents", "alert_deliveries", "issue_events",
        "error_facets", "error_samples", "error_group_aliases", "log_records", "log_counts", "log_volume",
        "metric_series", "metric_minutes", "metric_hours",
    ]

    /// Rows in a table.
    ///
    /// - Parameter table: One of ``copiedTables``.
    /// - Returns: The count.
    public func rowCount(of table: String) async throws -> Int {
        guard Self.copiedTables.contains(table) else { return 0 }
        return try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    /// One page of a table in primary-key order, after the key `after` (keyset paging: every page costs the same).
    ///
    /// - Parameters:
    ///   - table: One of ``copiedTables``.
    ///   - after: The previous page's ``StoredRows/next``, `nil` for the first page.
    ///   - limit: Rows per page.
    /// - Returns: The rows.
    public func rows(of table: String, after: [StorageValue]?, limit: Int) async throws -> StoredRows {
        precondition(Self.copiedTables.contains(table), "not a copied table: \(table)")
        return try await writer.read { db in
            var key = try String.fetchAll(
                db,
                sql: "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk",
                arguments: [table]
            )
            let columns = try String.fetchAll(
                db,
                sql: "SELECT name FROM pragma_table_info(?) ORDER BY cid",
                arguments: [table]
            )
            if key.isEmpty { key = ["rowid"] }
            let keyList = key.joined(separator: ", ")
            var sql = "SELECT \(columns.joined(separator: ", ")), \(keyList) FROM \(table)"
            var arguments = StatementArguments()
            if let after {
                sql += " WHERE (\(keyList)) > (\(Array(repeating: "?", count: key.count).joined(separator: ", ")))"
                arguments = StatementArguments(after.map(Self.databaseValue))
            }
            sql += " ORDER BY \(keyList) LIMIT \(limit)"
            var rows: [[StorageValue]] = []
            var last: [StorageValue]?
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                let values = (0..<row.count).map { Self.storageValue(row[$0] as DatabaseValue) }
                rows.append(Array(values[..<columns.count]))
                last = Array(values[columns.count...])
            }
            return StoredRows(columns: columns, rows: rows, next: rows.count == limit ? last : nil)
        }
    }

    private static func storageValue(_ value: DatabaseValue) -> StorageValue {
        switch value.storage {
        case .null: .null
        case .int64(let number): .integer(number)
        case .double(let number): .real(number)
        case .string(let text): .text(text)
        case .blob(let data): .blob(data)
        }
    }

    private static func databaseValue(_ value: StorageValue) -> DatabaseValue {
        switch value {
        case .null: .null
        case .integer(let number): number.databaseValue
        case .real(let number): number.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let data): data.databaseValue
        }
    }
}
