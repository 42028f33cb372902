import APMCore
import APMTesting
import Foundation
import Logging
import Testing

@testable import APMAgent

@Suite(.serialized) struct DeliveryTests {
    /// Records `count` web transactions named `GET /work`.
    static func record(_ agent: APMAgent, count: Int) {
        for _ in 0..<count {
            let transaction = agent.startWebTransaction(method: "GET", route: "/work")
            transaction.setStatus(200)
            transaction.end()
        }
    }

    @Test func outageOfEveryKindThenHealthyDeliversEveryCountExactlyOnce() async throws {
        let port = LoopbackCollector.freePort()
        let collector = LoopbackCollector(port: port)
        let agent = APMAgent(
            configuration: TestSupport.configuration {
                $0.collectorURL = "http://127.0.0.1:\(port)"
                $0.harvestInterval = .milliseconds(100)
                // Short enough to see the hung request time out quickly, long enough that the final flush is
                // not mistaken for a hang on a loaded machine (the whole suite, a browser and a build at once);
                // the flush's deadline is generous for the same reason.
                $0.requestTimeout = .milliseconds(1_000)
                $0.shutdownTimeout = .seconds(10)
            },
            logger: TestSupport.quietLogger
        )
        agent.start()

        // 1. Nothing listens: connections are refused.
        Self.record(agent, count: 300)
        #expect(await TestSupport.waitUntil { agent.statistics.failedAttempts >= 2 })
        let refusedBatch = try #require(agent.statistics.retryingBatchID)

        // 2. The collector comes up, but stores a batch and never answers, then answers 503 with Retry-After.
        collector.script([.commitThenHang, .status(503, retryAfter: "0"), .status(503), .status(429, retryAfter: "0")])
        try await collector.run {
            Self.record(agent, count: 200)
            #expect(
                await TestSupport.waitUntil(seconds: 20) {
                    collector.committed.reduce(0) {
                        $0 + $1.intervals.flatMap(\.transactions).reduce(0) { $0 + $1.count }
                    } == 500
                        && agent.statistics.retryingBatchID == nil
                }
            )
            Self.record(agent, count: 100)
            await agent.shutdown()
        }

