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

    static func segment(
        _ transaction: String,
        _ name: String,
        _ category: SegmentCategory,
        operation: String,
        target: String = "",
        count: UInt64,
        total: Double,
        max: Double
    ) -> SegmentMetric {
        SegmentMetric(
            transaction: transaction,
            name: name,
            category: category,
            system: category == .datastore ? "sqlite" : "GET",
            operation: operation,
            target: target,
            count: count,
            totalDuration: total,
            exclusiveDuration: total,
            minDuration: 0.001,
            maxDuration: max
        )
    }

    /// GET /report: 4 requests of 1 s: 3.6 s in one recursive query (one call each), 0.1 s calling inventory, the
    /// rest (0.3 s) its own code. GET /users: 10 requests of 50 ms: 10 user lookups (0.2 s) and 2 calls of the same
    /// recursive query (0.4 s).
    static func fill(_ client: any TestClientProtocol, key: String, minute: Int64) async throws {
        let batch = Support.batch(
            minute: minute,
            metrics: [
                Support.metric("GET /report", durations: [1, 1, 1, 1]),
                Support.metric("GET /users", durations: Array(repeating: 0.05, count: 10)),
            ],
            segments: [
                segment(
                    "GET /report",
                    "SQLite SELECT",
                    .datastore,
                    operation: "SELECT",
                    count: 4,
                    total: 3.6,
                    max: 0.95
                ),
                segment(
                    "GET /report",
                    "External inventory",
                    .external,
                    operation: "inventory",
                    count: 4,
                    total: 0.1,
                    max: 0.03
                ),
                segment(
                    "GET /users",
                    "SQLite SELECT users",
                    .datastore,
                    operation: "SELECT",
                    target: "users",
                    count: 10,
                    total: 0.2,
                    max: 0.03
                ),
                segment("GET /users", "SQLite SELECT", .datastore, operation: "SELECT", count: 2, total: 0.4, max: 0.3),
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
        }
    }
}
