import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `apm logs` against a real collector: the lines, oldest to newest, filtered by level and words; and --follow,
/// which prints a line committed after it started, then stops on Ctrl-C.
@Suite struct LogsCommandTests {
    static func commit(_ messages: [(LogLevel, String)], to collector: Collector, offset: Int64 = 0) async throws {
        let account = try #require(try await collector.store.accounts().first)
        var batch = UsageTests.batch(app: "shop")
        let base = Int64(batch.createdAt) * 1_000_000_000 - 10_000_000_000 + offset * 1_000_000
        batch.logs = messages.enumerated().map { index, line in
            LogRecord(
                timeUnixNano: base + Int64(index) * 1_000_000,
                level: line.0,
                message: line.1,
                traceID: index == 0 ? "4bf92f3577b34da6a3ce929d0e0e4736" : nil,
                transaction: index == 0 ? "GET /cart" : nil
            )
        }
        _ = try await collector.store.commit(
            [.init(accountID: account.id, batch: batch, receivedAt: batch.createdAt)],
            limits: .init()
        )
    }

    @Test func linesAreShownOldestFirstAndFilteredByLevelAndWords() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]
            try await Self.commit(
                [(.info, "cart opened"), (.warn, "payment slow"), (.error, "payment declined"), (.debug, "tick")],
                to: collector
            )
            func apm(_ arguments: [String]) async throws -> CLI.Result {
                try await CLI.run(["logs", "--app", "shop"] + arguments, in: directory, environment: environment)
            }
            let all = try await apm([])
            #expect(all.status == 0, "\(all.stderr)")
            let lines = all.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 4)
            #expect(lines[0].contains("INFO  test: cart opened  [GET /cart]  trace=4bf92f3577b34da6a3ce929d0e0e4736"))
            #expect(lines[3].hasSuffix("DEBUG test: tick"))
            let warnings = try await apm(["--level", "warn"])
            #expect(
                warnings.stdout.split(separator: "\n").map { String($0.split(separator: ": ").last ?? "") } == [
                    "payment slow", "payment declined",
                ]
            )
            let grep = try await apm(["--grep", "PAYMENT declined"])
            #expect(grep.stdout.split(separator: "\n").count == 1)
            #expect(grep.stdout.contains("ERROR test: payment declined"))
            let none = try await apm(["--grep", "refund"])
            #expect(none.stdout.contains("No log lines of shop in the last 1h that match."))
            let bad = try await apm(["--level", "loud"])
            #expect(bad.status == 64 || bad.status == 2)
            #expect(bad.stderr.contains("--level loud: use trace, debug, info, warn, error or fatal"))
            let unknown = try await CLI.run(["logs", "--app", "nope"], in: directory, environment: environment)
            #expect(unknown.status == 1)
        }
    }

    @Test func followPrintsLinesAsTheyArriveUntilCtrlC() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            try await Self.commit([(.info, "before follow")], to: collector)
            let output = (directory as NSString).appendingPathComponent("out.txt")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["logs", "--app", "shop", "--follow", "--interval", "0.2"]
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("APM_") }
                .merging(["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]) {
                    $1
                }
            process.standardOutput = FileHandle(forWritingAtPath: output)
            process.standardError = FileHandle.nullDevice
            try process.run()
            func printed() -> String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
            func waitFor(_ text: String) async -> Bool {
                for _ in 0..<600 where process.isRunning {
                    if printed().contains(text) { return true }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return printed().contains(text)
            }
            #expect(await waitFor("before follow"))
            try await Self.commit([(.error, "after follow started")], to: collector, offset: 1)
            #expect(await waitFor("after follow started"))
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
            // Each line once.
            #expect(printed().components(separatedBy: "before follow").count == 2)
            #expect(printed().components(separatedBy: "after follow started").count == 2)
        }
    }
}
