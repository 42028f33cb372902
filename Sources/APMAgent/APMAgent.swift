import APMCore
import Foundation
import Instrumentation
public import Logging
public import ServiceLifecycle
import Synchronization

/// The agent: records transactions in-process, aggregates them, and delivers batches to the collector from
/// one background task.
///
/// ```swift
/// let agent = APMAgent.fromEnvironment(logger: logger)   // reads APM_CONFIG_FILE and APM_* variables
/// InstrumentationSystem.bootstrap(agent.tracer)           // before creating an HTTPClient
/// // run `agent` in your ServiceGroup, or call agent.start() and await agent.shutdown()
/// ```
///
/// Without a license key, or with `enabled = false`, the agent is off: every call is a no-op and nothing runs.
public final class APMAgent: Service, Sendable {
    /// This agent's version, sent with every batch.
    public static let version = "0.1.0"

    /// The configuration in force.
    public let configuration: AgentConfiguration
    let core: AgentCore?
    private let transport: any CollectorTransport
    private let logger: Logger
    private var wakeup: Wakeup { core?.wakeup ?? Wakeup() }
    private let stopRequested = Atomic<Bool>(false)
    private let loopTask = Mutex<Task<Void, Never>?>(nil)
    let statisticsBox = LockedStatistics()

    /// Creates an agent.
    ///
    /// - Parameters:
    ///   - configuration: The configuration; the agent is off unless it has a license key and is enabled.
    ///   - logger: Where the agent logs (it never bootstraps the logging system). `log_file` overrides it.
    ///   - clock: The clock; inject one in tests.
    ///   - transport: How batches reach the collector.
    public init(
        configuration: AgentConfiguration,
        logger: Logger = Logger(label: "apm.agent"),
        clock: any AgentClock = SystemAgentClock(),
        transport: any CollectorTransport = DefaultCollectorTransport()
    ) {
        self.configuration = configuration
        var logger = AgentLogging.makeLogger(configuration: configuration, fallback: logger)
        logger.logLevel = configuration.logLevel
        self.logger = logger
        self.transport = transport
        self.core = configuration.isActive ? AgentCore(configuration: configuration, clock: clock, logger: logger) : nil
        if !configuration.enabled {
            logger.info("apm: the agent is disabled (enabled = false)")
        } else if configuration.licenseKey.isEmpty {
            logger.info("apm: no license key (license_key or APM_LICENSE_KEY); the agent is off")
        }
    }

    /// Creates an agent from `APM_CONFIG_FILE` and the `APM_*` environment variables. Never fails: a broken
    /// config is logged in one line naming file, line, key and the fix, and the agent stays off.
    ///
    /// - Parameters:
    ///   - logger: Where the agent logs.
    ///   - environment: The environment to read; the process's by default.
    ///   - transport: How batches reach the collector.
    /// - Returns: The agent, possibly off.
    public static func fromEnvironment(
        logger: Logger = Logger(label: "apm.agent"),
        environment: [String: String]? = nil,
        transport: any CollectorTransport = DefaultCollectorTransport()
    ) -> APMAgent {
        do {
            let loaded = try AgentConfiguration.load(environment: environment ?? ProcessInfo.processInfo.environment)
            for warning in loaded.warnings { logger.warning("apm: \(warning)") }
            return APMAgent(configuration: loaded.configuration, logger: logger, transport: transport)
        } catch {
            logger.error("apm: invalid configuration, the agent is off: \(error)")
            var off = AgentConfiguration()
            off.enabled = false
            return APMAgent(configuration: off, logger: logger, transport: transport)
        }
    }

    /// Whether the agent records anything.
    public var isEnabled: Bool { core != nil }

    /// Delivery figures so far.
    public var statistics: DeliveryStatistics { statisticsBox.withLock { $0 } }

    /// The tracer to bootstrap into swift-distributed-tracing (`InstrumentationSystem.bootstrap(agent.tracer)`).
    public var tracer: APMTracer { APMTracer(core: core) }

    // MARK: Lifecycle

    /// Starts the background delivery task, for apps without ServiceLifecycle. Calling it twice does nothing.
    public func start() {
        guard core != nil else { return }
        loopTask.withLock { task in
            guard task == nil else { return }
            task = Task { await self.deliveryLoop() }
        }
    }

    /// Stops delivery: one last harvest and delivery attempt within `shutdown_timeout` (default 3 s). Returns by
    /// then whatever the collector does: a request still in flight (a collector that holds it) is abandoned.
    public func shutdown() async {
        guard let task = loopTask.withLock({ $0 }) else { return }
        stopRequested.store(true, ordering: .relaxed)
        wakeup.signal()
        // The final flush gives up at shutdown_timeout; a little more lets it return its outcome.
        let timeout = configuration.shutdownTimeout + .milliseconds(200)
        do {
            try await Deadline.run(within: timeout, timedOut: CancellationError()) { await task.value }
        } catch {
            logger.warning("apm: the final flush did not finish within shutdown_timeout; unsent data is lost")
            task.cancel()
        }
    }

