import APMCore
public import APMStorage
import Foundation
import GRDB

/// The sampled traces of a range, and one trace.
extension SQLiteStore {
    /// Slowest traces.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction or `nil`.
    ///   - range: Unix seconds.
    ///   - limit: At most this many.
    /// - Returns: Traces.
    public func traces(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        limit: Int
    ) async throws -> [StoredTrace] {
        try await writer.read { db in
            var arguments: StatementArguments = [appID, range.lowerBound, range.upperBound]
            if let transaction { arguments += [transaction] }
            arguments += [limit]
            let decoder = WireCoding.makeDecoder()
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT id, payload FROM traces WHERE app_id = ? AND start >= ? AND start < ?
                    \(transaction == nil ? "" : "AND transaction_name = ?")
                    ORDER BY duration DESC LIMIT ?
                    """,
                arguments: arguments
            ).map {
                StoredTrace(
                    id: $0["id"],
                    trace: try decoder.decode(TransactionTrace.self, from: Data(($0["payload"] as String).utf8))
                )
            }
        }
    }

    /// One trace.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - id: The trace.
    /// - Returns: The trace or `nil`.
    public func trace(appID: Int64, id: Int64) async throws -> StoredTrace? {
        try await writer.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT id, payload FROM traces WHERE app_id = ? AND id = ?",
                arguments: [appID, id]
            ).map {
                StoredTrace(
                    id: $0["id"],
                    trace: try WireCoding.makeDecoder().decode(
                        TransactionTrace.self,
                        from: Data(($0["payload"] as String).utf8)
                    )
                )
            }
        }
    }
}
