public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real `apm` process started by a test, with its output captured. Servers in it listen on port 0 and the test
/// reads the port they announce (``announcedPort(after:)``), so no port is picked, released and raced for.
public final class APMProcess: Sendable {
    /// The process (configured before it is shared, then only read).
    public let process: Process
    private let captured = Mutex("")
    /// Whether the output pipe reached its end (every writer closed it): all output is then captured.
    private let outputEnded = Atomic(false)

    /// Runs the built `apm` binary.
    ///
    /// - Parameters:
    ///   - arguments: Its arguments.
    ///   - directory: Its working directory; the test's by default.
    ///   - shell: When set, runs `/bin/sh -c shell apm arguments...` (for `ulimit`).
    /// - Throws: When the binary is missing or cannot start.
    public init(arguments: [String], in directory: String? = nil, shell: String? = nil) throws {
        guard let binary = BuiltExecutable.path("apm") else {
            throw CocoaError(
                .fileNoSuchFile,
                userInfo: [NSLocalizedDescriptionKey: "apm was not built next to the tests"]
            )
        }
        let process = Process()
        if let shell {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", shell, binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        // The test's own APM_* and OTEL_* settings must not leak into the processes it starts.
        process.environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("APM_") && !$0.key.hasPrefix("OTEL_")
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        self.process = process
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                self?.outputEnded.store(true, ordering: .releasing)
            } else {
                self?.captured.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
        try process.run()
    }

    /// Waits for the process to exit and for its output to be read to the end (the pipe's reader may still be
    /// behind the exit: reading `output` right after `process.waitUntilExit()` can miss the last lines), at most
    /// `seconds` for the output.
    ///
    /// It polls instead of blocking: a blocked thread of the test process's two cooperative threads (on a 2-core
    /// machine) stalls every other test of the run, whose timings then count the stall (an outage test measured
    /// 5 s answers from a collector that answered within 2 s).
    ///
    /// - Parameter seconds: How long at most to wait for the output after the exit.
    public func waitUntilExit(seconds: Double = 10) async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while !outputEnded.load(ordering: .acquiring) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Everything printed so far (standard output and error).
    public var output: String { captured.withLock { $0 } }

    /// Waits until the output contains `text`.
    ///
    /// - Parameters:
    ///   - text: What to wait for.
    ///   - seconds: How long at most.
    /// - Returns: Whether it appeared.
    public func waitForOutput(containing text: String, seconds: Double = 60) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return output.contains(text)
    }

    /// The port of the first `<announcement>http://host:port` in the output, as servers print once they listen
    /// (`apm collector listening on `, `example service listening on `).
    ///
    /// - Parameter announcement: The text before the URL.
    /// - Returns: The port, or `nil` before the line was printed.
    public func announcedPort(after announcement: String) -> Int? {
        let text = output
        guard let range = text.range(of: announcement + "http://") else { return nil }
        let rest = text[range.upperBound...]
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        return Int(rest[rest.index(after: colon)...].prefix { $0.isNumber })
    }

    /// Waits for the announcement and returns its port.
    ///
    /// - Parameters:
    ///   - announcement: The text before the URL.
    ///   - seconds: How long at most.
    /// - Returns: The port, or `nil` when it was not announced in time.
    public func waitForPort(after announcement: String, seconds: Double = 60) async -> Int? {
        guard await waitForOutput(containing: announcement + "http://", seconds: seconds) else { return nil }
        // The line may still be arriving: its digits end at the end of the line.
        for _ in 0..<100 {
            if output.range(of: announcement + "http://").map({ output[$0.upperBound...].contains("\n") }) == true {
                break
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return announcedPort(after: announcement)
    }

    /// The port from `apm collector listening on http://host:port`.
    public var collectorPort: Int? { announcedPort(after: Self.collectorAnnouncement) }

    /// What a collector prints before its URL once it listens.
    public static let collectorAnnouncement = "apm collector listening on "

    /// The API token printed on a collector's first start.
    public var apiToken: String? {
        output.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("apt_") }.map(String.init)
    }

    /// The license key printed on a collector's first start.
    public var licenseKey: String? {
        output.split(separator: "\n").first { $0.contains("license key:") }?.split(separator: " ").last.map(String.init)
    }

    /// Sends `signal` and waits for the process to exit.
    ///
    /// - Parameter signal: The signal.
    public func kill(signal: Int32) {
        if process.isRunning { _ = Foundation.kill(process.processIdentifier, signal) }
        process.waitUntilExit()
    }

    /// Stops the process with SIGTERM and returns its exit status.
    ///
    /// - Returns: The exit status.
    public func stop() async -> Int32 {
        if process.isRunning { _ = Foundation.kill(process.processIdentifier, SIGTERM) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }
}
