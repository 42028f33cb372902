import APMStorage
import Foundation

/// An app's process resources and events over a range (`GET /api/v1/apps/{id}/process`).
public struct ProcessMetricsResponse: Codable, Sendable {
    /// Resources per minute.
    public var samples: [APIProcessSample]
    /// Start, exit and crash events.
    public var events: [APIProcessEvent]

    /// Creates a response.
    ///
    /// - Parameters:
    ///   - samples: Samples.
    ///   - events: Events.
    public init(samples: [APIProcessSample], events: [APIProcessEvent]) {
        self.samples = samples
        self.events = events
    }
}

/// The resources of an app's processes in one minute (or hour), summed or at their peak over its processes.
public struct APIProcessSample: Codable, Sendable, Hashable {
    /// The bucket's start (Unix seconds).
    public var bucket: Int64
    /// CPU, percent of one core, summed over the processes (averaged over the bucket).
    public var cpuPercent: Double
    /// The highest CPU percentage reported in the bucket.
    public var cpuPercentMax: Double
    /// Resident memory in bytes, summed over the processes (averaged over the bucket).
    public var residentBytes: Double
    /// The highest resident memory reported.
    public var residentBytesMax: UInt64
    /// The most threads reported.
    public var threadsMax: Int
    /// The most open files reported.
    public var openFilesMax: Int
    /// Processes that reported.
    public var processes: Int

    init(_ slice: ProcessSlice) {
        bucket = slice.bucket
        cpuPercent = slice.cpuPercent
        cpuPercentMax = slice.cpuPercentMax
        residentBytes = slice.residentBytes
        residentBytesMax = slice.residentBytesMax
        threadsMax = slice.threadsMax
        openFilesMax = slice.openFilesMax
        processes = slice.processes
    }

    enum CodingKeys: String, CodingKey {
        case bucket
        case cpuPercent = "cpu_percent"
        case cpuPercentMax = "cpu_percent_max"
        case residentBytes = "resident_bytes"
        case residentBytesMax = "resident_bytes_max"
        case threadsMax = "threads_max"
        case openFilesMax = "open_files_max"
        case processes
    }
}

/// A process start, exit or crash.
public struct APIProcessEvent: Codable, Sendable, Hashable {
    /// When (Unix seconds).
    public var at: Double
    /// The host.
    public var host: String
    /// The process id.
    public var pid: Int
    /// `start`, `exit` or `crash`.
    public var kind: String
    /// The exit code, for an exit.
    public var exitCode: Int?
    /// The signal, for a crash.
    public var signal: Int?
    /// What the agent said about it.
    public var detail: String

    init(_ event: StoredProcessEvent) {
        at = event.at
        host = event.host
        pid = event.pid
        kind = event.kind
        exitCode = event.exitCode
        signal = event.signal
        detail = event.detail
    }

    enum CodingKeys: String, CodingKey {
        case at, host, pid, kind
        case exitCode = "exit_code"
        case signal, detail
    }
}
