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

/// The Hosts page (each host's CPU, memory, load and apps with their Apdex), a host's page (its charts) and an
/// app's Metrics page (any metric, grouped by an attribute): the figures of ``HostsTests``' workload, names from
/// apps escaped.
@Suite struct DashboardHostsTests {
    typealias Support = CollectorTestSupport

    @Test func theHostsPagesAndTheMetricsPageShowTheKnownFigures() async throws {
        let clock = Locked(Double(HostsTests.hour + 7200))
        try await Support.withCollector(now: clock.reader) { collector, client, key in
            let shop = HostsTests.batch(
                app: "shop",
                host: "web-1",
                pid: 0,
                metrics: HostsTests.hostReadings(at: 10, busy: 0.5, memoryUsed: 2, load: 1)
                    + HostsTests.hostReadings(at: 70, busy: 0.25, memoryUsed: 4, load: 1.5),
                transactions: [Support.metric("GET /", durations: [0.1, 0.2, 3.0])]
            )
            let hostile = HostsTests.batch(
                app: "cron",
                host: "<b>evil</b>",
                pid: 0,
                metrics: HostsTests.hostReadings(at: 70, busy: 0.9, memoryUsed: 7, load: 4).map { point in
                    var point = point
                    point.attributes["state"] = point.attributes["state"].map { "\($0)<script>" }
                    return point
                }
            )
            for batch in [shop, hostile] {
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            func page(_ uri: String, status: HTTPResponse.Status = .ok) async throws -> String {
                try await client.execute(uri: uri, method: .get, headers: [.cookie: session]) { response in
                    #expect(response.status == status, "\(uri)")
                    return String(buffer: response.body)
                }
            }
            let hosts = try await page("/hosts?range=6h")
            #expect(HTMLStructure.problems(in: hosts).isEmpty)
            let web = try #require(hosts.range(of: "data-host=\"web-1\"")).lowerBound
            let row = String(hosts[web...].prefix(while: { $0 != "\n" }).prefix(4000))
            // Six hours are drawn in 5-minute buckets: both minutes are in the last one (CPU 50 % and 25 %, memory
            // 2 and 4 GiB of 8, load 1 and 1.5).
            #expect(row.contains("data-figure=\"cpu\">37.5 %"), "\(row)")
            #expect(row.contains("data-figure=\"memory\">37.5 %"))
            #expect(row.contains("data-figure=\"load\">1.25"))
            #expect(row.contains("href=\"/apps/1?range=6h\">shop</a>"))
            #expect(hosts.contains("data-host=\"&lt;b&gt;evil&lt;/b&gt;\""))
            #expect(!hosts.contains("<b>evil</b>"))

            let host = try await page("/hosts/web-1?range=6h")
            #expect(HTMLStructure.problems(in: host).isEmpty)
            #expect(host.contains("CPU utilisation by state (mean, %)"))
            #expect(host.contains("Network traffic by direction (KiB per second)"))
            #expect(host.contains(">shop</a>: Apdex 0.67"), "\(host)")

            let evil = try await page("/hosts/%3Cb%3Eevil%3C%2Fb%3E?range=6h")
            #expect(HTMLStructure.problems(in: evil).isEmpty)
            #expect(!evil.contains("<script>") && evil.contains("idle&lt;script&gt;"))

            let metrics = try await page("/apps/1/metrics?range=6h&name=system.cpu.utilization&group_by=state")
            #expect(HTMLStructure.problems(in: metrics).isEmpty)
            #expect(metrics.contains("system.cpu.utilization (mean, %)"))
            for state in ["idle", "system", "user"] { #expect(metrics.contains("</span> \(state)"), "\(state)") }
            #expect(metrics.contains("data-metric=\"system.network.io\""))
            _ = try await page("/hosts/nowhere?range=6h", status: .notFound)
        }
    }
}
