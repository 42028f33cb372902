import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The hosts an account's apps run on: each with its latest CPU, memory and load from the app that sends its
/// `system.*` figures, and every app whose series come from it with that app's Apdex; a host's page has its
/// charts. Known answers on both backends.
@Suite struct HostsTests {
    typealias Support = CollectorTestSupport

    static let hour: Int64 = 1_796_313_600

    /// A host's readings at `seconds` past the hour: CPU `busy` (the rest idle), memory used of 8 GiB, load.
    static func hostReadings(at seconds: Int64, busy: Double, memoryUsed: Double, load: Double) -> [MetricPoint] {
        let time = (hour + seconds) * 1_000_000_000
        func gauge(_ name: String, _ value: Double, _ attributes: [String: String] = [:]) -> MetricPoint {
            MetricPoint(name: name, unit: "1", kind: .gauge, attributes: attributes, timeUnixNano: time, value: value)
        }
        return [
            gauge("system.cpu.utilization", busy * 0.75, ["state": "user"]),
            gauge("system.cpu.utilization", busy * 0.25, ["state": "system"]),
            gauge("system.cpu.utilization", 1 - busy, ["state": "idle"]),
            gauge("system.memory.utilization", memoryUsed / 8, ["state": "used"]),
            gauge("system.cpu.load_average.1m", load),
            MetricPoint(
                name: "system.network.io",
                unit: "By",
                kind: .counter,
                attributes: ["device": "eth0", "direction": "receive"],
                timeUnixNano: time,
                value: 6_000
            ),
        ]
    }

    static func batch(
        app: String,
        host: String,
        pid: Int,
        metrics: [MetricPoint],
        transactions: [TransactionMetric] = []
    )
        -> AgentBatch
    {
        AgentBatch(
            batchID: UUID().uuidString,
            agent: AgentIdentity(appName: app, host: host, pid: pid, agentVersion: "test"),
            createdAt: Double(hour + 7000),
            apdexT: 0.5,
            intervals: transactions.isEmpty ? [] : [MetricInterval(start: hour + 60, transactions: transactions)],
            metrics: metrics
        )
    }

    @Test(arguments: StoreBackend.available)
    func hostsHaveTheirLatestFiguresTheirAppsApdexAndTheirCharts(backend: StoreBackend) async throws {
        let clock = Locked(Double(Self.hour + 7200))
        try await Support.withCollector(backend: backend, now: clock.reader) { _, client, key in
            // shop (run-program on web-1): the host's figures, two readings a minute apart, and Apdex 2 of 3.
            let shop = Self.batch(
                app: "shop",
                host: "web-1",
                pid: 0,
                metrics: Self.hostReadings(at: 10, busy: 0.5, memoryUsed: 2, load: 1)
                    + Self.hostReadings(at: 70, busy: 0.25, memoryUsed: 4, load: 1.5),
                transactions: [Support.metric("GET /", durations: [0.1, 0.2, 3.0])]
            )
            // py-shop's runtime metric from web-1 too, and cron on db-1 with its host's figures.
            let python = Self.batch(
                app: "py-shop",
                host: "web-1",
                pid: 4242,
                metrics: [
                    MetricPoint(
                        name: "process.runtime.cpython.gc_count",
                        kind: .gauge,
                        timeUnixNano: (Self.hour + 70) * 1_000_000_000,
                        value: 3
                    )
                ]
            )
            let cron = Self.batch(
                app: "cron",
                host: "db-1",
                pid: 0,
                metrics: Self.hostReadings(at: 70, busy: 0.9, memoryUsed: 7, load: 4)
            )
            for batch in [shop, python, cron] {
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            let range = "from=\(Self.hour)&to=\(Self.hour + 7200)"
            let list = try await Support.get(APIHostList.self, "/api/v1/hosts?\(range)", key: key, client: client)
            #expect(list.hosts.map(\.name) == ["db-1", "web-1"])
            let web = try #require(list.hosts.last)
            #expect(web.cpuUtilization == 0.25)
            #expect(web.memoryUtilization == 0.5)
            #expect(web.load1m == 1.5)
            #expect(web.cpu.map(\.time) == [Self.hour, Self.hour + 60])
            #expect(web.cpu.map(\.avg) == [0.5, 0.25])
            #expect(web.apps.map(\.name) == ["shop", "py-shop"])
            #expect(web.apps.first?.apdex == 2.0 / 3)
            #expect(web.apps.last?.apdex == nil)
            let db = try #require(list.hosts.first)
            #expect(db.cpuUtilization == 0.9 && db.memoryUtilization == 7.0 / 8 && db.load1m == 4)
            #expect(db.apps.map(\.name) == ["cron"])

            let detail = try await Support.get(
                APIHostDetail.self,
                "/api/v1/hosts/web-1?\(range)",
                key: key,
                client: client
            )
            #expect(detail.host.name == "web-1")
            #expect(
                detail.charts.map(\.title) == [
                    "CPU utilisation by state", "Load average (1 minute)", "Network traffic by direction",
                ]
            )
            let network = try #require(detail.charts.last?.metric.groups.first)
            #expect(network.label == "receive")
            #expect(network.points.map(\.rate) == [100, 100])

            let missing = try await client.execute(
                uri: "/api/v1/hosts/nowhere?since=1h",
                method: .get,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) { $0.status }
            #expect(missing == .notFound)
        }
    }
}
