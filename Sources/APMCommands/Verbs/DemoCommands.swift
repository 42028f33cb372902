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

/// `apm example-service`: the example app the demo and the end-to-end test run.
struct ExampleServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example-service",
        abstract:
            "Run the example service (instrumented Hummingbird app with SQLite, an external call, a failing route and a background job).",
        discussion: HelpText.discussion(
            """
            Routes: \(ExampleService.routes.map { "\($0.path) (\($0.description))" }.joined(separator: ", ")).
            Run it with the agent: apm run-program --config agent.ini -- apm example-service

            Exit codes: 0 stopped by SIGTERM/SIGINT; 1 it could not start.
            """
        )
    )

    @Option(help: "The service's port (0: any free port, printed once listening).") var port: Int = 8080
    @Option(help: "The downstream (inventory) service's port (0: any free port).") var downstreamPort: Int = 8081
    @Option(help: "The SQLite file.") var database: String = "example.sqlite"
    @Option(help: "Seconds between background jobs.") var jobInterval: Double = 5
    @Option(help: "Append each request's server-measured duration to this file (JSON lines).") var durationLog: String =
        ""

    func run() async throws {
        var configuration = ExampleService.Configuration()
        configuration.port = port
        configuration.downstreamPort = downstreamPort
        configuration.databasePath = database
        configuration.jobInterval = jobInterval
        configuration.durationLog = durationLog
        var logger = Logger(label: "example")
        logger.logLevel = .warning
        do {
            try await ExampleService(configuration: configuration, logger: logger).run { port, downstreamPort in
                print("example service listening on http://127.0.0.1:\(port) (inventory on :\(downstreamPort))")
                fflush(nil)
            }
        } catch {
            let text = "\(error)"
            if text.contains("Address already in use") || text.contains("EADDRINUSE") {
                printError(
                    "apm example-service: cannot listen on 127.0.0.1:\(port) or :\(downstreamPort): the address is in use; choose --port and --downstream-port"
                )
            } else {
                printError("apm example-service: \(error)")
            }
            throw ExitCode(1)
        }
    }
}

