import APMCollector
import APMCollectorTestSupport
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// `/apps/{id}/deployments` lists the range's deployments, newest first, with the app's figures before and after
/// each. Before: a 404 with an empty body.
@Suite struct DashboardDeploymentsTests {
    typealias Support = CollectorTestSupport

    @Test func theDeploymentsPageComparesTheHalfHourBeforeAndAfter() async throws {
        let current = Support.currentMinute()
        let standingStill: @Sendable () -> Double = { Double(current) + 30 }
        try await Support.withCollector(now: standingStill) { collector, client, key in
            // Before v2: 4 requests, all satisfied; after: 2 requests, one frustrated and failed.
            let before = Support.batch(
                minute: current - 20 * 60,
                metrics: [Support.metric("GET /a", durations: [0.1, 0.1, 0.2, 0.2])]
            )
            let after = Support.batch(
                minute: current - 5 * 60,
                metrics: [Support.metric("GET /a", durations: [0.1, 3.0], errors: [1])]
            )
            for batch in [before, after] {
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            for (revision, at) in [("v1", current - 50 * 60), ("v2 <b>", current - 10 * 60)] {
                try await client.execute(
                    uri: "/api/v1/apps/1/deployments",
                    method: .post,
                    headers: [
                        .authorization: "Bearer \(Support.token(for: key))", .contentType: "application/json",
                    ],
                    body: ByteBuffer(
                        string:
                            #"{"revision": \#(String(reflecting: revision)), "at": \#(at), "description": "faster search"}"#
                    )
                ) { #expect($0.status == .created || $0.status == .ok) }
            }
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let body = try await client.execute(
                uri: "/apps/1/deployments?range=6h",
                method: .get,
                headers: [.cookie: session]
            ) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            #expect(HTMLStructure.problems(in: body).isEmpty)
            // Newest first, the name escaped.
            let v2 = try #require(body.range(of: "data-deployment=\"v2 &lt;b&gt;\""))
            let v1 = try #require(body.range(of: "data-deployment=\"v1\""))
            #expect(v2.lowerBound < v1.lowerBound)
            #expect(!body.contains("v2 <b>"))
            #expect(body.contains("faster search"))
            // v2: Apdex 1.00 → 0.50 ((1 + 0) / 2), avg 150.0 ms → 1550.0 ms, errors 0.0 % → 50.0 %, 4 → 2.
            let row = String(body[v2.lowerBound...].prefix { $0 != "\n" })
            #expect(row.contains("<td class=\"n\" data-figure=\"apdex\">1.00 → 0.50</td>"), "\(row)")
            #expect(row.contains("<td class=\"n\" data-figure=\"average\">150.0 ms → 1550.0 ms</td>"), "\(row)")
            #expect(row.contains("<td class=\"n\" data-figure=\"error-rate\">0.0 % → 50.0 %</td>"), "\(row)")
            #expect(row.contains("<td class=\"n\" data-figure=\"count\">4 → 2</td>"), "\(row)")
            // Every app page links to it.
            let overview = try await client.execute(uri: "/apps/1", method: .get, headers: [.cookie: session]) {
                String(buffer: $0.body)
            }
            #expect(overview.contains("href=\"/apps/1/deployments?range=1h\""))
            // An empty range says how to record one.
            let empty = try await client.execute(
                uri: "/apps/1/deployments?from=\(current - 7200)&to=\(current - 6000)",
                method: .get,
                headers: [.cookie: session]
            ) { String(buffer: $0.body) }
            #expect(empty.contains("No deployments in this range"))
        }
    }
}
