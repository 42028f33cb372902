import APMAgent
import APMCollector
import APMCore
import APMExample
import APMStorage
import ArgumentParser
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// `apm demo`: the whole loop in one command.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a collector, the example service under run-program, and a load; print the login and reports.",
        discussion: HelpText.discussion(
            """
            Uses a fresh data directory (--data-dir, default ./apm-demo, recreated on every run). Ctrl-C stops
            everything and leaves no process behind.

            Example: swift run apm demo
            """
        )
    )

    @Option(help: "The demo's data directory (recreated).") var dataDir: String = "apm-demo"
    @Option(help: "The collector's port.") var port: Int = 7070
    @Option(help: "The example service's port (the next one is its downstream service).") var appPort: Int = 8080
    @Option(help: "Requests per second of the load.") var rate: Double = 10
    @Option(help: "Seconds to run; 0 runs until Ctrl-C.") var duration: Double = 0
    @Option(help: "Seconds between reports.") var reportInterval: Double = 30
    @Option(
        parsing: .unconditional,
        help: "Seconds after the load starts when it slows down (a bad deploy the Apdex alert catches); -1: never."
    )
    var slowdownAt: Double = 60
    @Option(help: "Seconds the slowdown lasts.") var slowdownSeconds: Double = 150

    func run() async throws {
        let stopping = StopFlag()
        let sources = Self.stopOnSignals(stopping)
        defer {
            for source in sources { source.cancel() }
        }
        let directory = try recreateDirectory()
        var logger = Logger(label: "apm.demo")
        logger.logLevel = .warning
        let configuration = collectorConfiguration(directory: directory)
        let webhookSecret = CredentialGenerator.make(.apiToken)
        let receiver = DemoWebhookReceiver(secret: webhookSecret)
        let store = try CollectorStorage.open(configuration, logger: logger)
        let collector = Collector(configuration: configuration, logger: logger, store: store)
        guard let credentials = try await collector.bootstrapIfNeeded() else { throw APMExit.failure }
        let services = ServiceGroup(
            configuration: .init(
                services: ([store] + collector.services + [receiver]).map { .init(service: $0) },
                gracefulShutdownSignals: [],
                logger: logger
            )
        )
        let collectorTask = Task { try await services.run() }
        while collector.boundPort == nil { try await Task.sleep(for: .milliseconds(20)) }
        let collectorURL = "http://127.0.0.1:\(collector.boundPort!)"

        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let child = try startExampleService(
            executable: executable,
            directory: directory,
            collectorURL: collectorURL,
            licenseKey: credentials.licenseKey
        )

        let appURL = "http://127.0.0.1:\(appPort)"
        let apm = Self.runnable(executable)
        try await Self.waitForAnswer(from: appURL + "/fast", unless: stopping)
        printWelcome(
            collectorURL: collectorURL,
            appURL: appURL,
            directory: directory,
            credentials: credentials,
            apm: apm
        )
        let load = await runLoad(
            appURL: appURL,
            collectorURL: collectorURL,
            credentials: credentials,
            alerts: (store, receiver, webhookSecret),
            stopping: stopping
        )
        // Each step of the stop is bounded: Ctrl-C ends the demo within seconds, leaving no process behind.
        _ = try? await Deadline.run(within: .seconds(1), timedOut: CancellationError()) { await load.value }
        // Let the agent deliver its last harvest, then stop the app, then the collector.
        kill(child.processIdentifier, SIGTERM)
        if await !Self.waitForExit(child.processIdentifier, within: .seconds(3)) {
            kill(child.processIdentifier, SIGKILL)
        }
        await printReport(collectorURL: collectorURL, token: credentials.apiToken)
        await services.triggerGracefulShutdown()
        _ = try? await collectorTask.value
        try await collector.close()
        print("Stopped. The data stays in \(directory); `apm collector --data-dir \(directory)` shows it again.")
    }

    /// Sends the load (with its slowdown) and a deployment marker, creates the demo's alert once the webhook
    /// receiver listens, and prints a report every `reportInterval` until the duration ends or a stop signal
    /// comes. Returns the load's task, winding down.
    private func runLoad(
        appURL: String,
        collectorURL: String,
        credentials: Collector.FirstStartCredentials,
        alerts: (store: any APMStore, receiver: DemoWebhookReceiver, secret: String),
        stopping: StopFlag
    ) async -> Task<LoadGenerator.Truth, Never> {
        let slowdown = slowdownAt >= 0 ? slowdownAt..<(slowdownAt + slowdownSeconds) : nil
        var loadConfiguration = LoadGenerator.Configuration(
            baseURL: appURL,
            rate: rate,
            duration: duration > 0 ? duration : 86_400 * 365
        )
        loadConfiguration.slowdown = slowdown
        let generator = LoadGenerator(configuration: loadConfiguration)
        let started = ContinuousClock.now
        let load = Task { await generator.run(stop: { stopping.value.load(ordering: .relaxed) }) }
        var lastReport = ContinuousClock.now
        var alertCreated = false
        let deployment = Self.recordDeployment(
            collectorURL: collectorURL,
            licenseKey: credentials.licenseKey,
            unless: stopping
        )
        while !stopping.value.load(ordering: .relaxed) {
            try? await Task.sleep(for: .milliseconds(200))
            if !alertCreated, let webhook = alerts.receiver.url {
                alertCreated = await Self.createDemoAlert(
                    store: alerts.store,
                    account: credentials.account.id,
                    webhook: webhook,
                    secret: alerts.secret
                )
            }
            if duration > 0 && ContinuousClock.now - started >= .milliseconds(Int64(duration * 1000)) { break }
            if ContinuousClock.now - lastReport >= .milliseconds(Int64(reportInterval * 1000)) {
                lastReport = ContinuousClock.now
                await printReport(collectorURL: collectorURL, token: credentials.apiToken)
            }
        }
        stopping.value.store(true, ordering: .relaxed)
        deployment.cancel()
        return load
    }
}
