import APMStorage
import PostgresNIO

/// PostgreSQL's rows as ``StoredRow``s.
struct PostgresStoredRow: StoredRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRandomAccessRow) { self.row = row }

    func value<Value: StoredColumnValue>(_ column: String) throws -> Value? {
        guard row.contains(column) else { return nil }
        let converted: (any StoredColumnValue)?
        switch Value.self {
        case is Int64.Type: converted = try row.get(column, as: Int64?.self)
        case is Int.Type: converted = try row.get(column, as: Int?.self)
        case is Double.Type: converted = try row.get(column, as: Double?.self)
        case is String.Type: converted = try row.get(column, as: String?.self)
        default: throw StoreError(.damaged, "the stored column \(column) cannot be read as a \(Value.self)")
        }
        guard let converted else { return nil }
        guard let value = converted as? Value else {
            throw StoreError(.damaged, "the stored column \(column) cannot be read as a \(Value.self)")
        }
        return value
    }
}
