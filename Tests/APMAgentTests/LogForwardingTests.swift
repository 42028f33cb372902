import APMAgent
import APMCore
import APMTesting
import Foundation
import Logging
import Testing

/// The agent's swift-log handler: lines at or above `log_forwarding.level` reach the collector once each, with
/// the trace id, span id and transaction they were logged in; bounded per harvest with the drops reported; kept
/// through an outage; nothing at all when forwarding or the agent is off.
@Suite struct LogForwardingTests {
    @Test func linesArriveOnceWithTheirTraceAndTransactionAndTheLevelFilters() async throws {
        let clock = ManualAgentClock()
        let collector = InMemoryCollectorTransport()
        let agent = APMAgent(
            configuration: TestSupport.configuration { $0.logForwarding.level = .info },
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        // Beside a console-like handler, as the README shows: both get the lines.
        let console = RecordingLogHandler()
        let logger = Logger(label: "shop") { label in
            MultiplexLogHandler([console, agent.logHandler(label: label)])
        }
        logger.info("started", metadata: ["port": "8080"])
        logger.debug("not sent: below info")
        var traceID = ""
        await agent.withWebTransaction(method: "GET", route: "/users/:id") { transaction in
            traceID = transaction.traceID?.description ?? ""
            logger.info("looking up user 7")
            logger.error("user 7 not found")
        }
        logger.critical("disk full")
        await TestSupport.step(clock, milliseconds: 60_000)
        #expect(await TestSupport.waitUntil { !collector.acceptedBatches.flatMap(\.logs).isEmpty })
        await agent.shutdown()

        let logs = collector.acceptedBatches.flatMap(\.logs)
        #expect(logs.map(\.message) == ["started", "looking up user 7", "user 7 not found", "disk full"])
        #expect(logs.map(\.level) == [.info, .info, .error, .fatal])
        #expect(logs[0].attributes == ["port": "8080", "logger": "shop"])
        #expect(logs[0].traceID == nil && logs[0].transaction == nil)
        for line in logs[1...2] {
            #expect(line.traceID == traceID)
            #expect(line.spanID?.utf8.count == 16)
            #expect(line.transaction == "GET /users/:id")
        }
        #expect(traceID.utf8.count == 32)
        #expect(logs[1].spanID == logs[2].spanID)
        #expect(logs.map(\.timeUnixNano) == logs.map(\.timeUnixNano).sorted())
        #expect(console.messages.count == 5)
    }

    /// A line logged before the transaction got its final name (a route is known only when the router is done)
    /// carries the final name; a transaction that logs nothing is unchanged.
    @Test func aLineCarriesTheNameItsTransactionEndsWith() async throws {
        let clock = ManualAgentClock()
        let collector = InMemoryCollectorTransport()
        let agent = APMAgent(
            configuration: TestSupport.configuration { $0.logForwarding.level = .info },
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        let logger = Logger(label: "shop") { agent.logHandler(label: $0) }
        await agent.withWebTransaction(method: "GET", route: "/unmatched") { transaction in
            logger.info("before the route is known")
            transaction.setName("GET /orders/:id")
            logger.info("after")
        }
        await agent.withWebTransaction(method: "GET", route: "/quiet") { _ in }
        await TestSupport.step(clock, milliseconds: 60_000)
        #expect(await TestSupport.waitUntil { collector.acceptedBatches.flatMap(\.logs).count == 2 })
        await agent.shutdown()
        let logs = collector.acceptedBatches.flatMap(\.logs)
        #expect(logs.map(\.transaction) == ["GET /orders/:id", "GET /orders/:id"])
        let names = collector.acceptedBatches.flatMap(\.intervals).flatMap(\.transactions).map(\.name)
        #expect(Set(names) == ["GET /orders/:id", "GET /quiet"])
    }

    @Test func linesPastTheHarvestCapAreDroppedAndCountedAndAnOutageLosesNothingKept() async throws {
        let clock = ManualAgentClock()
        let collector = InMemoryCollectorTransport()
        collector.setDefaultReply(.connectionRefused)
        let agent = APMAgent(
            configuration: TestSupport.configuration {
                $0.logForwarding.maxPerHarvest = 100
                $0.retryInitialBackoff = .seconds(30)
            },
            logger: TestSupport.quietLogger,
            clock: clock,
            transport: collector
        )
        agent.start()
        let logger = Logger(label: "job") { agent.logHandler(label: $0) }
        // Three harvests while the collector is down: 150 lines each, 100 kept each.
        for harvest in 0..<3 {
            for line in 0..<150 { logger.warning("harvest \(harvest) line \(line)") }
            let harvests = agent.statistics.harvests
            await TestSupport.step(clock, milliseconds: 60_000)
            #expect(await TestSupport.waitUntil { agent.statistics.harvests > harvests })
        }
        collector.setDefaultReply(.accept())
        await TestSupport.step(clock, milliseconds: 60_000)
        await agent.shutdown()
        let batches = collector.acceptedBatches
        let delivered = batches.flatMap(\.logs)
        let dropped = batches.reduce(UInt64(0)) { $0 + $1.dropped.logs }
        #expect(delivered.count == 300)
        #expect(Set(delivered.map(\.message)).count == 300)
        #expect(dropped == 150)
        #expect(delivered.filter { $0.message.hasSuffix("line 99") }.count == 3)
        #expect(delivered.filter { $0.message.hasSuffix("line 100") }.isEmpty)
    }

    @Test func aDisabledForwardingOrAgentRecordsNothing() async throws {
        let collector = InMemoryCollectorTransport()
        let off = APMAgent(
            configuration: TestSupport.configuration { $0.logForwarding.enabled = false },
            logger: TestSupport.quietLogger,
            clock: ManualAgentClock(),
            transport: collector
        )
        var handler = off.logHandler(label: "x")
        handler.logLevel = .trace
        Logger(label: "x") { _ in handler }.error("not sent")
        var disabled = AgentConfiguration()
        disabled.enabled = false
        let none = APMAgent(configuration: disabled, logger: TestSupport.quietLogger, transport: collector)
        #expect(none.logHandler(label: "x").logLevel == .critical)
        Logger(label: "x") { none.logHandler(label: $0) }.critical("not sent either")
        off.start()
        off.flush()
        await off.shutdown()
        #expect(collector.attempts.flatMap(\.logs).isEmpty)
    }
}

/// A handler that keeps what it is given, standing for the app's console handler.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    var messages: [String] { lock.withLock { lines } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.withLock { lines.append(event.message.description) }
    }
}
