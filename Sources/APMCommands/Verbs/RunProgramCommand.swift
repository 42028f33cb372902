import APMAgent
import APMCore
import ArgumentParser
import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `apm run-program -- PROGRAM ARGS...`: runs an app with the agent switched on, and watches its process.
struct RunProgramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-program",
        abstract: "Run a program with the agent switched on, and report its CPU, memory and exits.",
        discussion: HelpText.discussion(
            """
            Validates the config, puts APM_CONFIG_FILE and the other APM_* variables (and, for apps instrumented
            with OpenTelemetry, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, OTEL_SERVICE_NAME,
            OTEL_RESOURCE_ATTRIBUTES; never replacing ones already set) into the program's environment, runs it
            with the same stdin/stdout/stderr, forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT, and exits with its
            status (128 + signal when a signal killed it). While it runs, its CPU, resident memory, threads and
            open files are sampled from /proc and reported to the collector with its start, stop, exit and crash events.
            With --forward-output (or log_forwarding.forward_output = true), its stdout and stderr lines are sent as
            the app's logs, level read from prefixes such as ERROR or WARNING, a traceback kept as one record.

            Examples:
              apm run-program -- ./.build/release/MyServer --port 8080
              apm run-program --config agent.ini --environment staging -- python3 app.py

            Exit codes: the program's; 2 the config is broken (run anyway without the agent with
            --ignore-config-errors); 127 the program was not found.
            """
        )
    )

    @Option(help: "The agent config file (default: APM_CONFIG_FILE, or ./agent.ini when it exists).")
    var config: String?

    @Option(help: "Use the [agent:<environment>] section of this environment (sets APM_ENVIRONMENT).")
    var environment: String?

    @Flag(help: "Run the program without the agent when the config is broken, instead of exiting with 2.")
    var ignoreConfigErrors = false

    @Flag(
        help:
            "Stop the program (SIGTERM) when whatever started run-program ends, even by SIGKILL: for supervisors that run it as a child, as apm demo does."
    )
    var exitWithParent = false

    @Option(help: "Seconds between samples of the process's CPU and memory, and of the host's.")
    var sampleInterval: Double = 10

    @Flag(
        inversion: .prefixedNo,
        help:
            "Send the host's CPU, memory, load, disk and network with each sample (--no-host-metrics: when another app on the host sends them already)."
    )
    var hostMetrics = true

    @Flag(
        help:
            "Send the program's stdout and stderr lines to the collector as its logs (still printed unchanged); also log_forwarding.forward_output."
    )
    var forwardOutput = false

    @Argument(parsing: .captureForPassthrough, help: "The program and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        // Everything from the first unknown word on is the program's, so `--help` would name the program:
        // before `--` and before the program it asks for this verb's help.
        if let first = command.first, first == "--help" || first == "-h" {
            throw CleanExit.helpRequest(self)
        }
        guard !(command.first == "--" ? Array(command.dropFirst()) : command).isEmpty else {
            throw ValidationError("name the program to run after --, e.g. apm run-program -- ./MyServer")
        }
        guard sampleInterval >= 0.05, sampleInterval <= 3600 else {
            throw ValidationError("--sample-interval must be from 0.05 to 3600 seconds")
        }
    }

    func run() async throws {
        let parent = getppid()
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        var environment = ProcessInfo.processInfo.environment
        guard let program = Self.resolve(arguments[0], path: environment["PATH"] ?? "/usr/bin:/bin") else {
            printError("apm run-program: \(arguments[0]): program not found (not executable, or not on PATH)")
            throw APMExit.programNotFound
        }

        // The agent's configuration, validated before the program starts.
        let agentConfiguration = try checkedAgentConfiguration(environment: &environment)
        if let configuration = agentConfiguration, configuration.isActive {
            Self.exportAgentSettings(configuration, to: &environment)
        }

        // The program's output as logs: read from pipes (still printed unchanged), sent by an agent of our own.
        let forwarding = agentConfiguration.flatMap { configuration -> APMAgent? in
            guard configuration.isActive, forwardOutput || configuration.logForwarding.forwardOutput else { return nil }
            var logger = Logger(label: "apm.run-program")
            logger.logLevel = .error
            return APMAgent(configuration: configuration, logger: logger)
        }
        if forwarding != nil, environment["PYTHONUNBUFFERED"] == nil {
            // Python buffers a pipe's output in blocks: its lines would arrive late and out of order with stderr's.
            environment["PYTHONUNBUFFERED"] = "1"
        }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                program: program,
                arguments: arguments,
                environment: environment,
                captureOutput: forwarding != nil
            )
        } catch {
            printError("apm run-program: cannot start \(program): \(error)")
            throw APMExit.failure
        }
        let forwarders = Self.forwarders(of: child, to: forwarding)
        let reporter = agentConfiguration.flatMap {
            $0.isActive
                ? ProcessReporter(configuration: $0, pid: child.pid, command: arguments.joined(separator: " ")) : nil
        }
        // Sampling starts at once, with a first sample right away: a slow collector must not delay it (the
        // start event is sent alongside), or a short-lived program would end before it is ever sampled.
        await reporter?.started()
        let sampling = sample(child, to: reporter)
        let parentWatch = stopWhenOrphaned(child, parent: parent)
        let status = await child.wait()
        sampling.cancel()
        parentWatch.cancel()
        // The last lines, then their delivery (within the agent's shutdown_timeout, beside the process report's).
        for forwarder in forwarders { forwarder.wait(timeout: .seconds(2)) }
        async let forwarded: Void = forwarding?.shutdown() ?? ()
        // How it ended, with the samples still pending. A stop that was asked for (a container runtime's SIGTERM)
        // gets what is left of the agent's own flush deadline, shutdown_timeout, counted from the signal (the app
        // flushed meanwhile), so run-program ends within the runtime's grace period; a program that ended by
        // itself gives the report longer.
        if let reporter, let configuration = agentConfiguration {
            let deadline: Duration
            if let since = status.sinceStopRequested {
                deadline = max(configuration.shutdownTimeout - since, .milliseconds(300))
            } else {
                deadline = max(configuration.shutdownTimeout, .seconds(10))
            }
            await reporter.finished(status, within: deadline)
        }
        await forwarded
        throw ExitCode(status.exitCode)
    }

    /// Samples the program and its host every `sampleInterval` into the reporter, until cancelled.
    private func sample(_ child: ChildProcess, to reporter: ProcessReporter?) -> Task<Void, Never> {
        Task { [sampleInterval, hostMetrics] in
            var sampler = ProcessSampler(pid: child.pid)
            var host = hostMetrics ? HostSampler() : nil
            while !Task.isCancelled {
                let hostPoints = host?.sample()?.metricPoints() ?? []
                if let sample = sampler.sample() {
                    await reporter?.record(sample, host: hostPoints + sample.metricPoints(pid: child.pid))
                }
                try? await Task.sleep(for: .milliseconds(Int64(sampleInterval * 1000)))
            }
        }
    }

    /// A supervisor that ends without stopping us (SIGKILL) leaves us reparented: stop the program then.
    private func stopWhenOrphaned(_ child: ChildProcess, parent: pid_t) -> Task<Void, Never> {
        Task { [exitWithParent] in
            while exitWithParent && !Task.isCancelled {
                if getppid() != parent {
                    child.requestStop(SIGTERM)
                    return
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// The agent's configuration (the file of `--config`, `APM_CONFIG_FILE` or `./agent.ini`, and the
    /// environment), validated before the program starts; the program's environment names the file. A broken
    /// config stops run-program unless `--ignore-config-errors`, which runs the program with the agent off.
    private func checkedAgentConfiguration(environment: inout [String: String]) throws -> AgentConfiguration? {
        let configPath =
            config ?? environment["APM_CONFIG_FILE"]
            ?? (FileManager.default.fileExists(atPath: "agent.ini") ? "agent.ini" : nil)
        var agentConfiguration: AgentConfiguration?
        if let configPath {
            environment["APM_CONFIG_FILE"] = URL(fileURLWithPath: configPath).standardizedFileURL.path
        }
        if let environmentName = self.environment { environment["APM_ENVIRONMENT"] = environmentName }
        do {
            let check = try AgentConfiguration.check(environment: environment)
            for warning in check.warnings { printError("apm run-program: warning: \(warning)") }
            if check.problems.isEmpty {
                agentConfiguration = check.configuration
            } else {
                for problem in check.problems { printError("apm run-program: \(problem)") }
                guard ignoreConfigErrors else {
                    printError(
                        "apm run-program: the config is broken; fix it, or pass --ignore-config-errors to run without the agent"
                    )
                    throw APMExit.configuration
                }
                environment["APM_ENABLED"] = "false"
            }
        } catch let error as ConfigurationError {
            printError("apm run-program: \(error)")
            guard ignoreConfigErrors else { throw APMExit.configuration }
            environment["APM_ENABLED"] = "false"
        }
        return agentConfiguration
    }

    /// The agent's settings for the program: the agent reads APM_*, an OpenTelemetry SDK OTEL_* (what the
    /// program's environment sets already wins).
    static func exportAgentSettings(_ configuration: AgentConfiguration, to environment: inout [String: String]) {
        func setIfAbsent(_ name: String, _ value: String) {
            if environment[name] == nil || environment[name]?.isEmpty == true { environment[name] = value }
        }
        setIfAbsent("APM_LICENSE_KEY", configuration.licenseKey)
        setIfAbsent("APM_APP_NAME", configuration.appName)
        setIfAbsent("APM_COLLECTOR_URL", configuration.collectorURL)
        setIfAbsent("OTEL_EXPORTER_OTLP_ENDPOINT", configuration.collectorURL)
        setIfAbsent("OTEL_EXPORTER_OTLP_HEADERS", "x-apm-license-key=\(configuration.licenseKey)")
        // OTLP over HTTP, which the collector's /v1/traces reads (protobuf or JSON); some SDKs (Python's)
        // default to gRPC, which it does not.
        setIfAbsent("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        setIfAbsent("OTEL_SERVICE_NAME", configuration.appName)
        if !configuration.environment.isEmpty {
            setIfAbsent("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=\(configuration.environment)")
        }
    }

    /// The program's stdout and stderr read from their pipes, echoed unchanged and sent as logs through `agent`
    /// (started here); none when its output is not captured.
    static func forwarders(of child: ChildProcess, to agent: APMAgent?) -> [OutputForwarder] {
        guard let agent, let output = child.output else { return [] }
        agent.start()
        return [
            OutputForwarder(
                pipe: output.stdout,
                echo: STDOUT_FILENO,
                stream: "stdout",
                defaultLevel: .info,
                agent: agent
            ),
            OutputForwarder(
                pipe: output.stderr,
                echo: STDERR_FILENO,
                stream: "stderr",
                defaultLevel: .warn,
                agent: agent
            ),
        ]
    }

    /// The program's path: as given when it contains a slash, else the first match on PATH.
    static func resolve(_ name: String, path: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }
}
