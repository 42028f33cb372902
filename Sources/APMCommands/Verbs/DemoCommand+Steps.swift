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

/// The steps of `apm demo`.
extension DemoCommand {
    /// Ctrl-C and SIGTERM set `stopping` (the demo stops its parts in order) instead of ending the process.
    static func stopOnSignals(_ stopping: StopFlag) -> [any DispatchSourceSignal] {
        let signalQueue = DispatchQueue(label: "apm.demo.signals")
        return [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { stopping.value.store(true, ordering: .relaxed) }
            source.resume()
            return source
        }
    }

    /// The data directory, empty: an earlier demo's is removed, any other directory refused.
    func recreateDirectory() throws -> String {
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
        return directory
    }

    func collectorConfiguration(directory: String) -> CollectorConfiguration {
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
        return configuration
    }

    /// Writes the example service's agent.ini and starts it under `apm run-program`.
    func startExampleService(
        executable: String,
        directory: String,
        collectorURL: String,
        licenseKey: String
    ) throws -> Process {
        let config = (directory as NSString).appendingPathComponent("agent.ini")
        try AgentConfigurationTemplate.text(licenseKey: licenseKey)
            .replacingOccurrences(of: "collector_url = http://127.0.0.1:7070", with: "collector_url = \(collectorURL)")
            .replacingOccurrences(of: "\napp_name = My Application\n", with: "\napp_name = Example Service\n")
            .replacingOccurrences(of: "\nharvest_interval = 10\n", with: "\nharvest_interval = 5\n")
            // The collector is local: the app's last delivery at a stop takes milliseconds, and Ctrl-C ends the
            // demo within a few seconds.
            .replacingOccurrences(of: "\nshutdown_timeout = 3\n", with: "\nshutdown_timeout = 1\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
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
        return child
    }

    /// Where everything is, how to look at it, and what the slowdown will show.
    func printWelcome(
        collectorURL: String,
        appURL: String,
        directory: String,
        credentials: Collector.FirstStartCredentials,
        apm: String
    ) {
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
              \(apm) hosts --collector-url \(collectorURL) --api-token \(credentials.apiToken)   (this machine; Hosts in the dashboard)

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
    }

    /// Waits up to 30 s for `url` to answer 200 (the example service listening), or until the demo stops.
    static func waitForAnswer(from url: String, unless stopping: StopFlag) async throws {
        for _ in 0..<300 where !stopping.value.load(ordering: .relaxed) {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: url)!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Marks the example service's start as a deployment once its app exists (after the agent's first delivery),
    /// as a deploy script would with `apm deployments record`: every chart shows the marker. In a task of its
    /// own, cancelled at the stop: an attempt in flight must not hold Ctrl-C up.
    static func recordDeployment(
        collectorURL: String,
        licenseKey: String,
        unless stopping: StopFlag
    ) -> Task<Void, any Error> {
        Task {
            try await Task.sleep(for: .seconds(10))
            while !stopping.value.load(ordering: .relaxed) {
                let record = try DeploymentsCommand.Record.parse([
                    "--collector-url", collectorURL, "--license-key", licenseKey, "Example Service",
                    "--revision", "demo-1", "--description", "apm demo started the example service",
                ])
                if (try? await record.run()) != nil { return }
                try await Task.sleep(for: .seconds(5))
            }
        }
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
    static func createDemoAlert(
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

    func printReport(collectorURL: String, token: String) async {
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