    /// Runs the agent as a ServiceLifecycle service until graceful shutdown, then flushes.
    public func run() async throws {
        guard core != nil else {
            // Nothing to do, but stay up like any service until shutdown.
            try? await gracefulShutdown()
            return
        }
        start()
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Harvests and delivers now rather than at the next harvest (does not wait for delivery).
    public func flush() {
        wakeup.signal()
    }

    private func deliveryLoop() async {
        guard let core else { return }
        let identity = AgentIdentity(
            appName: configuration.appName,
            environment: configuration.environment,
            host: ProcessInfo.processInfo.hostName,
            pid: Int(ProcessInfo.processInfo.processIdentifier),
            agentVersion: Self.version,
            labels: configuration.labels
        )
        let deliverer = Deliverer(core: core, transport: transport, identity: identity, statistics: statisticsBox)
        logger.info(
            "apm: reporting \"\(configuration.appName)\" to \(configuration.collectorURL) every \(configuration.harvestInterval)"
        )
        // Short: a collector that does not answer at once teaches the T with its first reply instead, and a stop
        // requested meanwhile waits for this at most.
        await deliverer.learnSettings(timeout: min(configuration.requestTimeout, .seconds(2)))
        let clock = core.clock
        let harvestInterval = configuration.harvestInterval.agentNanoseconds
        var nextHarvest = clock.monotonicNanoseconds() &+ harvestInterval
        while !stopRequested.load(ordering: .relaxed) && !Task.isCancelled {
            var wakeAt = nextHarvest
            if let due = deliverer.nextAttemptDue, due < wakeAt { wakeAt = due }
            await wakeup.wait(until: wakeAt, on: clock)
            if stopRequested.load(ordering: .relaxed) || Task.isCancelled { break }
            let now = clock.monotonicNanoseconds()
            if now >= nextHarvest || deliverer.nextAttemptDue == nil {
                deliverer.harvest()
                nextHarvest = now &+ harvestInterval
            }
            await deliverer.deliverDue()
        }
        // Final flush: harvest everything and try to deliver within the deadline; error stacks are symbolicated if
        // the symbol tables an error started parsing are ready within half of it (else sent as addresses).
        // The wait comes out of the same deadline: shutdown_timeout bounds the whole stop.
        let deadline = clock.monotonicNanoseconds() &+ configuration.shutdownTimeout.agentNanoseconds
        // Only for stacks of its own: the tables are the process's, and another agent's first error (or a test's)
        // must not hold up a stop that has none to send.
        if core.samples.holdsStacks {
            _ = await core.symbolicator.waitUntilWarm(within: configuration.shutdownTimeout / 2)
        }
        deliverer.harvest()
        await deliverer.deliverDue(deadline: deadline)
    }

    // MARK: Recording

    /// Starts a web transaction.
    ///
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - route: The route template (`/users/:id`), never the raw path; identifiers are normalised anyway.
    ///   - traceparent: The incoming `traceparent` header, to continue the caller's trace.
    /// - Returns: The transaction; end it with ``Transaction/end()``.
    public func startWebTransaction(method: String, route: String, traceparent: String? = nil) -> Transaction {
        guard let core else { return .disabled }
        let name = TransactionNameNormalizer.normalize(method.isEmpty ? route : "\(method) \(route)")
        let parent = traceparent.flatMap { TraceContext(traceparent: $0) }
        return Transaction(
            storage: core.startTransaction(kind: .web, name: name, method: method, traceID: parent?.traceID)
        )
    }

    /// Starts a background transaction (a job, a scheduled task, a queue consumer).
    ///
    /// - Parameter name: The job's name.
    /// - Returns: The transaction; end it with ``Transaction/end()``.
    public func startBackgroundTransaction(name: String) -> Transaction {
        guard let core else { return .disabled }
        return Transaction(
            storage: core.startTransaction(
                kind: .background,
                name: TransactionNameNormalizer.normalize(name),
                method: "",
                traceID: nil
            )
        )
    }

    /// Records a web transaction around a closure; an error thrown by it is noticed and rethrown.
    ///
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - route: The route template.
    ///   - traceparent: The incoming `traceparent` header.
    ///   - body: The work; it receives the transaction (also in ``Transaction/current``).
    /// - Returns: What `body` returns.
    public func withWebTransaction<T>(
        method: String,
        route: String,
        traceparent: String? = nil,
        _ body: (Transaction) async throws -> T
    ) async rethrows -> T {
        let transaction = startWebTransaction(method: method, route: route, traceparent: traceparent)
        return try await Self.run(transaction, body)
    }

    /// Records a background transaction around a closure; an error thrown by it is noticed and rethrown.
    ///
    /// - Parameters:
    ///   - name: The job's name.
    ///   - body: The work.
    /// - Returns: What `body` returns.
    public func withBackgroundTransaction<T>(name: String, _ body: (Transaction) async throws -> T) async rethrows -> T
    {
        try await Self.run(startBackgroundTransaction(name: name), body)
    }

    /// Records a background transaction around synchronous work.
    ///
    /// - Parameters:
    ///   - name: The job's name.
    ///   - body: The work.
    /// - Returns: What `body` returns.
    public func withBackgroundTransaction<T>(name: String, _ body: (Transaction) throws -> T) rethrows -> T {
        let transaction = startBackgroundTransaction(name: name)
        defer { transaction.end() }
        do {
            return try InstrumentationContext.withValue(transaction.instrumentationContext) { try body(transaction) }
        } catch {
            transaction.noticeError(error)
            throw error
        }
    }

    private static func run<T>(_ transaction: Transaction, _ body: (Transaction) async throws -> T) async rethrows -> T
    {
        defer { transaction.end() }
        do {
            return try await InstrumentationContext.withValue(transaction.instrumentationContext) {
                try await body(transaction)
            }
        } catch {
            transaction.noticeError(error)
            throw error
        }
    }
}
