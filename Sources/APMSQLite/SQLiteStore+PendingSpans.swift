import APMCore
public import APMStorage
import Foundation
import GRDB
import Synchronization

extension SQLiteStore {
    /// Keeps an export's spans until their traces are settled, once per export: the export's id is recorded
    /// with the spans in one transaction, so a retried export adds nothing (also after its spans were settled).
    ///
    /// - Parameters:
    ///   - spans: The export's valid spans.
    ///   - accountID: The account.
    ///   - exportID: The export's id (a digest of its body).
    ///   - receivedAt: Receipt time.
    /// - Returns: `false` when the export was stored before (a retry).
    public func parkSpans(
        _ spans: [PendingSpan],
        accountID: Int64,
        exportID: String,
        receivedAt: Double
    ) async throws -> Bool {
        try await writer.write { db in
            let seen =
                try Bool.fetchOne(
                    db,
                    sql: "SELECT 1 FROM batches WHERE account_id = ? AND batch_id = ?",
                    arguments: [accountID, exportID]
                ) ?? false
            guard !seen else { return false }
            // App 0: the export is not one app's until its spans are settled into batches of their own.
            try db.execute(
                sql: "INSERT INTO batches (account_id, batch_id, app_id, received_at) VALUES (?, ?, 0, ?)",
                arguments: [accountID, exportID, receivedAt]
            )
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO pending_spans
                        (account_id, trace_id, span_id, is_transaction, received_at, payload)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """
            )
            for span in spans {
                try statement.execute(arguments: [
                    span.accountID, span.traceID, span.spanID, span.isTransaction, span.receivedAt, span.payload,
                ])
            }
            return true
        }
    }

    /// Every pending span of up to `limit` traces that have something to settle: a transaction received before
    /// `cutoff`, or (without any transaction) a span received before it, whose transaction never came.
    ///
    /// - Parameters:
    ///   - cutoff: Spans received before this have waited long enough.
    ///   - limit: Traces at most.
    /// - Returns: The spans, grouped by nothing in particular.
    public func pendingSpans(receivedBefore cutoff: Double, traceLimit limit: Int) async throws -> [PendingSpan] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    WITH due AS (
                        SELECT account_id, trace_id FROM pending_spans
                            WHERE received_at <= ?1 AND is_transaction = 1
                        UNION
                        SELECT account_id, trace_id FROM pending_spans AS p
                            WHERE received_at <= ?1 AND is_transaction = 0 AND NOT EXISTS (
                                SELECT 1 FROM pending_spans AS t WHERE t.account_id = p.account_id
                                    AND t.trace_id = p.trace_id AND t.is_transaction = 1)
                        LIMIT ?2
                    )
                    SELECT pending_spans.* FROM pending_spans JOIN due USING (account_id, trace_id)
                    """,
                arguments: [cutoff, limit]
            ).map { row in
                PendingSpan(
                    accountID: row["account_id"],
                    traceID: row["trace_id"],
                    spanID: row["span_id"],
                    isTransaction: row["is_transaction"],
                    receivedAt: row["received_at"],
                    payload: row["payload"]
                )
            }
        }
    }

    /// Writes the batches settled from pending spans and removes those spans, in one transaction.
    ///
    /// - Parameters:
    ///   - items: The batches.
    ///   - keys: The spans they were made of, and spans given up on.
    ///   - limits: Cardinality caps.
    /// - Returns: The batches' outcomes, or `nil` (nothing written) when a span was no longer pending: another
    ///   collector settled it first.
    public func settleSpans(
        _ items: [IngestItem],
        removing keys: [PendingSpanKey],
        limits: CardinalityLimits
    ) async throws -> [IngestOutcome]? {
        struct AlreadySettled: Error {}
        do {
            let plan = try await writer.write { db in
                let statement = try db.cachedStatement(
                    sql: "DELETE FROM pending_spans WHERE account_id = ? AND trace_id = ? AND span_id = ?"
                )
                for key in keys {
                    try statement.execute(arguments: [key.accountID, key.traceID, key.spanID])
                    guard db.changesCount == 1 else { throw AlreadySettled() }
                }
                return try self.commitItems(db, items, limits: limits)
            }
            rememberCommitted(plan)
            return plan.outcomes
        } catch is AlreadySettled {
            return nil
        }
    }

    /// How many spans are pending.
    public func pendingSpanCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pending_spans") ?? 0 }
    }
}
