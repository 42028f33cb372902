import APMCore
import Testing

@testable import APMAgent

/// Transactions that end before the agent knows the collector's T wait, unclassified, for it.
@Suite struct DeferredClassificationTests {
    static func record(_ aggregator: Aggregator, _ name: String, seconds: Double, error: Bool = false) {
        _ = aggregator.record(
            name: name,
            kind: .web,
            endUnixNanoseconds: 1_764_000_030_000_000_000,
            duration: UInt64(seconds * 1e9),
            isError: error,
            database: 0,
            external: 0,
            segments: [],
            overflowSegments: [:],
            transactionEnd: 0
        )
    }

    static func aggregator() -> Aggregator {
        Aggregator(
            apdex: .default,
            maxTransactionNames: 100,
            maxSegmentNames: 100,
            memoryBudget: 1 << 20,
            awaitCollectorT: true
        )
    }

    @Test func keptTransactionsAreClassifiedAtTheTTheCollectorSends() throws {
        let aggregator = Self.aggregator()
        for seconds in [0.2, 0.75, 0.75, 3.5] { Self.record(aggregator, "GET /a", seconds: seconds) }
        Self.record(aggregator, "GET /a", seconds: 0.1, error: true)
        // The collector's answer: T = 1 s for the app, 0.1 s for GET /b.
        aggregator.updateApdex(
            .init(app: ApdexThreshold(seconds: 1)!, transactions: ["GET /b": ApdexThreshold(seconds: 0.1)!])
        )
        for seconds in [0.5, 1.5] { Self.record(aggregator, "GET /a", seconds: seconds) }
        Self.record(aggregator, "GET /b", seconds: 0.2)
        let harvest = aggregator.harvest()
        let a = try #require(harvest.transactions.first { $0.key.name == "GET /a" })
        #expect(harvest.transactions.count == 2)
        #expect(a.key.apdexNanoseconds == 1_000_000_000)
        // 0.2, 0.75, 0.75, 0.5 satisfied; 1.5 and 3.5 tolerating (4T = 4 s); the error frustrated.
        #expect(a.value.apdex == ApdexCounts(satisfied: 4, tolerating: 2, frustrated: 1))
        #expect(a.value.count == 7 && a.value.unclassified.isEmpty)
        let b = try #require(harvest.transactions.first { $0.key.name == "GET /b" })
        #expect(b.key.apdexNanoseconds == 100_000_000 && b.value.apdex.tolerating == 1)
    }

    @Test func withoutAnAnswerTheHarvestClassifiesAtTheLocalTAndSaysSo() throws {
        let aggregator = Self.aggregator()
        for seconds in [0.2, 0.75] { Self.record(aggregator, "GET /a", seconds: seconds) }
        let harvest = aggregator.harvest()
        let a = try #require(harvest.transactions.first)
        #expect(harvest.transactions.count == 1)
        #expect(a.key.apdexNanoseconds == 500_000_000)
        #expect(a.value.apdex == ApdexCounts(satisfied: 1, tolerating: 1, frustrated: 0))
    }

    @Test func pastTheMemoryBoundTransactionsAreClassifiedAtOnce() throws {
        // Kept durations may take a quarter of the budget: 256 of them here.
        let aggregator = Aggregator(
            apdex: .default,
            maxTransactionNames: 100,
            maxSegmentNames: 100,
            memoryBudget: 8 * 1024,
            awaitCollectorT: true
        )
        for _ in 0..<300 { Self.record(aggregator, "GET /a", seconds: 0.75) }
        aggregator.updateApdex(.init(app: ApdexThreshold(seconds: 1)!))
        let harvest = aggregator.harvest()
        let total = harvest.transactions.values.reduce(0) { $0 + $1.count }
        #expect(total == 300)
        // Those kept moved to T = 1 s; the rest were classified at the local T and are labelled with it.
        let atOne = try #require(harvest.transactions.first { $0.key.apdexNanoseconds == 1_000_000_000 })
        let atLocal = try #require(harvest.transactions.first { $0.key.apdexNanoseconds == 500_000_000 })
        #expect(atOne.value.apdex.satisfied == atOne.value.count && atOne.value.count == 256)
        #expect(atLocal.value.apdex.tolerating == atLocal.value.count && atLocal.value.count == 44)
    }
}
