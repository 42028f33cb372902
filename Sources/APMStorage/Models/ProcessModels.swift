/// Process resources of an app in one bucket (all its processes summed for CPU, maxima otherwise).
public struct ProcessSlice: Sendable, Hashable {
    /// Bucket start (Unix seconds).
    public var bucket: Int64
    /// Average CPU in percent of one core, summed over processes.
    public var cpuPercent: Double
    /// Highest CPU sample.
    public var cpuPercentMax: Double
    /// Average resident memory in bytes, summed over processes.
    public var residentBytes: Double
    /// Highest resident memory of one process.
    public var residentBytesMax: UInt64
    /// Most threads of one process.
    public var threadsMax: Int
    /// Most open files of one process.
    public var openFilesMax: Int
    /// Processes seen.
    public var processes: Int

    /// Creates a slice.
    ///
    /// - Parameters:
    ///   - bucket: Bucket start.
    ///   - cpuPercent: Average CPU.
    ///   - cpuPercentMax: Highest CPU.
    ///   - residentBytes: Average RSS.
    ///   - residentBytesMax: Highest RSS.
    ///   - threadsMax: Most threads.
    ///   - openFilesMax: Most open files.
    ///   - processes: Processes seen.
    public init(
        bucket: Int64,
        cpuPercent: Double,
        cpuPercentMax: Double,
        residentBytes: Double,
        residentBytesMax: UInt64,
        threadsMax: Int,
        openFilesMax: Int,
        processes: Int
    ) {
        self.bucket = bucket
        self.cpuPercent = cpuPercent
        self.cpuPercentMax = cpuPercentMax
        self.residentBytes = residentBytes
        self.residentBytesMax = residentBytesMax
        self.threadsMax = threadsMax
        self.openFilesMax = openFilesMax
        self.processes = processes
    }
}

/// A stored process event.
public struct StoredProcessEvent: Sendable, Hashable {
    /// When (Unix seconds).
    public var at: Double
    /// The host.
    public var host: String
    /// The process id.
    public var pid: Int
    /// `start`, `exit` or `crash`.
    public var kind: String
    /// Exit status for `exit`.
    public var exitCode: Int?
    /// Signal for `crash`.
    public var signal: Int?
    /// Detail.
    public var detail: String

    /// Creates an event.
    ///
    /// - Parameters:
    ///   - at: When.
    ///   - host: Host.
    ///   - pid: Process id.
    ///   - kind: Kind.
    ///   - exitCode: Exit status.
    ///   - signal: Signal.
    ///   - detail: Detail.
    public init(at: Double, host: String, pid: Int, kind: String, exitCode: Int?, signal: Int?, detail: String) {
        self.at = at
        self.host = host
        self.pid = pid
        self.kind = kind
        self.exitCode = exitCode
        self.signal = signal
        self.detail = detail
    }
}
