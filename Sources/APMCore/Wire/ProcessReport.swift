/// Process metrics and lifecycle events of an app's process, sent by `apm run-program` to
/// `POST /v1/agent/process` (same headers as batches).
public struct ProcessReport: Codable, Sendable, Hashable {
    /// The protocol version, 1.
    public var version: Int
    /// A unique id (UUID), the same on every retry of this report, so that the collector counts it once.
    /// Reports from before ids existed have none.
    public var reportID: String?
    /// The app's name (`app_name`).
    public var appName: String
    /// The host.
    public var host: String
    /// The monitored process's id.
    public var pid: Int
    /// The command run.
    public var command: String
    /// Resource samples.
    public var samples: [ProcessSample]
    /// Start, exit and crash events.
    public var events: [ProcessEvent]
    /// Readings of the host (`system.cpu.utilization`, ...), host-wide: stored as the app's metric series of
    /// process 0 (optional on the wire; a report with them needs a ``reportID``).
    public var metrics: [MetricPoint]

    /// Creates a report.
    ///
    /// - Parameters:
    ///   - appName: The app.
    ///   - host: The host.
    ///   - pid: The process id.
    ///   - command: The command.
    ///   - samples: Samples.
    ///   - events: Events.
    ///   - reportID: The report's id, kept across retries.
    ///   - metrics: Readings of the host.
    public init(
        appName: String,
        host: String,
        pid: Int,
        command: String,
        samples: [ProcessSample],
        events: [ProcessEvent],
        reportID: String? = nil,
        metrics: [MetricPoint] = []
    ) {
        self.version = 1
        self.reportID = reportID
        self.appName = appName
        self.host = host
        self.pid = pid
        self.command = command
        self.samples = samples
        self.events = events
        self.metrics = metrics
    }

    enum CodingKeys: String, CodingKey {
        case version
        case reportID = "report_id"
        case appName = "app_name"
        case host, pid, command, samples, events, metrics
    }

    /// Creates one.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        reportID = try container.decodeIfPresent(String.self, forKey: .reportID)
        appName = try container.decode(String.self, forKey: .appName)
        host = try container.decode(String.self, forKey: .host)
        pid = try container.decode(Int.self, forKey: .pid)
        command = try container.decode(String.self, forKey: .command)
        samples = try container.decode([ProcessSample].self, forKey: .samples)
        events = try container.decode([ProcessEvent].self, forKey: .events)
        metrics = try container.decodeIfPresent([MetricPoint].self, forKey: .metrics) ?? []
    }

    /// Encodes it as the wire format has it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encodeIfPresent(reportID, forKey: .reportID)
        try container.encode(appName, forKey: .appName)
        try container.encode(host, forKey: .host)
        try container.encode(pid, forKey: .pid)
        try container.encode(command, forKey: .command)
        try container.encode(samples, forKey: .samples)
        try container.encode(events, forKey: .events)
        // Left out when empty: a report without them reads as before to a collector that predates them.
        if !metrics.isEmpty { try container.encode(metrics, forKey: .metrics) }
    }

    /// The host readings as a batch of the app, host-wide (process 0), whose id is the report's: a retried report
    /// counts them once. `nil` without readings or id.
    public var hostMetricsBatch: AgentBatch? {
        guard !metrics.isEmpty, let reportID else { return nil }
        return AgentBatch(
            batchID: "host-\(reportID)",
            agent: AgentIdentity(appName: appName, host: host, pid: 0, language: "", agentVersion: ""),
            createdAt: Double(metrics.map(\.timeUnixNano).max() ?? 0) / 1e9,
            apdexT: ApdexThreshold.default.seconds,
            metrics: metrics
        )
    }

    /// Checks names, sizes and values.
    ///
    /// - Parameter now: The current time (Unix seconds).
    /// - Throws: ``WireFormatError`` naming the field.
    public func validate(now: Double) throws {
        func fail(_ field: String, _ message: String) -> WireFormatError {
            WireFormatError(.invalidValue, field: field, message: message)
        }
        func checkTime(_ value: Double, _ field: String) throws {
            // As for batches: at most 7 days old, at most 10 minutes ahead (clock skew).
            guard value.isFinite, value >= now - 7 * 86_400, value <= now + 600 else {
                throw fail(field, "must be a Unix time from 7 days ago to 10 minutes ahead, got \(value)")
            }
        }
        guard version == 1 else {
            throw WireFormatError(.unsupportedVersion, field: "version", message: "version \(version) is not supported")
        }
        if let reportID {
            guard (8...128).contains(reportID.utf8.count),
                reportID.utf8.allSatisfy({
                    $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || ($0 >= 48 && $0 <= 57)
                        || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122)
                })
            else {
                throw fail("report_id", "must be 8 to 128 characters of letters, digits, '-' or '_' (a UUID)")
            }
        }
        guard !appName.isEmpty, appName.utf8.count <= 255 else { throw fail("app_name", "must be 1 to 255 bytes") }
        guard host.utf8.count <= 255 else { throw fail("host", "at most 255 bytes") }
        guard command.utf8.count <= 4096 else { throw fail("command", "at most 4096 bytes") }
        guard (0...Int(Int32.max)).contains(pid) else { throw fail("pid", "must be a process id from 0 to 2147483647") }
        guard samples.count <= 10_000 else { throw fail("samples", "at most 10000 samples") }
        guard events.count <= 1_000 else { throw fail("events", "at most 1000 events") }
        if !metrics.isEmpty {
            guard let reportID, reportID.utf8.count <= 120 else {
                throw fail("report_id", "a report with metrics needs a report_id of at most 120 characters")
            }
            // The batch's checks name the same fields (`metrics[3].value`).
            try hostMetricsBatch?.validate(now: now)
        }
        for (index, sample) in samples.enumerated() {
            let field = "samples[\(index)]"
            try checkTime(sample.timestamp, "\(field).timestamp")
            guard sample.cpuPercent.isFinite, sample.cpuPercent >= 0, sample.cpuPercent <= 100_000 else {
                throw fail("\(field).cpu_percent", "must be a number from 0 to 100000 (percent of one core)")
            }
            guard sample.residentBytes <= 1 << 50 else {
                throw fail("\(field).resident_bytes", "must be a number of bytes from 0 to 2^50")
            }
            guard (0...10_000_000).contains(sample.threads) else {
                throw fail("\(field).threads", "must be a whole number from 0 to 10000000")
            }
            guard (0...100_000_000).contains(sample.openFiles) else {
                throw fail("\(field).open_files", "must be a whole number from 0 to 100000000")
            }
        }
        for (index, event) in events.enumerated() {
            let field = "events[\(index)]"
            try checkTime(event.timestamp, "\(field).timestamp")
            if let code = event.exitCode, !(-1_000_000...1_000_000).contains(code) {
                throw fail("\(field).exit_code", "must be an exit status from -1000000 to 1000000")
            }
            if let signal = event.signal, !(0...255).contains(signal) {
                throw fail("\(field).signal", "must be a signal number from 0 to 255")
            }
            guard event.detail.utf8.count <= 4096 else { throw fail("\(field).detail", "at most 4096 bytes") }
        }
    }
}

