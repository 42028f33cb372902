import APMAgent
import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import APMTestSupport
import APMTesting
import Foundation
import GRDB
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real binary and its data directory: a clean stop leaves the whole database in `apm.sqlite` (a copy of it is
/// a backup), a database that lost its identity is never set up afresh, `apm backup` copies a running one, and
/// the files are private to the collector's user.
@Suite(.serialized) struct StorageIdentityTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("apm-identity-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Starts the binary on a data directory; returns it with its port and, on a first start, the license key
    /// (and its API token: ``tokens``).
    static func start(_ dataDirectory: String) async throws -> (APMProcess, Int, String?) {
        let process = try APMProcess(arguments: ["collector", "--data-dir", dataDirectory, "--port", "0"])
        #expect(
            await process.waitForOutput(containing: "apm collector listening on"),
            "\(process.output)"
        )
        let output = process.output
        let port = try #require(process.collectorPort)
        let key = output.split(separator: "\n").first { $0.contains("license key:") }?.split(separator: " ").last.map(
            String.init
        )
        if let key, let token = process.apiToken { TestCollector.remember(token: token, for: key) }
        return (process, port, key)
    }

    static func send(_ batch: AgentBatch, port: Int, key: String) async throws -> Int {
        let request = CollectorRequest(
            url: URL(string: "http://127.0.0.1:\(port)/v1/agent/batches")!,
            headers: ["Content-Type": "application/json", "X-APM-License-Key": key],
            body: try WireCoding.makeEncoder().encode(batch),
            timeout: .seconds(10)
        )
        return try await URLSessionCollectorTransport().send(request).status
    }

    static func count(port: Int, key: String) async throws -> UInt64? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v1/apps?since=1h")!)
        request.setValue("Bearer \(CollectorTestSupport.token(for: key))", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONDecoder().decode(AppsResponse.self, from: data).apps.first?.summary.count
    }

    @Test func aCleanStopLeavesEverythingInTheDatabaseFileAndACopyOfItIsABackup() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = (directory as NSString).appendingPathComponent("data")
        let (first, port, key) = try await Self.start(data)
        let licenseKey = try #require(key)
        let batch = CollectorTestSupport.batch(
            minute: CollectorTestSupport.currentMinute(),
            metrics: [CollectorTestSupport.metric("GET /a", durations: [0.1, 0.2, 0.3])]
        )
        #expect(try await Self.send(batch, port: port, key: licenseKey) == 202)
        first.kill(signal: SIGTERM)
        #expect(first.process.terminationStatus == 0)

        // Private to the collector's user.
        let attributes = try FileManager.default.attributesOfItem(atPath: data)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        let database = (data as NSString).appendingPathComponent("apm.sqlite")
        let fileAttributes = try FileManager.default.attributesOfItem(atPath: database)
        #expect((fileAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // Checkpointed on the way out: the log is empty or gone.
        let wal = (try? FileManager.default.attributesOfItem(atPath: database + "-wal")[.size] as? NSNumber)?.intValue
        #expect((wal ?? 0) == 0)

        // The file alone, in a new directory, is the whole installation: same key, same data, no new account.
        let copy = (directory as NSString).appendingPathComponent("copy")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: database,
            toPath: (copy as NSString).appendingPathComponent("apm.sqlite")
        )
        let (second, secondPort, newKey) = try await Self.start(copy)
        defer { second.kill(signal: SIGTERM) }
        #expect(newKey == nil)
        #expect(try await Self.count(port: secondPort, key: licenseKey) == 3)
    }

    @Test func aDatabaseThatLostItsAccountIsNeverSetUpAfresh() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, port, key) = try await Self.start(directory)
        let batch = CollectorTestSupport.batch(
            minute: CollectorTestSupport.currentMinute(),
            metrics: [CollectorTestSupport.metric("GET /a", durations: [0.1])]
        )
        #expect(try await Self.send(batch, port: port, key: try #require(key)) == 202)
        first.kill(signal: SIGTERM)
        // What a copy without its log or a damaged log looks like: data, but no account.
        let queue = try DatabaseQueue(path: (directory as NSString).appendingPathComponent("apm.sqlite"))
        try await queue.writeWithoutTransaction { db in
            try db.execute(
                sql: "PRAGMA foreign_keys = OFF; DELETE FROM users; DELETE FROM license_keys; DELETE FROM accounts"
            )
        }
        try queue.close()

        let second = try APMProcess(arguments: ["collector", "--data-dir", directory, "--port", "0"])
        await second.waitUntilExit()
        let output = second.output
        #expect(second.process.terminationStatus == 1)
        #expect(output.contains("refusing to start"), "\(output)")
        #expect(output.contains("apm backup"))
        #expect(!output.contains("license key:"))
    }

    @Test func backupCopiesARunningCollectorsDatabase() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = (directory as NSString).appendingPathComponent("data")
        let (running, port, key) = try await Self.start(data)
        defer { running.kill(signal: SIGTERM) }
        let licenseKey = try #require(key)
        let batch = CollectorTestSupport.batch(
            minute: CollectorTestSupport.currentMinute(),
            metrics: [CollectorTestSupport.metric("GET /a", durations: [0.1, 0.2])]
        )
        #expect(try await Self.send(batch, port: port, key: licenseKey) == 202)
        let destination = (directory as NSString).appendingPathComponent("backup.sqlite")
        let backup = try APMProcess(arguments: ["backup", "--data-dir", data, destination])
        await backup.waitUntilExit()
        #expect(backup.process.terminationStatus == 0, "\(backup.output)")
        let attributes = try FileManager.default.attributesOfItem(atPath: destination)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let restored = (directory as NSString).appendingPathComponent("restored")
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        try FileManager.default.moveItem(
            atPath: destination,
            toPath: (restored as NSString).appendingPathComponent("apm.sqlite")
        )
        let (second, secondPort, newKey) = try await Self.start(restored)
        defer { second.kill(signal: SIGTERM) }
        #expect(newKey == nil)
        #expect(try await Self.count(port: secondPort, key: licenseKey) == 2)
    }

    /// A second collector on a busy port exits with a message and creates no credentials.
    @Test func aBusyPortIsAClearErrorWithoutFirstStartCredentials() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (running, port, _) = try await Self.start((directory as NSString).appendingPathComponent("one"))
        defer { running.kill(signal: SIGTERM) }
        let second = try APMProcess(
            arguments: [
                "collector", "--data-dir", (directory as NSString).appendingPathComponent("two"), "--port", "\(port)",
            ]
        )
        await second.waitUntilExit()
        let output = second.output
        #expect(second.process.terminationStatus == 1)
        #expect(output.contains("in use"), "\(output)")
        #expect(!output.contains("license key:"))
    }
}