/// `apm loadgen`: drives the example service and writes the ground truth.
struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Drive the example service with a mix of routes and write what a client-side stopwatch saw.",
        discussion: HelpText.discussion(
            """
            Requests are sent open-loop at --rate per second (a request is skipped, and counted, when --max-in-flight
            are already waiting). The ground truth has, per route (named as the agent names the transaction) and
            per minute: count, errors (5xx or no answer), Apdex S/T/F at --apdex-t, and p50/p95/p99.

            Example:
              apm loadgen --url http://127.0.0.1:8080 --rate 20 --output truth.json
            """
        )
    )

    @Option(help: "The example service's URL.") var url: String = "http://127.0.0.1:8080"
    @Option(help: "Requests per second.") var rate: Double = 20
    @Option(help: "Seconds to run.") var duration: Double = 30
    @Option(name: .customLong("apdex-t"), help: "T for the S/T/F counts.") var apdexT: Double = 0.5
    @Option(help: "Write the ground truth here (JSON); standard output when absent.") var output: String?
    @Option(help: "Requests waiting for an answer at most; past it a request is skipped and counted.")
    var maxInFlight: Int = 64

    func validate() throws {
        guard rate > 0, rate <= 2_000 else { throw ValidationError("--rate must be from 0 to 2000 per second") }
        guard (1...10_000).contains(maxInFlight) else { throw ValidationError("--max-in-flight must be 1 to 10000") }
        guard duration > 0, duration <= 86_400 else {
            throw ValidationError("--duration must be from 0 to 86400 seconds")
        }
        guard ApdexThreshold(seconds: apdexT) != nil else {
            throw ValidationError("--apdex-t must be a positive number of seconds")
        }
    }

    func run() async throws {
        var configuration = LoadGenerator.Configuration(baseURL: url, rate: rate, duration: duration, apdexT: apdexT)
        configuration.maxInFlight = maxInFlight
        let generator = LoadGenerator(configuration: configuration)
        let truth = await generator.run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(truth)
        if let output {
            try data.write(to: URL(fileURLWithPath: output))
            print("\(truth.requests) requests (\(truth.skipped) skipped); ground truth in \(output)")
        } else {
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

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
        let signalQueue = DispatchQueue(label: "apm.demo.signals")
        let sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { stopping.value.store(true, ordering: .relaxed) }
            source.resume()
            return source
        }
        defer {
            for source in sources { source.cancel() }
        }
        let directory = URL(fileURLWithPath: dataDir).standardizedFileURL.path
        let marker = (directory as NSString).appendingPathComponent(".apm-demo")
        if FileManager.default.fileExists(atPath: directory) {
            guard FileManager.default.fileExists(atPath: marker) else {
                printError("apm demo: \(directory) exists and is not a demo directory; choose another --data-dir")
                throw APMExit.configuration
            }
            try FileManager.default.removeItem(atPath: directory)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: marker, contents: Data())

        var logger = Logger(label: "apm.demo")
        logger.logLevel = .warning
        var configuration = CollectorConfiguration()
        configuration.server.port = port
        configuration.dataDirectory = directory
        // The demo's agent delivers every 5 s: minutes are complete well within 30 s, and alerts can move faster
        // than with a production agent's 10 s and retries.
        configuration.alerts.evaluationDelay = 30
        configuration.alerts.interval = .seconds(5)
        configuration.alerts.dashboardURL = "http://127.0.0.1:\(port)"
        // The demo's own receiver is on loopback, which notifications may not reach unless allowed.
        configuration.alerts.allowedDestinations = ["127.0.0.1"]
        let webhookSecret = APITokenGenerator.makeToken()
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

        let config = (directory as NSString).appendingPathComponent("agent.ini")
        try AgentConfigurationTemplate.text(licenseKey: credentials.licenseKey)
            .replacingOccurrences(of: "collector_url = http://127.0.0.1:7070", with: "collector_url = \(collectorURL)")
            .replacingOccurrences(of: "\napp_name = My Application\n", with: "\napp_name = Example Service\n")
            .replacingOccurrences(of: "\nharvest_interval = 10\n", with: "\nharvest_interval = 5\n")
            // The collector is local: the app's last delivery at a stop takes milliseconds, and Ctrl-C ends the
            // demo within a few seconds.
            .replacingOccurrences(of: "\nshutdown_timeout = 3\n", with: "\nshutdown_timeout = 1\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let child = Process()
        child.executableURL = URL(fileURLWithPath: executable)
        child.arguments = [
            // --exit-with-parent: a demo ended by SIGKILL leaves no app behind holding its ports.
            "run-program", "--config", config, "--sample-interval", "5", "--exit-with-parent", "--", executable,
            "example-service",
            "--port", "\(appPort)", "--downstream-port", "\(appPort + 1)", "--database",
            (directory as NSString).appendingPathComponent("example.sqlite"),
        ]
        child.standardInput = FileHandle.nullDevice
        try child.run()

        let appURL = "http://127.0.0.1:\(appPort)"
        let apm = Self.runnable(executable)
        for _ in 0..<300 where !stopping.value.load(ordering: .relaxed) {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: appURL + "/fast")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        print(
            """

            swift-apm demo is running.
              collector  \(collectorURL)   (data: \(directory))
              license key \(credentials.licenseKey)   (agents: it can only send data)
              API token  \(credentials.apiToken)   (admin: reports and the JSON API)
              dashboard  \(collectorURL)/   user \(credentials.adminUser), password \(credentials.adminPassword)
              example service \(appURL) under `apm run-program`, load \(rate) requests/s

            Look at it:
              \(apm) report --collector-url \(collectorURL) --api-token \(credentials.apiToken) --app "Example Service"
              curl -H "Authorization: Bearer \(credentials.apiToken)" \(collectorURL)/api/v1/apps

            Ctrl-C stops everything.
            """
        )
        fflush(nil)

        let slowdown = slowdownAt >= 0 ? slowdownAt..<(slowdownAt + slowdownSeconds) : nil
        if let slowdown {
            print(
                """
                At \(Int(slowdown.lowerBound)) s the load slows down for \(Int(slowdownSeconds)) s: every request takes 1.5 s,
                as after a bad deploy. The condition "Example Service Apdex" (critical below 0.6 over 2 minutes)
                opens an incident about 2 minutes later and resolves it about 3 minutes after the slowdown ends;
                a local webhook prints each notification here (>>>). The alerts:
                  \(apm) alerts list --collector-url \(collectorURL) --api-token \(credentials.apiToken)

                """
            )
            fflush(nil)
        }
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
        // Mark the example service's start as a deployment once its app exists (after the agent's first delivery),
        // as a deploy script would with `apm deployments record`: every chart shows the marker. In a task of its
        // own, cancelled at the stop: an attempt in flight must not hold Ctrl-C up.
        let deployment = Task {
            try await Task.sleep(for: .seconds(10))
            while !stopping.value.load(ordering: .relaxed) {
                let record = try DeploymentsCommand.Record.parse([
                    "--collector-url", collectorURL, "--license-key", credentials.licenseKey, "Example Service",
                    "--revision", "demo-1", "--description", "apm demo started the example service",
                ])
                if (try? await record.run()) != nil { return }
                try await Task.sleep(for: .seconds(5))
            }
        }
        while !stopping.value.load(ordering: .relaxed) {
            try? await Task.sleep(for: .milliseconds(200))
            if !alertCreated, let webhook = receiver.url {
                alertCreated = await Self.createDemoAlert(
                    store: store,
                    account: credentials.account.id,
                    webhook: webhook,
                    secret: webhookSecret
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

    /// How to type this `apm` so that the printed commands run as printed: `apm` when it is the one on PATH, else
    /// its path (relative to the working directory when below it, as after `swift run apm demo`).
    static func runnable(_ executable: String) -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        if RunProgramCommand.resolve("apm", path: path).map({ URL(fileURLWithPath: $0).resolvingSymlinksInPath().path })
            == URL(fileURLWithPath: executable).resolvingSymlinksInPath().path
        {
            return "apm"
        }
        let directory = FileManager.default.currentDirectoryPath
        return executable.hasPrefix(directory + "/") ? String(executable.dropFirst(directory.count + 1)) : executable
    }

    /// Waits for a child process to end (whoever reaps it: Foundation's `Process` may be first).
    ///
    /// - Returns: Whether it ended in time.
    static func waitForExit(_ pid: pid_t, within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result == -1 && errno == ECHILD) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Once the example service's app exists: a webhook channel to the demo's receiver and an Apdex condition
    /// that the slowdown breaches, through the same rules as `apm alerts`.
    ///
    /// - Returns: Whether they were created.
    private static func createDemoAlert(
        store: any APMStore,
        account: Int64,
        webhook: String,
        secret: String
    ) async
        -> Bool
    {
        guard let app = try? await store.apps(accountID: account).first(where: { $0.name == "Example Service" }) else {
            return false
        }
        let now = Date().timeIntervalSince1970
        do {
            var channelRequest = AlertChannelRequest()
            channelRequest.name = "demo webhook"
            channelRequest.kind = "webhook"
            channelRequest.url = webhook
            channelRequest.secret = secret
            let channel = try await store.createAlertChannel(
                try AlertValidation.channel(channelRequest, accountID: account, generatedSecret: secret, now: now)
            )
            var request = AlertConditionRequest()
            request.appID = app.id
            request.name = "Example Service Apdex"
            request.metric = "apdex"
            // The mix's Apdex is about 0.78; the slowdown's requests are all frustrated.
            request.critical = 0.6
            request.windowMinutes = 2
            request.forEvaluations = 1
            request.channels = [channel.id]
            _ = try await store.createAlertCondition(
                try AlertValidation.condition(
                    request,
                    accountID: account,
                    apps: [app.id],
                    channels: [channel.id],
                    now: now
                )
            )
            return true
        } catch {
            printError("apm demo: could not create the demo's alert: \(error)")
            return true
        }
    }

    private func printReport(collectorURL: String, token: String) async {
        print("\n--- report at \(ReportCommand.time(Date().timeIntervalSince1970)) ---")
        let report = try? ReportCommand.parse([
            "--collector-url", collectorURL, "--api-token", token, "--app", "Example Service", "--since", "30m",
        ])
        try? await report?.run()
        fflush(nil)
    }
}

/// A flag set by signal handlers and read by the demo's loops.
final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}