        let committed = collector.committed
        let total = committed.reduce(UInt64(0)) { sum, batch in
            sum + batch.intervals.reduce(UInt64(0)) { $0 + $1.transactions.reduce(UInt64(0)) { $0 + $1.count } }
        }
        #expect(total == 600)
        let ids = collector.attemptIDs
        // The refused batch was retried with its id, and the hung batch was sent again with the same id.
        #expect(ids.contains(refusedBatch))
        #expect(ids.count > Set(ids).count)
        #expect(Set(committed.map(\.batchID)).count == committed.count)
        #expect(agent.statistics.batchesDropped == 0)
    }

    /// The last harvest is not lost to one failed attempt: the final flush tries again while shutdown_timeout allows.
    @Test func theFinalFlushIsRetriedWithinTheShutdownDeadline() async throws {
        let port = LoopbackCollector.freePort()
        let collector = LoopbackCollector(port: port)
        let agent = APMAgent(
            configuration: TestSupport.configuration {
                $0.collectorURL = "http://127.0.0.1:\(port)"
                $0.harvestInterval = .seconds(3600)
                $0.shutdownTimeout = .seconds(20)
            },
            logger: TestSupport.quietLogger
        )
        collector.script([.status(503, retryAfter: "0"), .status(503)])
        try await collector.run {
            agent.start()
            Self.record(agent, count: 50)
            await agent.shutdown()
        }
        let total = collector.committed.reduce(UInt64(0)) { sum, batch in
            sum + batch.intervals.reduce(UInt64(0)) { $0 + $1.transactions.reduce(UInt64(0)) { $0 + $1.count } }
        }
        #expect(total == 50)
        // One batch, tried past its two refusals (a busy machine may time an attempt out and add one, same id).
        #expect(
            collector.attemptIDs.count >= 3 && Set(collector.attemptIDs).count == 1,
            "\(collector.attemptIDs)"
        )
    }

    @Test func memoryStaysUnderTheBoundDuringALongOutageAndDropsAreCounted() async throws {
        let clock = ManualAgentClock()
        let collector = InMemoryCollectorTransport()
        collector.setDefaultReply(.connectionRefused)
        let limit = 1 << 20
        let agent = APMAgent(
            configuration: TestSupport.configuration {
                $0.maxMemoryBytes = limit
                $0.maxTransactionNames = 100_000
                $0.harvestInterval = .milliseconds(20)
                $0.retryInitialBackoff = .seconds(30)
            },
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        // 100 names × many minutes, far more than 1 MiB of aggregates. Each minute is a harvest and, every other
        // minute or so, a refused retry: the loop follows the manual clock.
        var maxBuffered = 0
        for minute in 0..<120 {
            for name in 0..<100 {
                let transaction = agent.startBackgroundTransaction(name: "job-\(name)x")
                clock.advance(nanoseconds: UInt64(1_000_000 + name * 10_000))
                transaction.end()
            }
            let harvests = agent.statistics.harvests
            await TestSupport.step(clock, milliseconds: 60_000)
            #expect(await TestSupport.waitUntil { agent.statistics.harvests > harvests })
            if minute % 10 == 9 { maxBuffered = max(maxBuffered, agent.statistics.bufferedBytes) }
        }
        #expect(agent.statistics.droppedTransactions > 0)
        #expect(maxBuffered <= limit / 2)
        #expect(agent.statistics.bufferedBytes <= limit / 2)
        #expect(collector.attempts.count + agent.statistics.failedAttempts > 0)

        // Once the collector is back, what was kept arrives with the drop count.
        collector.setDefaultReply(.accept())
        await TestSupport.step(clock, milliseconds: 60_000)
        await agent.shutdown()
        let delivered = collector.acceptedTransactions.reduce(0) { $0 + $1.count }
        let dropped = collector.acceptedBatches.reduce(0) { $0 + $1.dropped.transactions }
        #expect(delivered > 0)
        #expect(delivered + dropped == 12_000)
    }

    /// A 401 no longer stops delivery until a restart: the agent keeps what fits, tries again rarely, says so
    /// once, and delivers everything kept once the key is accepted (before: 1,500 requests lost in a run).
    @Test func aRejectedKeyIsRetriedRarelyAndWhatWasKeptIsDeliveredOnceAccepted() async throws {
        let clock = ManualAgentClock()
        let collector = InMemoryCollectorTransport()
        collector.setDefaultReply(.status(401))
        let log = CapturedLog()
        let agent = APMAgent(
            configuration: TestSupport.configuration {
                $0.harvestInterval = .milliseconds(20)
                $0.keyRejectedRetryInterval = .milliseconds(400)
                $0.logLevel = .warning
            },
            logger: log.logger,
            clock: clock,
            transport: collector
        )
        agent.start()
        Self.record(agent, count: 10)
        await TestSupport.step(clock, milliseconds: 20)
        #expect(await TestSupport.waitUntil { agent.statistics.keyRejected })
        Self.record(agent, count: 10)
        // A second of harvests every 20 ms: the refused batch is tried again at +400 and +800 ms only, not once
        // per harvest.
        for _ in 0..<50 { await TestSupport.step(clock, milliseconds: 20) }
        #expect(await TestSupport.waitUntil { clock.waitingSleepers > 0 })
        #expect(collector.attempts.count == 3, "\(collector.attempts.count) attempts")
        #expect(log.messages.filter { $0.contains("rejected the license key") }.count == 1)

        collector.setDefaultReply(.accept())
        Self.record(agent, count: 10)
        for _ in 0..<20 { await TestSupport.step(clock, milliseconds: 20) }
        #expect(
            await TestSupport.waitUntil {
                collector.acceptedTransactions.reduce(0) { $0 + $1.count } == 30
            }
        )
        #expect(!agent.statistics.keyRejected)
        await agent.shutdown()
        #expect(collector.acceptedTransactions.reduce(0) { $0 + $1.count } == 30)
    }

    @Test func tooLargeDropsSamplesBeforeMetrics() async throws {
        let clock = ManualAgentClock()
        let collector = InMemoryCollectorTransport()
        collector.script([.status(413)])
        let agent = APMAgent(
            configuration: TestSupport.configuration(),
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        let transaction = agent.startWebTransaction(method: "GET", route: "/slow")
        clock.advance(seconds: 5)
        transaction.setStatus(500)
        transaction.end()
        await agent.shutdown()
        let attempts = collector.attempts
        #expect(attempts.count == 2)
        #expect(attempts[0].batchID == attempts[1].batchID)
        #expect(!attempts[0].traces.isEmpty && !attempts[0].errors.isEmpty)
        #expect(attempts[1].traces.isEmpty && attempts[1].errors.isEmpty)
        #expect(collector.acceptedTransactions.first?.count == 1)
    }

    @Test func invalidBatchRejectionDropsItAndDeliveryGoesOn() async throws {
        let clock = ManualAgentClock()
        let collector = InMemoryCollectorTransport()
        collector.script([.status(400)])
        let agent = APMAgent(
            configuration: TestSupport.configuration { $0.harvestInterval = .milliseconds(20) },
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        Self.record(agent, count: 5)
        await TestSupport.step(clock, milliseconds: 20)
        #expect(await TestSupport.waitUntil { agent.statistics.batchesDropped == 1 })
        Self.record(agent, count: 7)
        await agent.shutdown()
        #expect(collector.acceptedTransactions.reduce(0) { $0 + $1.count } == 7)
    }

    @Test func shutdownFlushesWithinTheDeadlineEvenWhenTheCollectorHangs() async throws {
        let port = LoopbackCollector.freePort()
        let collector = LoopbackCollector(port: port)
        collector.script(Array(repeating: .commitThenHang, count: 10))
        let agent = APMAgent(
            configuration: TestSupport.configuration {
                $0.collectorURL = "http://127.0.0.1:\(port)"
                $0.shutdownTimeout = .milliseconds(500)
                // Far longer than the deadline: a flush that waited for the request would take a minute. The bound
                // below has room for a loaded machine and still tells the two apart.
                $0.requestTimeout = .seconds(60)
            },
            logger: TestSupport.quietLogger
        )
        try await collector.run {
            agent.start()
            Self.record(agent, count: 3)
            let started = ContinuousClock.now
            await agent.shutdown()
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(20))
        }
    }
}
