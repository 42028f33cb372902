import APMCore
import APMStorage

extension Collector {
    /// Per-transaction T overrides an app may have: every ingest reply carries them all, so they are bounded.
    static let maxTransactionApdexOverrides = 500

    /// Sets the app's T or a transaction's (`nil` seconds removes a transaction's override), with the rules the
    /// API, the dashboard and the CLI share: T within ``ApdexThreshold/allowedSeconds``, a transaction name of 1 to
    /// 1,024 bytes, at most ``maxTransactionApdexOverrides`` overrides per app.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: A transaction, or `nil` for the app.
    ///   - seconds: The T, `nil` to remove a transaction's override.
    /// - Throws: ``APIError`` (400) naming the field at fault.
    func setApdex(app: StoredApp, transaction: String?, seconds: Double?) async throws {
        if let seconds {
            guard ApdexThreshold(seconds: seconds) != nil else {
                throw APIError.badRequest("apdex_t", "must be \(ApdexThreshold.allowedDescription)")
            }
        } else if transaction == nil {
            throw APIError.badRequest("apdex_t", "is required for the app's T (null removes a transaction's override)")
        }
        if let transaction {
            guard !transaction.isEmpty, transaction.utf8.count <= 1024 else {
                throw APIError.badRequest("transaction", "must be a transaction name of 1 to 1024 bytes")
            }
            if seconds != nil, app.transactionApdexT[transaction] == nil,
                app.transactionApdexT.count >= Self.maxTransactionApdexOverrides
            {
                throw APIError.badRequest(
                    "transaction",
                    "the app has \(Self.maxTransactionApdexOverrides) per-transaction T overrides, the limit; remove one first (apdex_t null)"
                )
            }
        }
        try await store.setApdex(appID: app.id, transaction: transaction, seconds: seconds)
    }
}
