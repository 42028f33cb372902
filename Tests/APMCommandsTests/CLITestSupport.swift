import APMAgent
import APMCollector
import APMCollectorTestSupport
import APMCore
import APMSQLite
import APMStorage
import APMTestSupport
import APMTesting
import Foundation
import Testing

/// Runs the built `apm` binary.
enum CLI {
    static var binary: String { BuiltExecutable.path("apm") ?? "apm" }

    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `apm` on a thread of its own, so that waiting for it never blocks the tasks of an in-process collector.
    static func run(
        _ arguments: [String],
        in directory: String,
        environment: [String: String] = [:],
        onStart: (@Sendable (Process) -> Void)? = nil
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result<CLI.Result, any Error> {
                        try runBlocking(arguments, in: directory, environment: environment, onStart: onStart)
                    }
                )
            }
        }
    }

    /// Runs another program (the `swift` toolchain, ...) on a thread of its own.
    static func runTool(_ executable: String, _ arguments: [String], in directory: String) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result<CLI.Result, any Error> {
                        try runBlocking(arguments, in: directory, executable: executable)
                    }
                )
            }
        }
    }

    /// Runs `apm` (or `executable`) with arguments in a directory and waits for it.
    static func runBlocking(
        _ arguments: [String],
        in directory: String,
        environment: [String: String] = [:],
        executable: String? = nil,
        onStart: (@Sendable (Process) -> Void)? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var base = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("APM_") && !$0.key.hasPrefix("OTEL_")
        }
        base["NO_COLOR"] = "1"
        process.environment = base.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        onStart?(process)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("apm-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs an in-process collector (``TestCollector``, in-memory SQLite) for `apm` commands to talk to.
    static func withCollector<T: Sendable>(
        _ configuration: CollectorConfiguration = TestCollector.configuration(),
        _ body: @Sendable (Collector, Int, String) async throws -> T
    ) async throws -> T {
        try await TestCollector.run(configuration, on: try SQLiteStore()) { collector, _, key, port in
            try await body(collector, port, key)
        }
    }

    /// The API token that goes with a test collector's license key.
    static func token(for key: String) -> String { TestCollector.token(for: key) }

    /// Writes an agent.ini for a collector.
    static func writeConfig(in directory: String, key: String, port: Int, app: String = "cli-app") throws -> String {
        let path = (directory as NSString).appendingPathComponent("agent.ini")
        let text = AgentConfigurationTemplate.text(licenseKey: key)
            .replacingOccurrences(
                of: "collector_url = http://127.0.0.1:7070",
                with: "collector_url = http://127.0.0.1:\(port)"
            )
            .replacingOccurrences(of: "\napp_name = My Application\n", with: "\napp_name = \(app)\n")
            .replacingOccurrences(of: "\napp_name = My Application (staging)\n", with: "\napp_name = \(app)\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
