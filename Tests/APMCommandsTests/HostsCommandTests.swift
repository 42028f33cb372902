import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import Foundation
import Testing

/// `apm hosts` against a real collector: the list with each host's CPU, memory, load and apps, one host's latest
/// figures per chart, and exit 1 for a host nobody reports.
@Suite struct HostsCommandTests {
    @Test func hostsAreListedAndOneIsShown() async throws {
        try await CLI.withCollector { collector, port, key in
            let account = try #require(try await collector.store.accounts().first)
            var batch = UsageTests.batch(app: "shop")
            batch.agent.host = "web-1"
            batch.agent.pid = 0
            let time = Int64(batch.createdAt - 5) * 1_000_000_000
            func gauge(_ name: String, _ unit: String, _ value: Double, _ state: String? = nil) -> MetricPoint {
                MetricPoint(
                    name: name,
                    unit: unit,
                    kind: .gauge,
                    attributes: state.map { ["state": $0] } ?? [:],
                    timeUnixNano: time,
                    value: value
                )
            }
            batch.metrics = [
                gauge("system.cpu.utilization", "1", 0.3, "user"), gauge("system.cpu.utilization", "1", 0.7, "idle"),
                gauge("system.memory.utilization", "1", 0.25, "used"),
                gauge("system.cpu.load_average.1m", "{thread}", 0.5),
                gauge("system.memory.usage", "By", 2 * 1_048_576, "used"),
            ]
            _ = try await collector.store.commit(
                [.init(accountID: account.id, batch: batch, receivedAt: batch.createdAt)],
                limits: .init()
            )
            let directory = try CLI.temporaryDirectory()
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]
            let list = try await CLI.run(["hosts"], in: directory, environment: environment)
            #expect(list.status == 0, "\(list.stderr)")
            let row = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix("web-1") })
            #expect(row.contains("30.0%") && row.contains("25.0%") && row.contains("0.50"), "\(row)")
            #expect(row.contains("shop (1.00)"), "\(row)")
            let one = try await CLI.run(["hosts", "web-1", "--since", "6h"], in: directory, environment: environment)
            #expect(one.status == 0, "\(one.stderr)")
            #expect(one.stdout.contains("app shop: apdex 1.00"))
            #expect(one.stdout.contains("CPU utilisation by state") && one.stdout.contains("30.0%"), "\(one.stdout)")
            #expect(one.stdout.contains("2.0 MiB"), "\(one.stdout)")
            let missing = try await CLI.run(["hosts", "nowhere"], in: directory, environment: environment)
            #expect(missing.status == 1)
            #expect(
                missing.stderr.contains("no app of this account reports metrics from host nowhere"),
                "\(missing.stderr)"
            )
            let bad = try await CLI.run(["hosts", "--since", "forever"], in: directory, environment: environment)
            #expect(bad.status == 2)
        }
    }
}
