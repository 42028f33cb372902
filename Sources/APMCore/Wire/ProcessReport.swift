/// Process metrics and lifecycle events of an app's process, sent by `apm run-program` to
/// `POST /v1/agent/process` (same headers as batches).
public struct ProcessReport: Codable, Sendable, Hashable {
    /// The protocol version, 1.
    public var version: Int
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

    /// Creates a report.
    ///
    /// - Parameters:
    ///   - appName: The app.
    ///   - host: The host.
    ///   - pid: The process id.
    ///   - command: The command.
    ///   - samples: Samples.
    ///   - events: Events.
    public init(
        appName: String,
        host: String,
        pid: Int,
        command: String,
        samples: [ProcessSample],
        events: [ProcessEvent]
    ) {
        self.version = 1
        self.appName = appName
        self.host = host
        self.pid = pid
        self.command = command
        self.samples = samples
        self.events = events
    }

    enum CodingKeys: String, CodingKey {
        case version
        case appName = "app_name"
        case host, pid, command, samples, events
    }

    /// Checks names, sizes and values.
    ///
    /// - Parameter now: The current time (Unix seconds).
    /// - Throws: ``WireFormatError`` naming the field.
    public func validate(now: Double) throws {
        func fail(_ field: String, _ message: String) -> WireFormatError {
            WireFormatError(.invalidValue, field: field, message: message)
        }
        guard version == 1 else {
            throw WireFormatError(.unsupportedVersion, field: "version", message: "version \(version) is not supported")
        }
        guard !appName.isEmpty, appName.utf8.count <= 255 else { throw fail("app_name", "must be 1 to 255 bytes") }
        guard host.utf8.count <= 255, command.utf8.count <= 4096 else {
            throw fail("command", "host or command too long")
        }
        guard samples.count <= 10_000, events.count <= 1_000 else {
            throw fail("samples", "at most 10000 samples and 1000 events")
        }
        for (index, sample) in samples.enumerated() {
            guard sample.timestamp.isFinite, abs(sample.timestamp - now) < 7 * 86_400 else {
                throw fail("samples[\(index)].timestamp", "must be within 7 days of now")
            }
            guard sample.cpuPercent.isFinite, sample.cpuPercent >= 0, sample.cpuPercent <= 100_000 else {
                throw fail("samples[\(index)].cpu_percent", "must be a non-negative number")
            }
        }
        for (index, event) in events.enumerated() {
            guard event.timestamp.isFinite, abs(event.timestamp - now) < 7 * 86_400 else {
                throw fail("events[\(index)].timestamp", "must be within 7 days of now")
            }
            guard event.detail.utf8.count <= 4096 else { throw fail("events[\(index)].detail", "at most 4096 bytes") }
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
        /// It exited by itself, with `exitCode`.
        case exit
        /// A signal killed it (`signal`).
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
