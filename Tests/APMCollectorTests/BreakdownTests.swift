import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// From a bad Apdex to its cause: a transaction's breakdown by segment, and who calls each statement and host.
/// A workload with known answers, on every backend.
@Suite struct BreakdownTests {
    typealias Support = CollectorTestSupport

    /// A segment row from its calls' durations, with their histogram (`histogram: false`: as an agent from before
    /// segment histograms sent it).
    static func segment(
        _ transaction: String,
        _ name: String,
        _ category: SegmentCategory,
        operation: String,
        target: String = "",
        calls: [Double],
        histogram: Bool = true
    ) -> SegmentMetric {
        var recorded = LatencyHistogram()
        if histogram {
            for call in calls { recorded.record(seconds: call) }
        }
        return SegmentMetric(
            transaction: transaction,
            name: name,
            category: category,
            system: category == .datastore ? "sqlite" : "GET",
            operation: operation,
            target: target,
            count: UInt64(calls.count),
            totalDuration: calls.reduce(0, +),
            exclusiveDuration: calls.reduce(0, +),
            minDuration: calls.min() ?? 0,
            maxDuration: calls.max() ?? 0,
            histogram: recorded
        )
    }

    /// GET /report: 4 requests of 1 s over two minutes: 3.6 s in one recursive query (one call each: 0.85, 0.95,
    /// 0.9 and 0.9 s), 0.1 s calling inventory (from an agent that sends no segment histograms), the rest (0.3 s)
    /// its own code. GET /users: 10 requests of 50 ms: 40 user lookups (38 of 4 ms and 2 of 24 ms: 0.2 s) and 2
    /// calls of the same recursive query (0.4 s).
    static func fill(_ client: any TestClientProtocol, key: String, minute: Int64) async throws {
        for (offset, queries) in [(-60, [0.85, 0.95]), (0, [0.9, 0.9])] as [(Int64, [Double])] {
            let batch = Support.batch(
                minute: minute + offset,
                metrics: [Support.metric("GET /report", durations: [1, 1])],
                segments: [
                    segment("GET /report", "SQLite SELECT", .datastore, operation: "SELECT", calls: queries),
                    segment(
                        "GET /report",
                        "External inventory",
                        .external,
                        operation: "inventory",
                        calls: [0.03, 0.02],
                        histogram: false
                    ),
                ]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
        }
        let batch = Support.batch(
            minute: minute,
            metrics: [Support.metric("GET /users", durations: Array(repeating: 0.05, count: 10))],
            segments: [
                segment(
                    "GET /users",
                    "SQLite SELECT users",
                    .datastore,
                    operation: "SELECT",
                    target: "users",
                    calls: Array(repeating: 0.004, count: 38) + [0.024, 0.024]
                ),
                segment("GET /users", "SQLite SELECT", .datastore, operation: "SELECT", calls: [0.1, 0.3]),
            ]
        )
        #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
    }

    @Test(arguments: StoreBackend.available)
    func theBreakdownAndTheCallersHaveTheKnownAnswers(backend: StoreBackend) async throws {
        try await Support.withCollector(backend: backend) { collector, client, key in
            try await Self.fill(client, key: key, minute: Support.currentMinute(offset: -2))
            let breakdown = try await Support.get(
                APITransactionBreakdown.self,
                "/api/v1/apps/1/transactions/breakdown?since=1h&transaction=GET%20%2Freport",
                key: key,
                client: client
            )
            #expect(breakdown.count == 4 && abs(breakdown.totalTime - 4) < 1e-9)
            #expect(breakdown.rows.map(\.name) == ["SQLite SELECT", "application", "External inventory"])
            let query = try #require(breakdown.rows.first)
            #expect(query.category == "database" && abs(query.share - 0.9) < 1e-9)
            #expect(query.calls == 4 && query.callsPerTransaction == 1 && abs(query.average - 0.9) < 1e-9)
            #expect(query.max == 0.95 && abs(query.time - 3.6) < 1e-9)
            // p95 per call, from the calls' histograms merged over both minutes (nearest rank: the 4th of 4).
            #expect(abs(try #require(query.p95) - 0.95) <= 0.95 * 0.01)
            #expect(breakdown.rows[2].p95 == nil, "an agent that sent no histogram: unknown, not a guess")
            #expect(breakdown.rows[1].p95 == nil, "application is not a call")
            let users = try await Support.get(
                APITransactionBreakdown.self,
                "/api/v1/apps/1/transactions/breakdown?since=1h&transaction=GET%20%2Fusers",
                key: key,
                client: client
            )
            let lookups = try #require(users.rows.first { $0.name == "SQLite SELECT users" })
            #expect(lookups.calls == 40 && lookups.callsPerTransaction == 4 && abs(lookups.max - 0.024) < 1e-12)
            #expect(
                abs(try #require(lookups.p95) - 0.004) <= 0.004 * 0.01,
                "the 38th of 40 calls: 4 ms, not the slowest"
            )
            #expect(abs(breakdown.rows[1].time - 0.3) < 1e-9 && abs(breakdown.rows[1].share - 0.075) < 1e-9)
            #expect(breakdown.rows[2].category == "external" && breakdown.rows[2].target == "inventory")
            #expect(abs(breakdown.rows.map(\.share).reduce(0, +) - 1) < 1e-9)

            struct Callers: Decodable { var callers: [APISegmentCaller] }
            let callers = try await Support.get(
                Callers.self,
                "/api/v1/apps/1/databases/callers?since=1h",
                key: key,
                client: client
            )
            .callers.filter { $0.name == "SQLite SELECT" }
            #expect(callers.map(\.transaction) == ["GET /report", "GET /users"])
            #expect(abs(callers[0].share - 0.9) < 1e-9 && callers[0].callsPerTransaction == 1)
            #expect(abs(callers[1].share - 0.1) < 1e-9 && abs(callers[1].callsPerTransaction - 0.2) < 1e-9)
            let hosts = try await Support.get(
                Callers.self,
                "/api/v1/apps/1/externals/callers?since=1h",
                key: key,
                client: client
            )
            #expect(hosts.callers.map(\.name) == ["inventory"] && hosts.callers.first?.share == 1)

            // The pages show the same: the transaction's breakdown linked to its operations, and the callers.
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let page = try await client.execute(
                uri: "/apps/1/transaction?name=GET%20%2Freport&range=1h",
                method: .get,
                headers: [.cookie: session]
            ) { String(buffer: $0.body) }
            #expect(
                page.contains(
                    "<tr data-segment=\"SQLite SELECT\"><td><a href=\"/apps/1/databases?transaction=GET%20%2Freport&amp;range=1h#op-SQLite%20SELECT\">"
                )
            )
            #expect(page.contains("<td class=\"n\" data-figure=\"share\">90.0 %</td>"))
            #expect(page.contains("<th class=\"n\">p95 per call</th>"))
            let p95 = String(format: "%.1f ms", try #require(query.p95) * 1000)
            #expect(page.contains("<td class=\"n\" data-figure=\"p95\">\(p95)</td>"))
            #expect(page.contains("<td class=\"n\" data-figure=\"p95\">–</td>"))
            let databases = try await client.execute(
                uri: "/apps/1/databases?range=1h&transaction=GET%20%2Freport",
                method: .get,
                headers: [.cookie: session]
            ) { String(buffer: $0.body) }
            #expect(databases.contains("<tr id=\"op-SQLite%20SELECT\" data-operation=\"SQLite SELECT\">"))
            #expect(!databases.contains("data-operation=\"SQLite SELECT users\""), "filtered to GET /report")
            #expect(databases.contains("<li data-caller=\"GET /report\">"))
            #expect(databases.contains("<span data-figure=\"caller-share\">90.0 %</span>"))
            #expect(HTMLStructure.problems(in: databases).isEmpty && HTMLStructure.problems(in: page).isEmpty)
            // The overview links each transaction to its breakdown.
            let overview = try await client.execute(uri: "/apps/1?range=1h", method: .get, headers: [.cookie: session])
            {
                String(buffer: $0.body)
            }
            #expect(overview.contains("/apps/1/transaction?name=GET%20%2Freport&amp;range=1h#breakdown"))
            // A breakdown needs its transaction.
            try await client.execute(
                uri: "/api/v1/apps/1/transactions/breakdown?since=1h",
                method: .get,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) { #expect($0.status == .badRequest) }
            // A histogram that does not hold every call is refused, by field.
            var wrong = Self.segment("GET /users", "SQLite SELECT", .datastore, operation: "SELECT", calls: [0.1, 0.2])
            wrong.histogram.record(seconds: 0.3)
            let refused = try await Support.post(
                Support.batch(minute: Support.currentMinute(offset: -1), metrics: [], segments: [wrong]),
                key: key,
                client: client
            )
            #expect(refused.status == .badRequest)
            #expect(refused.body.contains("segments[0].histogram") && refused.body.contains("must equal count 2"))
        }
    }
}
