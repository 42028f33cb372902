/// OTLP spans parked until their trace is complete, then settled into transactions (shared by every collector of the store).
public protocol PendingSpanStore: Sendable {
    /// Keeps an export's spans until their traces are settled, once per export id.
    ///
    /// - Parameters:
    ///   - spans: The spans.
    ///   - accountID: The account.
    ///   - exportID: The export's id; a second export with the same id adds nothing.
    ///   - receivedAt: Receipt time.
    /// - Returns: `false` when the export was stored before.
    func parkSpans(_ spans: [PendingSpan], accountID: Int64, exportID: String, receivedAt: Double) async throws -> Bool

    /// Every pending span of up to `traceLimit` traces with a transaction received before `cutoff`, or with no
    /// transaction and a span received before it.
    ///
    /// - Parameters:
    ///   - cutoff: The time before which spans have waited long enough.
    ///   - traceLimit: Traces at most.
    /// - Returns: The spans.
    func pendingSpans(receivedBefore cutoff: Double, traceLimit: Int) async throws -> [PendingSpan]

    /// Writes batches settled from pending spans and removes the spans, in one transaction.
    ///
    /// - Parameters:
    ///   - items: The batches.
    ///   - keys: The spans to remove.
    ///   - limits: Cardinality caps.
    /// - Returns: The outcomes, or `nil` with nothing written when a span was no longer pending.
    func settleSpans(
        _ items: [IngestItem],
        removing keys: [PendingSpanKey],
        limits: CardinalityLimits
    ) async throws
        -> [IngestOutcome]?

    /// How many spans are pending.
    func pendingSpanCount() async throws -> Int
}
