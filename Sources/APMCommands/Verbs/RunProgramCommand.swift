import APMAgent
import APMCore
import ArgumentParser
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `apm run-program -- PROGRAM ARGS...`: runs an app with the agent switched on, and watches its process.
struct RunProgramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-program",
        abstract: "Run a program with the agent switched on, and report its CPU, memory and exits.",
        discussion: """
            Validates the config, puts APM_CONFIG_FILE and the other APM_* variables (and, for apps instrumented
            with OpenTelemetry, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, OTEL_SERVICE_NAME and
            OTEL_RESOURCE_ATTRIBUTES, never replacing ones already set) into the program's environment, runs it
            with the same stdin/stdout/stderr, forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT, and exits with its
            status (128 + signal when a signal killed it). While it runs, its CPU, resident memory, threads and
            open files are sampled from /proc and reported to the collector with its start, exit and crash events.

            Examples:
              apm run-program -- ./.build/release/MyServer --port 8080
              apm run-program --config agent.ini --environment staging -- python3 app.py

            Exit codes: the program's; 2 the config is broken (run anyway without the agent with
            --ignore-config-errors); 127 the program was not found.
            """
    )

    @Option(help: "The agent config file (default: APM_CONFIG_FILE, or ./agent.ini when it exists).")
    var config: String?

    @Option(help: "Use the [agent:<environment>] section of this environment (sets APM_ENVIRONMENT).")
    var environment: String?

    @Flag(help: "Run the program without the agent when the config is broken, instead of exiting with 2.")
    var ignoreConfigErrors = false

    @Option(help: "Seconds between samples of the process's CPU and memory.")
    var sampleInterval: Double = 10

    @Argument(parsing: .captureForPassthrough, help: "The program and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        guard !(command.first == "--" ? Array(command.dropFirst()) : command).isEmpty else {
            throw ValidationError("name the program to run after --, e.g. apm run-program -- ./MyServer")
        }
        guard sampleInterval >= 0.05, sampleInterval <= 3600 else {
            throw ValidationError("--sample-interval must be from 0.05 to 3600 seconds")
        }
    }

    func run() async throws {
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        var environment = ProcessInfo.processInfo.environment
        guard let program = Self.resolve(arguments[0], path: environment["PATH"] ?? "/usr/bin:/bin") else {
            printError("apm run-program: \(arguments[0]): program not found (not executable, or not on PATH)")
            throw APMExit.programNotFound
        }

        // The agent's configuration, validated before the program starts.
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
        if let configuration = agentConfiguration, configuration.isActive {
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

        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(program: program, arguments: arguments, environment: environment)
        } catch {
            printError("apm run-program: cannot start \(program): \(error)")
            throw APMExit.failure
        }
        let reporter = agentConfiguration.flatMap {
            $0.isActive
                ? ProcessReporter(configuration: $0, pid: child.pid, command: arguments.joined(separator: " ")) : nil
        }
        // Sampling starts at once, with a first sample right away: a slow collector must not delay it (the
        // start event is sent alongside), or a short-lived program would end before it is ever sampled.
        let startReport = Task { await reporter?.started() }
        let sampling = Task {
            var sampler = ProcessSampler(pid: child.pid)
            while !Task.isCancelled {
                if let sample = sampler.sample() { await reporter?.record(sample) }
                try? await Task.sleep(for: .milliseconds(Int64(sampleInterval * 1000)))
            }
        }
        let status = await child.wait()
        sampling.cancel()
        // The start event goes before the exit event; samples still pending go with the exit event.
        await startReport.value
        await reporter?.finished(status)
        throw ExitCode(status.exitCode)
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

/// How a child ended.
struct ChildStatus {
    /// The exit status, when it exited.
    var exitStatus: Int32?
    /// The signal, when one killed it.
    var signal: Int32?

    /// The status to exit with: the child's, or 128 + signal.
    var exitCode: Int32 { exitStatus ?? (128 + (signal ?? 0)) }
}

/// A child process in its own process group, with signals forwarded to it.
///
/// `@unchecked Sendable`: all stored properties are set before the object is shared; the dispatch signal
/// sources (not `Sendable`) are only cancelled, once, after the child has ended.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    let signalSources: [any DispatchSourceSignal]
    let ownsTerminal: Bool

    static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private init(pid: pid_t, signalSources: [any DispatchSourceSignal], ownsTerminal: Bool) {
        self.pid = pid
        self.signalSources = signalSources
        self.ownsTerminal = ownsTerminal
    }

    static func spawn(program: String, arguments: [String], environment: [String: String]) throws -> ChildProcess {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so that a signal sent to us is delivered to it once (by us), and default
        // dispositions and an empty mask whatever ours are.
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        )
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in forwardedSignals + [SIGPIPE, SIGTTOU, SIGTTIN, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, nil, &attributes, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }

        // Interactive: hand the terminal to the child's group, so Ctrl-C and reads reach it as usual.
        var ownsTerminal = false
        if isatty(STDIN_FILENO) == 1 {
            signal(SIGTTOU, SIG_IGN)
            ownsTerminal = tcsetpgrp(STDIN_FILENO, pid) == 0
        }
        let queue = DispatchQueue(label: "apm.run-program.signals")
        let sources = forwardedSignals.map { signalNumber -> any DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { kill(pid, signalNumber) }
            source.resume()
            return source
        }
        return ChildProcess(pid: pid, signalSources: sources, ownsTerminal: ownsTerminal)
    }

    /// Waits for the child to end (on a thread of its own: `waitpid` blocks).
    func wait() async -> ChildStatus {
        let pid = self.pid
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: status)
            }
        }
        if ownsTerminal { tcsetpgrp(STDIN_FILENO, getpgrp()) }
        for source in signalSources { source.cancel() }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        if status & 0x7f == 0 { return ChildStatus(exitStatus: (status >> 8) & 0xff, signal: nil) }
        return ChildStatus(exitStatus: nil, signal: status & 0x7f)
    }
}

