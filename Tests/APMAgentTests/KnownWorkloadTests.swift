import APMAgent
import APMCore
import APMTesting
import Foundation
import Testing

@Suite struct KnownWorkloadTests {
    /// Durations in nanoseconds, including values exactly at T and 4T and one nanosecond past them.
    static let durations: [UInt64] = [
        50_000_000, 200_000_000, 500_000_000, 500_000_001, 700_000_000, 1_500_000_000, 2_000_000_000, 2_000_000_001,
        3_000_000_000, 100_000_000, 12_000_000, 450_000_000, 999_000_000,
    ]

    struct Expected {
        var count: UInt64 = 0
        var errors: UInt64 = 0
        var satisfied: UInt64 = 0
        var tolerating: UInt64 = 0
        var frustrated: UInt64 = 0
        var values: [Double] = []

        mutating func add(_ nanoseconds: UInt64, error: Bool, t: UInt64) {
            count += 1
            values.append(Double(nanoseconds) / 1e9)
            if error {
                errors += 1
                frustrated += 1
            } else if nanoseconds <= t {
                satisfied += 1
            } else if nanoseconds <= 4 * t {
                tolerating += 1
            } else {
                frustrated += 1
            }
        }
    }

    /// Runs `count` transactions through the agent's own API with exact durations; every 7th fails with a 500.
    static func runWorkload(agent: APMAgent, clock: ManualAgentClock, count: Int, name: String, t: UInt64) -> Expected {
        var expected = Expected()
        for i in 0..<count {
            let duration = durations[i % durations.count]
            let transaction = agent.startWebTransaction(method: "GET", route: name)
            clock.advance(nanoseconds: duration)
            let failed = i % 7 == 3
            transaction.setStatus(failed ? 500 : 200)
            transaction.end()
            expected.add(duration, error: failed, t: t)
        }
        return expected
    }

    /// A started agent with a manual clock, delivering to an in-memory collector.
    static func startedAgent(
        clock: ManualAgentClock = ManualAgentClock(),
        _ adjust: (inout AgentConfiguration) -> Void = { _ in }
    ) -> (APMAgent, ManualAgentClock, InMemoryCollectorTransport) {
        let collector = InMemoryCollectorTransport()
        let agent = APMAgent(
            configuration: TestSupport.configuration(adjust),
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        return (agent, clock, collector)
    }

    /// Before: a fresh agent classified at its local T (0.5 s) until its first reply, so 20 transactions of 0.75 s
    /// under a collector T of 1 s came back as S 10 / T 10 labelled T = 1. Now it asks for the T at start and
    /// keeps what ends before the answer unclassified.
    @Test func theFirstTransactionsAreClassifiedAtTheCollectorsT() async throws {
        let collector = InMemoryCollectorTransport()
        collector.setSettings(apdexT: 1.0, transactionApdexT: ["GET /export": 3.0])
        collector.setDefaultReply(.accept(apdexT: 1.0, transactionApdexT: ["GET /export": 3.0]))
        let clock = ManualAgentClock()
        let agent = APMAgent(
            configuration: TestSupport.configuration(),
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        // At once, whether or not the settings have arrived yet.
        for name in ["/report", "/export"] {
            for _ in 0..<10 {
                let transaction = agent.startWebTransaction(method: "GET", route: name)
                clock.advance(nanoseconds: name == "/report" ? 750_000_000 : 2_500_000_000)
                transaction.end()
            }
        }
        await agent.shutdown()
        #expect(collector.settingsRequests == 1)
        let totals = TestSupport.totals(collector.acceptedTransactions)
        #expect(totals["GET /report"]?.apdex == ApdexCounts(satisfied: 10, tolerating: 0, frustrated: 0))
        #expect(totals["GET /export"]?.apdex == ApdexCounts(satisfied: 10, tolerating: 0, frustrated: 0))
        #expect(collector.acceptedTransactions.filter { $0.name == "GET /report" }.allSatisfy { $0.apdexT == 1.0 })
        #expect(collector.acceptedTransactions.filter { $0.name == "GET /export" }.allSatisfy { $0.apdexT == 3.0 })
    }

    /// A collector unreachable at start: what is recorded meanwhile is classified at the local T and says so (the
    /// collector re-derives it at its own T); once the collector answers, its T is used.
    @Test func withoutTheCollectorsTCountsAreLabelledWithTheLocalT() async throws {
        let collector = InMemoryCollectorTransport()
        collector.setDefaultReply(.connectionRefused)
        let clock = ManualAgentClock()
        let agent = APMAgent(
            configuration: TestSupport.configuration(),
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        for _ in 0..<10 {
            let transaction = agent.startWebTransaction(method: "GET", route: "/report")
            clock.advance(nanoseconds: 750_000_000)
            transaction.end()
        }
        agent.flush()
        #expect(await TestSupport.waitUntil { !collector.attempts.isEmpty })
        collector.setDefaultReply(.accept(apdexT: 1.0))
        // The retry's backoff passes on the agent's clock.
        await TestSupport.step(clock, milliseconds: 1_000)
        // Acknowledged as the agent counts it, so the reply's T is adopted before the next transactions.
        #expect(
            await TestSupport.waitUntil {
                collector.acceptedBatches.count == 1 && agent.statistics.batchesAcknowledged == 1
            }
        )
        let first = collector.acceptedTransactions
        #expect(first.allSatisfy { $0.apdexT == 0.5 })
        #expect(
            TestSupport.totals(first)["GET /report"]?.apdex == ApdexCounts(satisfied: 0, tolerating: 10, frustrated: 0)
        )
        for _ in 0..<10 {
            let transaction = agent.startWebTransaction(method: "GET", route: "/report")
            clock.advance(nanoseconds: 750_000_000)
            transaction.end()
        }
        await agent.shutdown()
        let later = collector.acceptedBatches.dropFirst().flatMap { $0.intervals.flatMap(\.transactions) }
        #expect(later.allSatisfy { $0.apdexT == 1.0 })
        #expect(
            TestSupport.totals(later)["GET /report"]?.apdex == ApdexCounts(satisfied: 10, tolerating: 0, frustrated: 0)
        )
    }

