import APMAgent
import APMCore
import APMTesting
import Testing

/// `withSegment { }` and its datastore and external forms: the segment ends when the block returns or throws,
/// with the block's time, a thrown error marks it failed and comes back unchanged, nesting works.
@Suite struct ScopedSegmentTests {
    struct Declined: Error, Equatable {}

    @Test func blocksAreTimedEndedAndFailedByWhatTheyThrow() async throws {
        let (agent, clock, collector) = KnownWorkloadTests.startedAgent()
        let transaction = agent.startWebTransaction(method: "POST", route: "/checkout")
        let rendered = transaction.withSegment("render receipt") { _ in
            clock.advance(seconds: 0.020)
            return "receipt"
        }
        #expect(rendered == "receipt")
        // A block that cannot throw needs no `try` (typed throws: Never).
        let rows = await transaction.withSegment("load cart") { outer in
            clock.advance(seconds: 0.010)
            return await transaction.withDatastoreSegment(
                system: "postgresql",
                statement: "SELECT * FROM carts WHERE id = $1",
                parent: outer
            ) { _ in
                clock.advance(seconds: 0.100)
                return 3
            }
        }
        #expect(rows == 3)
        await #expect(throws: Declined()) {
            try await transaction.withExternalSegment(host: "payments.example", method: "POST") { segment in
                clock.advance(seconds: 0.200)
                segment.setStatus(402)
                throw Declined()
            }
        }
        await transaction.withExternalSegment(host: "mail.example") { segment in
            clock.advance(seconds: 0.050)
            segment.setStatus(503)
        }
        transaction.end()
        await agent.shutdown()

        let segments = collector.acceptedBatches.flatMap { $0.intervals.flatMap(\.segments) }
        func segment(_ name: String) throws -> SegmentMetric { try #require(segments.first { $0.name == name }) }
        let render = try segment("render receipt")
        #expect(render.count == 1 && abs(render.totalDuration - 0.020) < 1e-9 && render.errorCount == 0)
        let load = try segment("load cart")
        #expect(abs(load.totalDuration - 0.110) < 1e-9 && abs(load.exclusiveDuration - 0.010) < 1e-9)
        let query = try segment("Postgres SELECT carts")
        #expect(abs(query.totalDuration - 0.100) < 1e-9)
        let payment = try segment("External payments.example")
        #expect(abs(payment.totalDuration - 0.200) < 1e-9 && payment.errorCount == 1, "failed by the error thrown")
        let mail = try segment("External mail.example")
        #expect(abs(mail.totalDuration - 0.050) < 1e-9 && mail.errorCount == 1, "failed by its 503")
        let metric = try #require(collector.acceptedTransactions.first)
        #expect(abs(metric.breakdown.database - 0.100) < 1e-9 && abs(metric.breakdown.external - 0.250) < 1e-9)
        #expect(metric.errorCount == 0, "a failed segment alone does not fail the transaction")
    }
}
