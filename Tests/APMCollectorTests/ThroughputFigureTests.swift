import APMCollector
import APMCollectorTestSupport
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The throughput a user reads is the rate the chart ends on, the last complete minute, with the range's
/// average beside it and labelled as such. Before: the card showed only the average over the range (37.5 rpm
/// over an hour for an app started 5 minutes ago at 600 rpm).
@Suite struct ThroughputFigureTests {
    typealias Support = CollectorTestSupport

    @Test func theLatestCompleteMinuteIsTheHeadlineAndTheAverageIsLabelled() async throws {
        // 30 s into the current minute: the previous minute ended 30 s ago (settled), the current one is still
        // arriving.
        let current = Support.currentMinute()
        let standingStill: @Sendable () -> Double = { Double(current) + 30 }
        try await Support.withCollector(now: standingStill) { collector, client, key in
            for (minute, count) in [(current - 120, 5), (current - 60, 3), (current, 2)] {
                let batch = Support.batch(
                    minute: minute,
                    metrics: [Support.metric("GET /a", durations: Array(repeating: 0.1, count: count))]
                )
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            let summary = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/1/summary?since=1h",
                key: key,
                client: client
            )
            #expect(summary.count == 10)
            #expect(summary.latestMinute == APILatestMinute(start: current - 60, count: 3))
            #expect(abs(summary.rpm - 10 / (Double(summary.seconds) / 60)) < 1e-12)
            let transaction = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/1/summary?since=1h&transaction=GET%20%2Fa",
                key: key,
                client: client
            )
            #expect(transaction.latestMinute?.count == 3)
            // A range that ended in the past: its own last minute.
            let past = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/1/summary?from=\(current - 600)&to=\(current - 60)",
                key: key,
                client: client
            )
            #expect(past.latestMinute == APILatestMinute(start: current - 120, count: 5))

            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let minute = String(DashboardRangeTests.formatted(current - 60).suffix(5))
            try await client.execute(uri: "/apps/1?range=1h", method: .get, headers: [.cookie: session]) {
                let body = String(buffer: $0.body)
                #expect(body.contains("<b data-figure=\"rpm\">3 rpm</b>"))
                #expect(body.contains("<span data-figure=\"rpm-minute\">in the minute from \(minute) UTC</span>"))
                #expect(body.contains("<span data-figure=\"count\">10</span> requests in the range"))
                #expect(
                    body.contains(
                        String(format: "<span data-figure=\"range-rpm\">%.1f rpm</span> on average", summary.rpm)
                    )
                )
            }
        }
    }

    /// Before: in the first minute every chart was empty without a word while the cards counted requests.
    @Test func theFirstMinuteSaysWhenTheChartsFillIn() async throws {
        let current = Support.currentMinute()
        let standingStill: @Sendable () -> Double = { Double(current) + 30 }
        try await Support.withCollector(now: standingStill) { collector, client, key in
            let batch = Support.batch(minute: current, metrics: [Support.metric("GET /a", durations: [0.1, 0.2])])
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let appears = DashboardRangeTests.formatted(current + 60).suffix(5) + ":15"
            try await client.execute(uri: "/apps/1?range=30m", method: .get, headers: [.cookie: session]) {
                let body = String(buffer: $0.body)
                #expect(body.contains("<span data-figure=\"count\">2</span>"))
                #expect(body.contains("the first point appears at \(appears) UTC"))
            }
        }
    }
}