/// One measurement of a process's resources.
public struct ProcessSample: Codable, Sendable, Hashable {
    /// When (Unix seconds).
    public var timestamp: Double
    /// CPU used since the previous sample, in percent of one core (200 = two cores busy).
    public var cpuPercent: Double
    /// Resident memory in bytes.
    public var residentBytes: UInt64
    /// Threads.
    public var threads: Int
    /// Open file descriptors.
    public var openFiles: Int

    /// Creates a sample.
    ///
    /// - Parameters:
    ///   - timestamp: When.
    ///   - cpuPercent: CPU percent of one core.
    ///   - residentBytes: RSS.
    ///   - threads: Threads.
    ///   - openFiles: Open files.
    public init(timestamp: Double, cpuPercent: Double, residentBytes: UInt64, threads: Int, openFiles: Int) {
        self.timestamp = timestamp
        self.cpuPercent = cpuPercent
        self.residentBytes = residentBytes
        self.threads = threads
        self.openFiles = openFiles
    }

    enum CodingKeys: String, CodingKey {
        case timestamp
        case cpuPercent = "cpu_percent"
        case residentBytes = "resident_bytes"
        case threads
        case openFiles = "open_files"
    }
}

/// A lifecycle event of a monitored process.
public struct ProcessEvent: Codable, Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Codable, Sendable, Hashable {
        /// The process started.
        case start
        /// It exited by itself with status 0.
        case exit
        /// It ended after a stop signal `apm run-program` forwarded (SIGTERM, SIGINT, ...), whatever its status:
        /// a stop that was asked for.
        case stop
        /// A signal it did not ask for killed it (`signal`: SIGSEGV, SIGABRT, SIGKILL from the OOM killer, ...),
        /// or it exited with a non-zero status on its own (`exitCode`).
        case crash
    }

    /// When (Unix seconds).
    public var timestamp: Double
    /// What happened.
    public var kind: Kind
    /// The exit status, for `exit`.
    public var exitCode: Int?
    /// The signal, for `crash`.
    public var signal: Int?
    /// A human-readable detail, e.g. the command line.
    public var detail: String

    /// Creates an event.
    ///
    /// - Parameters:
    ///   - timestamp: When.
    ///   - kind: What.
    ///   - exitCode: Exit status.
    ///   - signal: Signal.
    ///   - detail: Detail.
    public init(timestamp: Double, kind: Kind, exitCode: Int? = nil, signal: Int? = nil, detail: String = "") {
        self.timestamp = timestamp
        self.kind = kind
        self.exitCode = exitCode
        self.signal = signal
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case timestamp, kind
        case exitCode = "exit_code"
        case signal, detail
    }
}
