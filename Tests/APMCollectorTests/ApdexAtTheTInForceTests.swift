import APMCollector
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// No figure presents Apdex counts as classified at a T they were not: rows an agent classified at another T
/// (before it heard the collector's, or before a change of T reached it) are placed at the T in force from their
/// histograms, and flagged with the score's bounds.
@Suite struct ApdexAtTheTInForceTests {
    typealias Support = CollectorTestSupport

    @Test(arguments: StoreBackend.available) func rowsClassifiedAtAnotherTArePlacedAtTheTInForceAndFlagged(
        backend: StoreBackend
    ) async throws {
        try await Support.withCollector(backend: backend) { collector, client, key in
            let minute = Support.currentMinute(offset: -3)
            // The app's T is 1 s; an agent that had not heard it sent 20 transactions of 0.75 s classified at
            // its local 0.5 s (S 0 / T 20), and later 10 at 1 s.
            let first = try await Support.post(
                Support.batch(
                    minute: minute,
                    metrics: [Support.metric("GET /report", durations: Array(repeating: 0.75, count: 20))]
                ),
                key: key,
                client: client
            )
            #expect(first.status == .accepted)
            let app = try #require(try await collector.store.apps(accountID: 1).first)
            try await collector.store.setApdex(appID: app.id, transaction: nil, seconds: 1)
            let second = try await Support.post(
                Support.batch(
                    minute: minute + 60,
                    metrics: [Support.metric("GET /report", durations: Array(repeating: 0.75, count: 10), t: 1)]
                ),
                key: key,
                client: client
            )
            #expect(second.status == .accepted)

            let query = "since=1h&transaction=GET+%2Freport"
            let summary = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/\(app.id)/summary?\(query)",
                key: key,
                client: client
            )
            // Before: "t": 1 with S 10 / T 20 (the first 20 counted as classified at 0.5 s).
            #expect(summary.apdex.t == 1)
            #expect(summary.apdex.satisfied == 30 && summary.apdex.tolerating == 0)
            #expect(!summary.apdex.exact && summary.apdex.reclassified == 20)
            #expect(summary.apdex.scoreMin == 1 && summary.apdex.scoreMax == 1)
            // The same in the series, the transactions list, the app's summary and the what-if at T = 1.
            let series = try await Support.get(
                APISeries.self,
                "/api/v1/apps/\(app.id)/series?\(query)",
                key: key,
                client: client
            )
            let points = series.points.filter { $0.count > 0 }
            #expect(points.map(\.apdex.satisfied) == [20, 10])
            #expect(points.map(\.apdex.exact) == [false, true])
            struct Rows: Decodable { var transactions: [APITransactionRow] }
            let rows = try await Support.get(
                Rows.self,
                "/api/v1/apps/\(app.id)/transactions?since=1h",
                key: key,
                client: client
            )
            #expect(rows.transactions.first?.figures.apdex.satisfied == 30)
            #expect(rows.transactions.first?.figures.apdex.exact == false)
            let whole = try await Support.get(
                APIAppSummary.self,
                "/api/v1/apps/\(app.id)?since=1h",
                key: key,
                client: client
            )
            #expect(whole.summary.apdex.satisfied == 30 && !whole.summary.apdex.exact)
            let whatIf = try await Support.get(
                APIWhatIfApdex.self,
                "/api/v1/apps/\(app.id)/apdex?\(query)&t=1",
                key: key,
                client: client
            )
            #expect(whatIf.satisfied == 30 && !whatIf.exact)

            // Back at 0.5 s: the first rows are exact again, the later ones placed from histograms.
            try await collector.store.setApdex(appID: app.id, transaction: nil, seconds: 0.5)
            let back = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/\(app.id)/summary?\(query)",
                key: key,
                client: client
            )
            #expect(back.apdex.tolerating == 30 && back.apdex.reclassified == 10)

            // The dashboard says so under the Apdex card.
            try await collector.store.setApdex(appID: app.id, transaction: nil, seconds: 1)
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            try await client.execute(
                uri: "/apps/\(app.id)/transaction?name=GET+%2Freport&since=1h",
                method: .get,
                headers: [.cookie: session]
            ) { response in
                let body = String(buffer: response.body)
                #expect(body.contains(#"data-figure="stf">S 30 / T 0 / F 0"#))
                #expect(body.contains(#"data-figure="reclassified">20 recorded at another T"#), "\(body)")
            }
        }
    }

    @Test(arguments: StoreBackend.available) func dataClassifiedAtTheTInForceIsExact(backend: StoreBackend) async throws
    {
        try await Support.withCollector(backend: backend) { collector, client, key in
            let minute = Support.currentMinute(offset: -3)
            _ = try await Support.post(
                Support.batch(minute: minute, metrics: [Support.metric("GET /a", durations: [0.1, 0.7, 3])]),
                key: key,
                client: client
            )
            let app = try #require(try await collector.store.apps(accountID: 1).first)
            let summary = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/\(app.id)/summary?since=1h",
                key: key,
                client: client
            )
            #expect(summary.apdex.exact && summary.apdex.reclassified == 0)
            #expect(summary.apdex.scoreMin == summary.apdex.score && summary.apdex.scoreMax == summary.apdex.score)
        }
    }
}