/// Reads a process's CPU, memory, threads and open files from /proc.
struct ProcessSampler {
    let pid: pid_t
    private var lastTicks: Double?
    private var lastTime: Double?
    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pid: pid_t) {
        self.pid = pid
    }

    mutating func sample() -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15, threads 20.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 17, let user = Double(fields[11]), let system = Double(fields[12]),
            let threads = Int(fields[17])
        else { return nil }
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rssKiB =
            status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first
            .flatMap { UInt64($0) } ?? 0
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        let now = Date().timeIntervalSince1970
        let ticks = user + system
        var cpu = 0.0
        if let lastTicks, let lastTime, now > lastTime {
            cpu = max(0, (ticks - lastTicks) / ticksPerSecond / (now - lastTime) * 100)
        }
        lastTicks = ticks
        lastTime = now
        return ProcessSample(
            timestamp: now,
            cpuPercent: cpu,
            residentBytes: rssKiB * 1024,
            threads: threads,
            openFiles: files
        )
    }
}

/// Sends process samples and events to the collector; never fails the run.
actor ProcessReporter {
    private let configuration: AgentConfiguration
    private let pid: pid_t
    private let command: String
    private let transport = URLSessionCollectorTransport()
    private var samples: [ProcessSample] = []
    private var lastSent = Date()

    init(configuration: AgentConfiguration, pid: pid_t, command: String) {
        self.configuration = configuration
        self.pid = pid
        self.command = command
    }

    func started() async {
        await send(events: [ProcessEvent(timestamp: Date().timeIntervalSince1970, kind: .start, detail: command)])
    }

    func record(_ sample: ProcessSample) async {
        samples.append(sample)
        // Report at least every 10 s, and at once while samples are sparse.
        if Date().timeIntervalSince(lastSent) >= 10 || samples.count >= 100 || samples.count == 1 {
            await send(events: [])
        }
    }

    func finished(_ status: ChildStatus) async {
        let event =
            status.signal.map {
                ProcessEvent(
                    timestamp: Date().timeIntervalSince1970,
                    kind: .crash,
                    signal: Int($0),
                    detail: "killed by signal \($0)"
                )
            }
            ?? ProcessEvent(
                timestamp: Date().timeIntervalSince1970,
                kind: .exit,
                exitCode: Int(status.exitStatus ?? 0),
                detail: "exited with status \(status.exitStatus ?? 0)"
            )
        // The last report carries whatever samples are still pending; give it longer than the periodic ones.
        await send(events: [event], timeout: .seconds(10))
    }

    private func send(events: [ProcessEvent], timeout: Duration = .seconds(5)) async {
        let report = ProcessReport(
            appName: configuration.appName,
            host: ProcessInfo.processInfo.hostName,
            pid: Int(pid),
            command: String(command.prefix(4096)),
            samples: samples,
            events: events
        )
        guard let body = try? Gzip.compress(WireCoding.makeEncoder().encode(report)),
            let url = URL(string: configuration.collectorURL + "/v1/agent/process")
        else { return }
        let request = CollectorRequest(
            url: url,
            headers: [
                "Content-Type": "application/json", "Content-Encoding": "gzip",
                "X-APM-License-Key": configuration.licenseKey,
            ],
            body: body,
            timeout: timeout
        )
        if let response = try? await transport.send(request), (200..<300).contains(response.status) {
            samples = []
            lastSent = Date()
        } else if samples.count > 1_000 {
            samples.removeFirst(samples.count - 1_000)
        }
    }
}