    @Test func exactCountsAndApdexAtDefaultTAndAtACollectorPushedT() async throws {
        let (agent, clock, collector) = Self.startedAgent()
        collector.setDefaultReply(.accept(apdexT: 0.3, transactionApdexT: ["GET /special": 1.0]))

        let first = Self.runWorkload(agent: agent, clock: clock, count: 1_000, name: "/orders", t: 500_000_000)
        agent.flush()
        // Acknowledged as the agent counts it: by then it has adopted the reply's Ts (the transport's record of the
        // batch comes before that, and a transaction recorded in between would still use the old T).
        #expect(
            await TestSupport.waitUntil {
                collector.acceptedBatches.count == 1 && agent.statistics.batchesAcknowledged == 1
            }
        )
        let firstTotals = TestSupport.totals(collector.acceptedTransactions)
        let orders = try #require(firstTotals["GET /orders"])
        #expect(orders.count == 1_000)
        #expect(orders.errors == first.errors)
        #expect(
            orders.apdex
                == ApdexCounts(satisfied: first.satisfied, tolerating: first.tolerating, frustrated: first.frustrated)
        )
        #expect(collector.acceptedTransactions.allSatisfy { $0.apdexT == 0.5 })

        // Percentiles from the merged histograms are within the documented 1 %.
        var histogram = LatencyHistogram()
        for metric in collector.acceptedTransactions { histogram.merge(metric.histogram) }
        let sorted = first.values.sorted()
        for q in [0.5, 0.95, 0.99] {
            let exact = sorted[max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
            let estimate = try #require(histogram.value(atQuantile: q))
            #expect(abs(estimate - exact) / exact <= 0.01)
        }

        // The reply carried T = 0.3 s and 1.0 s for GET /special: new transactions use them.
        let second = Self.runWorkload(agent: agent, clock: clock, count: 700, name: "/orders", t: 300_000_000)
        let special = Self.runWorkload(agent: agent, clock: clock, count: 300, name: "/special", t: 1_000_000_000)
        await agent.shutdown()
        let later = collector.acceptedBatches.dropFirst().flatMap { $0.intervals.flatMap(\.transactions) }
        let laterTotals = TestSupport.totals(later)
        #expect(
            laterTotals["GET /orders"]?.apdex
                == ApdexCounts(
                    satisfied: second.satisfied,
                    tolerating: second.tolerating,
                    frustrated: second.frustrated
                )
        )
        #expect(
            laterTotals["GET /special"]?.apdex
                == ApdexCounts(
                    satisfied: special.satisfied,
                    tolerating: special.tolerating,
                    frustrated: special.frustrated
                )
        )
        #expect(later.filter { $0.name == "GET /orders" }.allSatisfy { $0.apdexT == 0.3 })
        #expect(later.filter { $0.name == "GET /special" }.allSatisfy { $0.apdexT == 1.0 })
    }

    @Test func metricsLandInTheMinuteTheyEnded() async throws {
        let (agent, clock, collector) = Self.startedAgent(
            clock: ManualAgentClock(unixSeconds: 1_764_000_000 - 1_764_000_000 % 60)
        )
        for _ in 0..<3 {
            let transaction = agent.startBackgroundTransaction(name: "nightly-report")
            clock.advance(seconds: 50)
            transaction.end()
        }
        await agent.shutdown()
        let intervals = collector.acceptedBatches.flatMap(\.intervals)
        let base = Int64(1_764_000_000 - 1_764_000_000 % 60)
        // Ends at +50 s, +100 s, +150 s: minutes 0, 1 and 2.
        #expect(intervals.map(\.start).sorted() == [base, base + 60, base + 120])
        #expect(
            intervals.allSatisfy { $0.transactions.first?.kind == .background && $0.transactions.first?.count == 1 }
        )
    }

    /// Each database operation's metric carries the statement of its slowest call, obfuscated as
    /// `record_sql` says (literals out by default, nothing when off), so the collector can show it even when no
    /// trace was kept.
    @Test(arguments: [AgentConfiguration.RecordSQL.obfuscated, .raw, .off])
    func segmentMetricsCarryTheSlowestStatement(recordSQL: AgentConfiguration.RecordSQL) async throws {
        let (agent, clock, collector) = Self.startedAgent { $0.transactionTracer.recordSQL = recordSQL }
        for (milliseconds, customer) in [(5, 1), (40, 22), (12, 333)] {
            let transaction = agent.startWebTransaction(method: "GET", route: "/orders")
            let query = transaction.startDatastoreSegment(
                system: "postgresql",
                statement: "SELECT * FROM orders WHERE customer = \(customer) AND note = 'x'"
            )
            clock.advance(seconds: Double(milliseconds) / 1000)
            query.end()
            transaction.end()
        }
        await agent.shutdown()
        let segments = collector.acceptedBatches.flatMap { $0.intervals.flatMap(\.segments) }
        let metric = try #require(segments.first { $0.name == "Postgres SELECT orders" })
        #expect(metric.count == 3)
        switch recordSQL {
        case .obfuscated:
            #expect(metric.slowestStatement == "SELECT * FROM orders WHERE customer = ? AND note = ?")
            #expect(abs((metric.slowestStatementDuration ?? 0) - 0.040) < 1e-9)
        case .raw:
            #expect(metric.slowestStatement == "SELECT * FROM orders WHERE customer = 22 AND note = 'x'")
        case .off:
            #expect(metric.slowestStatement == nil && metric.slowestStatementDuration == nil)
        }
    }

    @Test func breakdownSplitsDatabaseExternalAndApplicationTime() async throws {
        let (agent, clock, collector) = Self.startedAgent()
        let transaction = agent.startWebTransaction(method: "POST", route: "/checkout")
        clock.advance(seconds: 0.010)  // own code
        let query = transaction.startDatastoreSegment(
            system: "postgresql",
            statement: "SELECT * FROM carts WHERE id = $1"
        )
        clock.advance(seconds: 0.100)
        query.end()
        let payment = transaction.startExternalSegment(
            host: "payments.example.com",
            method: "POST",
            url: "https://payments.example.com/charge?card=4111"
        )
        clock.advance(seconds: 0.200)
        payment.end(status: 201)
        let render = transaction.startSegment("render receipt")
        clock.advance(seconds: 0.020)
        let nested = render.startDatastoreSegment(system: "postgresql", operation: "INSERT", table: "receipts")
        clock.advance(seconds: 0.050)
        nested.end()
        clock.advance(seconds: 0.020)
        render.end()
        clock.advance(seconds: 0.100)
        transaction.end()
        await agent.shutdown()

        let metric = try #require(collector.acceptedTransactions.first)
        #expect(metric.name == "POST /checkout")
        #expect(abs(metric.totalDuration - 0.5) < 1e-9)
        #expect(abs(metric.breakdown.database - 0.150) < 1e-9)
        #expect(abs(metric.breakdown.external - 0.200) < 1e-9)
        #expect(abs(metric.breakdown.application - 0.150) < 1e-9)

        let segments = collector.acceptedBatches.flatMap { $0.intervals.flatMap(\.segments) }
        let names = Set(segments.map(\.name))
        #expect(
            names == [
                "Postgres SELECT carts", "External payments.example.com", "render receipt", "Postgres INSERT receipts",
            ]
        )
        let render_ = try #require(segments.first { $0.name == "render receipt" })
        #expect(abs(render_.totalDuration - 0.090) < 1e-9)
        #expect(abs(render_.exclusiveDuration - 0.040) < 1e-9)
    }

    /// Every call of a segment is in its histogram, for percentiles per call: an N+1 loop of known durations,
    /// and a transaction with more calls than it stores (past 2,000 they are aggregated without their tree).
    @Test func segmentHistogramsHoldEveryCall() async throws {
        let (agent, clock, collector) = Self.startedAgent()
        let transaction = agent.startWebTransaction(method: "GET", route: "/users")
        for index in 0..<40 {
            let lookup = transaction.startDatastoreSegment(system: "postgresql", operation: "SELECT", table: "users")
            clock.advance(seconds: index < 38 ? 0.004 : 0.024)
            lookup.end()
        }
        transaction.end()
        let export = agent.startBackgroundTransaction(name: "export")
        for index in 0..<2_050 {
            let write = export.startDatastoreSegment(system: "postgresql", operation: "INSERT", table: "rows")
            clock.advance(seconds: index == 2_049 ? 0.5 : 0.001)
            write.end()
        }
        export.end()
        await agent.shutdown()

        let segments = collector.acceptedBatches.flatMap { $0.intervals.flatMap(\.segments) }
        let lookups = try #require(segments.first { $0.name == "Postgres SELECT users" })
        #expect(lookups.count == 40 && lookups.histogram.totalCount == 40)
        let p95 = try #require(lookups.histogram.value(atQuantile: 0.95))
        #expect(abs(p95 - 0.004) <= 0.004 * 0.01, "the 38th of 40 calls")
        #expect(abs(try #require(lookups.histogram.value(atQuantile: 1)) - 0.024) <= 0.024 * 0.01)
        let writes = try #require(segments.first { $0.name == "Postgres INSERT rows" })
        #expect(writes.count == 2_050 && writes.histogram.totalCount == 2_050)
        #expect(abs(try #require(writes.histogram.value(atQuantile: 1)) - 0.5) <= 0.5 * 0.01, "an overflowed call")
    }

    @Test func slowTransactionsBecomeTracesWithObfuscatedSQLAndNoQueryStrings() async throws {
        let (agent, clock, collector) = Self.startedAgent()
        let transaction = agent.startWebTransaction(method: "GET", route: "/users/{id}")
        transaction.setAttribute("user_tier", "gold")
        let query = transaction.startDatastoreSegment(
            system: "postgresql",
            statement: "SELECT * FROM users WHERE email = 'a@b.c'"
        )
        clock.advance(seconds: 2.5)
        query.end()
        let call = transaction.startExternalSegment(
            host: "api.example.com",
            url: "https://api.example.com/v1/x?token=secret"
        )
        clock.advance(seconds: 0.1)
        call.end(status: 200)
        transaction.end()
        // A fast one: no slow trace, but the one trace of its name.
        let fast = agent.startWebTransaction(method: "GET", route: "/fast")
        clock.advance(seconds: 0.01)
        fast.end()
        await agent.shutdown()

        let all = collector.acceptedBatches.flatMap(\.traces)
        #expect(all.filter { $0.transaction == "GET /fast" }.count == 1)
        let traces = all.filter { $0.transaction == "GET /users/{id}" }
        let trace = try #require(traces.first)
        #expect(traces.count == 1)
        #expect(trace.transaction == "GET /users/{id}")
        #expect(trace.attributes == ["user_tier": "gold"])
        #expect(trace.traceID.count == 32)
        #expect(trace.segments.map(\.statement) == ["SELECT * FROM users WHERE email = ?", ""])
        #expect(trace.segments[1].url == "https://api.example.com/v1/x")
        #expect(abs(trace.segments[1].offset - 2.5) < 1e-9)
    }

    /// Before: traces only above 4T, so a transaction slow at 2T (the usual bad Apdex: tolerating) never had
    /// one. Now each harvest keeps the slowest trace of each name that has no slow one, for up to
    /// `max_name_traces` names (the rest counted as dropped), built only when a transaction is its name's slowest
    /// so far.
    @Test func everyTransactionNameHasItsSlowestTraceEachHarvest() async throws {
        let (agent, clock, collector) = Self.startedAgent { $0.transactionTracer.maxNameTraces = 3 }
        // T = 0.5 s: 0.6 to 1.9 s is tolerating, under the 2 s threshold; in a shuffled order.
        let durations = (0..<14).map { 0.6 + Double($0) * 0.1 }.shuffled()
        for duration in durations {
            let transaction = agent.startWebTransaction(method: "GET", route: "/report")
            clock.advance(seconds: duration)
            transaction.end()
        }
        for route in ["/a", "/b", "/c", "/d"] {
            let transaction = agent.startWebTransaction(method: "GET", route: route)
            clock.advance(seconds: 0.01)
            transaction.end()
        }
        await agent.shutdown()
        let batches = collector.acceptedBatches
        let traces = batches.flatMap(\.traces)
        let report = traces.filter { $0.transaction == "GET /report" }
        #expect(report.count == 1)
        #expect(abs((report.first?.duration ?? 0) - 1.9) < 1e-9)
        // 3 names at most: /report and the first two others; the other two counted as dropped traces.
        #expect(Set(traces.map(\.transaction)) == ["GET /report", "GET /a", "GET /b"])
        #expect(batches.map(\.dropped.traces).reduce(0, +) == 2)
    }

    /// An app's own fingerprint travels with its errors (cut at a character to the 255 bytes the wire allows; empty is none).
    @Test func noticedErrorsCarryTheAppsFingerprint() async throws {
        struct Timeout: Error {}
        let (agent, _, collector) = Self.startedAgent()
        let transaction = agent.startWebTransaction(method: "POST", route: "/pay")
        transaction.noticeError(Timeout(), fingerprint: "payments-timeout")
        transaction.noticeError(
            type: "ReadTimeout",
            message: "read timed out",
            fingerprint: String(repeating: "é", count: 200)
        )
        transaction.noticeError(type: "Other", message: "no key", fingerprint: "")
        transaction.end()
        await agent.shutdown()
        let samples = collector.acceptedBatches.flatMap(\.errors)
        // 200 "é" are 400 bytes: cut to 127 whole characters (254 bytes), never inside one.
        #expect(samples.map(\.fingerprint) == ["payments-timeout", String(repeating: "é", count: 127), nil])
    }

    @Test func errorsAreNoticedIgnoredAndSampled() async throws {
        struct PaymentDeclined: Error, CustomStringConvertible {
            var description: String { "card declined" }
        }
        struct NotFound: Error {}
        let (agent, _, collector) = Self.startedAgent { $0.errorCollector.ignoreErrors = ["CancellationError"] }

        let failing = agent.startWebTransaction(method: "POST", route: "/pay")
        failing.noticeError(PaymentDeclined())
        failing.setStatus(402)
        failing.end()

        let missing = agent.startWebTransaction(method: "GET", route: "/items/{id}")
        missing.noticeError(NotFound())
        missing.setStatus(404)  // ignored status: not an error
        missing.end()

        let cancelled = agent.startBackgroundTransaction(name: "sync")
        cancelled.noticeError(CancellationError())  // ignored error type
        cancelled.end()

        let crashed = agent.startWebTransaction(method: "GET", route: "/boom")
        crashed.setStatus(503)
        crashed.end()

        await #expect(throws: PaymentDeclined.self) {
            try await agent.withBackgroundTransaction(name: "charge") { _ async throws in throw PaymentDeclined() }
        }
        await agent.shutdown()

        let totals = TestSupport.totals(collector.acceptedTransactions)
        #expect(totals["POST /pay"]?.errors == 1)
        #expect(totals["GET /items/{id}"]?.errors == 0)
        #expect(totals["sync"]?.errors == 0)
        #expect(totals["GET /boom"]?.errors == 1)
        #expect(totals["charge"]?.errors == 1)
        let samples = collector.acceptedBatches.flatMap(\.errors)
        #expect(Set(samples.map(\.type)) == ["PaymentDeclined", "HTTP 503"])
        #expect(samples.first { $0.transaction == "POST /pay" }?.message == "card declined")
        #expect(samples.allSatisfy { $0.traceID.count == 32 })
    }

    @Test func highSecurityStripsErrorMessagesAndAttributes() async throws {
        let (agent, clock, collector) = Self.startedAgent {
            $0.highSecurity = true
            $0.transactionTracer.recordSQL = .raw
        }
        let transaction = agent.startWebTransaction(method: "GET", route: "/account")
        transaction.setAttribute("email", "a@b.c")
        let query = transaction.startDatastoreSegment(
            system: "mysql",
            statement: "SELECT * FROM users WHERE email = 'a@b.c'"
        )
        clock.advance(seconds: 3)
        query.end()
        transaction.noticeError(type: "LeakError", message: "password=hunter2")
        transaction.end()
        await agent.shutdown()
        let batch = try #require(collector.acceptedBatches.first)
        #expect(batch.errors.first?.message == "")
        #expect(batch.traces.first?.attributes.isEmpty == true)
        #expect(batch.traces.first?.segments.first?.statement == "SELECT * FROM users WHERE email = ?")
    }

    @Test func ignoredAndExplicitlyNamedTransactions() async throws {
        let (agent, _, collector) = Self.startedAgent()
        let health = agent.startWebTransaction(method: "GET", route: "/health")
        health.ignore()
        health.end()
        let renamed = agent.startWebTransaction(method: "GET", route: "/raw/12345")
        renamed.setName("Checkout/confirm")
        renamed.end()
        renamed.end()  // a second end is ignored
        await agent.shutdown()
        #expect(collector.acceptedTransactions.map(\.name) == ["Checkout/confirm"])
        #expect(collector.acceptedTransactions.first?.count == 1)
    }

    @Test func namesPastTheCapGoToTheOverflowBucket() async throws {
        let (agent, _, collector) = Self.startedAgent { $0.maxTransactionNames = 10 }
        for i in 0..<50 {
            let transaction = agent.startBackgroundTransaction(name: "job-\(String(i, radix: 36))x")
            transaction.end()
        }
        await agent.shutdown()
        let totals = TestSupport.totals(collector.acceptedTransactions)
        #expect(totals.count == 11)
        #expect(totals["(overflow)"]?.count == 40)
        #expect(collector.acceptedBatches.reduce(0) { $0 + $1.dropped.overflowedNames } == 40)
    }

    @Test func noLicenseKeyMeansNothingRunsAndNothingIsSent() async {
        let collector = InMemoryCollectorTransport()
        var configuration = AgentConfiguration()
        configuration.licenseKey = ""
        let agent = APMAgent(configuration: configuration, logger: TestSupport.quietLogger, transport: collector)
        agent.start()
        #expect(!agent.isEnabled)
        let transaction = agent.startWebTransaction(method: "GET", route: "/")
        #expect(!transaction.isRecording)
        #expect(transaction.traceparent == nil)
        let segment = transaction.startDatastoreSegment(system: "postgresql", statement: "SELECT 1")
        #expect(!segment.isRecording)
        segment.end()
        transaction.noticeError(type: "X", message: "y")
        transaction.end()
        agent.flush()
        await agent.shutdown()
        #expect(collector.attempts.isEmpty)
    }
}
