import APMCore
import APMStorage
import Crypto
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// What one settling pass did.
public struct SpanSettlement: Sendable, Hashable {
    /// Transactions counted.
    public var transactions = 0
    /// Spans given up on: their transaction did not arrive within `otlp_trace_wait`.
    public var unmatchedSpans = 0
    /// Spans still waiting.
    public var pendingSpans = 0

    /// Creates a settlement.
    ///
    /// - Parameters:
    ///   - transactions: Transactions counted.
    ///   - unmatchedSpans: Spans given up on.
    ///   - pendingSpans: Spans still waiting.
    public init(transactions: Int = 0, unmatchedSpans: Int = 0, pendingSpans: Int = 0) {
        self.transactions = transactions
        self.unmatchedSpans = unmatchedSpans
        self.pendingSpans = pendingSpans
    }
}

/// The number of pending spans, known without counting the table on every export: read from the store after each
/// settling pass and raised by each export kept in between.
final class PendingSpanCounter: Sendable {
    private let value = Mutex<Int?>(nil)

    func current(_ store: any PendingSpanStore) async throws -> Int {
        if let known = value.withLock({ $0 }) { return known }
        let counted = try await store.pendingSpanCount()
        value.withLock { $0 = counted }
        return counted
    }

    func add(_ count: Int) { value.withLock { $0 = ($0 ?? 0) + count } }
    func set(_ count: Int) { value.withLock { $0 = count } }
}

extension Collector {
    /// Counts the OTLP transactions whose trace has had `otlp_trace_wait` to arrive: each with every segment kept
    /// for it, whichever export brought it; segments whose transaction never came are counted as unmatched
    /// (`apm_otlp_spans_unmatched_total`). Each pass writes its batches and removes their spans in one store
    /// transaction, so a crash in between counts nothing twice and loses nothing acknowledged; a pass that
    /// finds a span already gone (another collector settled it) writes nothing and reads again.
    ///
    /// - Returns: What was settled.
    @discardableResult
    public func settlePendingSpans() async throws -> SpanSettlement {
        let wait = Double(configuration.otlp.traceWait.components.seconds)
        var settlement = SpanSettlement()
        let decoder = JSONDecoder()
        while true {
            let now = self.now()
            let cutoff = now - wait
            let pending = try await store.pendingSpans(receivedBefore: cutoff, traceLimit: 500)
            guard !pending.isEmpty else { break }
            var keys: [PendingSpanKey] = []
            var unmatched = 0
            var byAccount: [Int64: [(key: PendingSpanKey, span: OTLPTranslator.ReadSpan)]] = [:]
            for span in pending {
                guard let read = try? decoder.decode(OTLPTranslator.ReadSpan.self, from: span.payload) else {
                    // Written by another version and unreadable: given up on, as a span never matched.
                    keys.append(span.key)
                    unmatched += 1
                    continue
                }
                byAccount[span.accountID, default: []].append((span.key, read))
            }
            var items: [IngestItem] = []
            var transactions = 0
            for (accountID, spans) in byAccount {
                let apps = try await store.apps(accountID: accountID)
                let digest = SHA256.hash(
                    data: Data(spans.map { $0.key.traceID + $0.key.spanID }.sorted().joined().utf8)
                ).prefix(16).map { String(format: "%02x", $0) }.joined()
                let assembly = OTLPTranslator.assemble(
                    spans.map(\.span),
                    receivedAt: now,
                    batchID: { "otlp-settled-\(digest)-\($0)" },
                    isDue: { $0.receivedAt <= cutoff },
                    apdex: { name in
                        let app = apps.first { $0.name == name }
                        return (app?.apdexT ?? ApdexThreshold.default.seconds, app?.transactionApdexT ?? [:])
                    }
                )
                for var batch in assembly.batches {
                    do {
                        try batch.validate(now: now)
                    } catch {
                        // Spans kept past the batch limits (a collector stopped for days): not countable any more.
                        logger.warning("settled OTLP spans of \(batch.agent.appName) dropped: \(error)")
                        continue
                    }
                    batch.applySampleCaps(configuration.limits.samples)
                    items.append(IngestItem(accountID: accountID, batch: batch, receivedAt: now))
                }
                keys += (assembly.consumed + assembly.unmatched).map { spans[$0].key }
                unmatched += assembly.unmatched.count
                transactions += assembly.transactions
            }
            guard !keys.isEmpty else { break }
            guard
                let outcomes = try await store.settleSpans(
                    items,
                    removing: keys,
                    limits: configuration.limits.cardinality
                )
            else { continue }
            for (item, outcome) in zip(items, outcomes) {
                if let rejection = outcome.rejection {
                    logger.warning("settled OTLP spans of \(item.batch.agent.appName) not stored: \(rejection)")
                } else if !outcome.duplicate {
                    metrics.accepted.increment()
                    metrics.transactionsIngested.increment(
                        by: Int64(item.batch.intervals.reduce(0) { $0 + $1.transactions.reduce(0) { $0 + $1.count } })
                    )
                }
            }
            settlement.transactions += transactions
            settlement.unmatchedSpans += unmatched
        }
        settlement.pendingSpans = try await store.pendingSpanCount()
        pendingSpanCounter.set(settlement.pendingSpans)
        metrics.pendingSpans.set(Double(settlement.pendingSpans))
        metrics.unmatchedSpans.increment(by: Int64(settlement.unmatchedSpans))
        return settlement
    }
}

/// The spans given up on since the last warning: at most one warning a minute.
final class UnmatchedSpanReport: Sendable {
    private let state = Mutex((count: 0, lastWarning: ContinuousClock.now))

    /// Adds spans given up on; returns how many to warn about when a warning is due.
    func add(_ count: Int) -> Int? {
        state.withLock { state in
            state.count += count
            guard state.count > 0, ContinuousClock.now - state.lastWarning >= .seconds(60) else { return nil }
            defer { state = (0, ContinuousClock.now) }
            return state.count
        }
    }
}
