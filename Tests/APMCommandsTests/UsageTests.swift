import APMAgent
import APMCollector
import APMCore
import APMSQLite
import APMStorage
import APMTestSupport
import ArgumentParser
import Foundation
import Testing

@testable import APMCommands

/// What a user types and what they get back: exit codes as docs/cli.md gives them, `--version`, negative values,
/// and the deployments list.
@Suite struct UsageTests {
    /// Before: ArgumentParser's 64 for every usage error, while docs/cli.md says 2.
    @Test(arguments: [
        ["bogus"], ["apps", "set-apdex", "X", "0"], ["report", "--since", "3x"], ["deployments", "list"],
    ])
    func usageErrorsExit2(arguments: [String]) async throws {
        let directory = try CLI.temporaryDirectory()
        let result = try await CLI.run(arguments, in: directory)
        #expect(result.status == 2, "\(arguments): \(result.status) \(result.stderr)")
        #expect(!result.stderr.isEmpty)
    }

    /// Before: 30 s of waiting, then "did not answer".
    @Test(.timeLimit(.minutes(1))) func migrateStorageToAClosedPortFailsAtOnce() async throws {
        let directory = try CLI.temporaryDirectory()
        let database = "\(directory)/apm.sqlite"
        try await SQLiteStore(path: database).close()
        let started = ContinuousClock.now
        let port = LoopbackPort.free()
        let result = try await CLI.run(
            ["migrate-storage", "--from", database, "--to", "postgres://apm@127.0.0.1:\(port)/apm?sslmode=disable"],
            in: directory
        )
        #expect(result.status == 1)
        #expect(result.stderr.contains("nothing listens at 127.0.0.1:\(port) (connection refused)"), "\(result.stderr)")
        // No retries until a deadline: an answer in well under the 30 s it took.
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test func versionIsTheAgentsVersion() async throws {
        let result = try await CLI.run(["--version"], in: try CLI.temporaryDirectory())
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == APMAgent.version)
    }

    /// docs/demo.md writes `--slowdown-at -1` (never slow down); before, it failed with "Missing value".
    @Test func aNegativeValueParsesAsWritten() throws {
        let demo = try DemoCommand.parse(["--slowdown-at", "-1"])
        #expect(demo.slowdownAt == -1)
    }

    /// A batch of one request, so that the app exists.
    static func batch(app: String) -> AgentBatch {
        let now = Date().timeIntervalSince1970
        let minute = Int64(now) - Int64(now) % 60
        var histogram = LatencyHistogram()
        histogram.record(seconds: 0.1)
        let metric = TransactionMetric(
            name: "GET /",
            kind: .web,
            count: 1,
            errorCount: 0,
            apdexT: 0.5,
            satisfied: 1,
            tolerating: 0,
            frustrated: 0,
            totalDuration: 0.1,
            minDuration: 0.1,
            maxDuration: 0.1,
            sumOfSquares: 0.01,
            breakdown: TimeBreakdown(database: 0, external: 0, application: 0.1),
            histogram: histogram,
            errorHistogram: LatencyHistogram()
        )
        return AgentBatch(
            batchID: UUID().uuidString,
            agent: AgentIdentity(appName: app, host: "test", pid: 1, agentVersion: "test"),
            createdAt: now,
            apdexT: 0.5,
            intervals: [MetricInterval(start: minute, transactions: [metric], segments: [])]
        )
    }

    @Test func deploymentsAreListedNewestFirst() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            _ = try CLI.writeConfig(in: directory, key: key, port: port, app: "shop")
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]
            let account = try #require(try await collector.store.accounts().first)
            _ = try await collector.store.commit(
                [
                    .init(
                        accountID: account.id,
                        batch: Self.batch(app: "shop"),
                        receivedAt: Date().timeIntervalSince1970
                    )
                ],
                limits: .init()
            )
            for revision in ["v1", "v2"] {
                let recorded = try await CLI.run(
                    ["deployments", "record", "shop", "--revision", revision],
                    in: directory,
                    environment: environment
                )
                #expect(recorded.status == 0, "\(recorded.stderr)")
                try await Task.sleep(for: .milliseconds(1100))
            }
            let list = try await CLI.run(["deployments", "list", "shop"], in: directory, environment: environment)
            #expect(list.status == 0, "\(list.stderr)")
            let v2 = try #require(list.stdout.range(of: "v2"))
            let v1 = try #require(list.stdout.range(of: "v1"))
            #expect(v2.lowerBound < v1.lowerBound, "\(list.stdout)")
        }
    }
}
