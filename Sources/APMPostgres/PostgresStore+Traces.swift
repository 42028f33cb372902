import APMCore
public import APMStorage
import Foundation
import NIOCore
import PostgresNIO

/// The sampled traces of a range, and one trace.
extension PostgresStore {
    /// As ``APMStore`` describes it, on PostgreSQL.
    public func traces(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        limit: Int
    ) async throws -> [StoredTrace] {
        let decoder = WireCoding.makeDecoder()
        return try await rows(
            """
            SELECT id, payload FROM traces WHERE app_id = \(appID) AND start >= \(Double(range.lowerBound))
                AND start < \(Double(range.upperBound)) AND (\(transaction)::text IS NULL OR transaction_name = \(transaction))
            ORDER BY duration DESC LIMIT \(Int64(limit))
            """
        ).map {
            StoredTrace(
                id: try $0.get("id"),
                trace: try decoder.decode(
                    TransactionTrace.self,
                    from: Data(try $0.get("payload", as: String.self).utf8)
                )
            )
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func trace(appID: Int64, id: Int64) async throws -> StoredTrace? {
        try await rows("SELECT id, payload FROM traces WHERE app_id = \(appID) AND id = \(id)").first.map {
            StoredTrace(
                id: try $0.get("id"),
                trace: try WireCoding.makeDecoder().decode(
                    TransactionTrace.self,
                    from: Data(try $0.get("payload", as: String.self).utf8)
                )
            )
        }
    }
}
