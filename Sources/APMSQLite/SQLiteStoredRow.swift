package import APMStorage
import GRDB

/// SQLite's rows as ``StoredRow``s.
extension Row: StoredRow {
    package func value<Value: StoredColumnValue>(_ column: String) throws -> Value? {
        guard hasColumn(column) else { return nil }
        let stored: DatabaseValue = self[column]
        if stored.isNull { return nil }
        let converted: (any StoredColumnValue)? =
            switch Value.self {
            case is Int64.Type: Int64.fromDatabaseValue(stored)
            case is Int.Type: Int.fromDatabaseValue(stored)
            case is Double.Type: Double.fromDatabaseValue(stored)
            case is String.Type: String.fromDatabaseValue(stored)
            default: nil
            }
        guard let value = converted as? Value else {
            throw StoreError(.damaged, "the stored column \(column) holds \(stored), not a \(Value.self)")
        }
        return value
    }
}
