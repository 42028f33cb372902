import APMAgent
import APMCollector
import APMCore
import APMSQLite
import APMStorage
import APMTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@Suite struct RetentionAndApdexTests {
    typealias Support = CollectorTestSupport

    @Test(arguments: StoreBackend.available)
    func hourRollupsEqualTheMinutesAndRetentionDeletesExactlyWhatItShould(backend: StoreBackend) async throws {
        let configuration = Support.configuration {
            $0.retention.minuteRetention = .seconds(24 * 3600)
            $0.retention.retention = .seconds(48 * 3600)
        }
        // The collector's clock is fixed, so that the cutoffs below are exactly the collector's.
        let now = Support.currentMinute()
        let fixedClock: @Sendable () -> Double = { Double(now + 30) }
        // SQLite: a few rows per retention transaction, so that deleting in chunks is exercised (and exact).
        // PostgreSQL: whole partitions are dropped, the rest deleted.
        let store: (any APMStore)? = backend == .sqlite ? try SQLiteStore(retentionChunk: 7) : nil
        try await Support.withCollector(configuration, store: store, backend: backend, now: fixedClock) {
            collector,
            client,
            key in
            // One batch every 37 minutes over the last 3 days, 3 names each with known durations.
            var sent: [Int64: UInt64] = [:]
            var minute = now - 3 * 86_400 + 600
            var index = 0
            while minute <= now {
                let metrics = (0..<3).map { name in
                    Support.metric(
                        "GET /r\(name)",
                        durations: Array(repeating: 0.05 * Double(name + 1), count: (index + name) % 4 + 1)
                    )
                }
                var batch = Support.batch(minute: minute, metrics: metrics)
                batch.createdAt = Double(now)
                // A metric reading in the same minute: its minute and hour rows age out with the others.
                batch.metrics = [
                    MetricPoint(
                        name: "queue.length",
                        kind: .gauge,
                        timeUnixNano: (minute + 5) * 1_000_000_000,
                        value: Double(index)
                    )
                ]
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
                sent[minute] = metrics.reduce(0) { $0 + $1.count }
                minute += 37 * 60
                index += 1
            }
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            let whole = (now - 4 * 86_400)..<(now + 3600)
            let minutes = try await collector.store.appSlices(
                appID: app.id,
                kind: .web,
                range: whole,
                resolution: .minute
            )
            let hours = try await collector.store.appSlices(appID: app.id, kind: .web, range: whole, resolution: .hour)
            #expect(minutes.reduce(0) { $0 + $1.count } == sent.values.reduce(0, +))
            #expect(hours.reduce(0) { $0 + $1.count } == sent.values.reduce(0, +))
            // Every hour row equals the sum of its minutes, histograms included.
            for hour in hours {
                let inHour = minutes.filter { $0.bucket >= hour.bucket && $0.bucket < hour.bucket + 3600 }
                #expect(hour.count == inHour.reduce(0) { $0 + $1.count })
                #expect(hour.apdex.satisfied == inHour.reduce(0) { $0 + $1.apdex.satisfied })
                var merged = LatencyHistogram()
                for slice in inHour { merged.merge(slice.histogram) }
                #expect(hour.histogram == merged)
            }

            let series = try #require(try await collector.store.metricSeries(appID: app.id, name: "queue.length").first)
            func metricRows(_ resolution: SliceResolution) async throws -> [MetricRowRecord] {
                try await collector.store.metricRows(
                    appID: app.id,
                    seriesIDs: [series.id],
                    range: whole,
                    resolution: resolution
                )
            }
            let metricMinutes = try await metricRows(.minute)
            let metricHours = try await metricRows(.hour)
            #expect(metricMinutes.map(\.bucket) == sent.keys.sorted())
            for hour in metricHours {
                let inHour = metricMinutes.filter { $0.bucket >= hour.bucket && $0.bucket < hour.bucket + 3600 }
                #expect(hour.count == UInt64(inHour.count) && hour.sum == inHour.reduce(0) { $0 + $1.sum })
            }

            let report = try await collector.applyRetention()
            let keptMinutes = try await collector.store.appSlices(
                appID: app.id,
                kind: .web,
                range: whole,
                resolution: .minute
            )
            let keptHours = try await collector.store.appSlices(
                appID: app.id,
                kind: .web,
                range: whole,
                resolution: .hour
            )
            let minuteCutoff = now + 30 - 86_400
            let hourCutoff = now + 30 - 2 * 86_400
            #expect(keptMinutes.allSatisfy { $0.bucket >= minuteCutoff })
            #expect(
                keptMinutes.reduce(0) { $0 + $1.count } == sent.filter { $0.key >= minuteCutoff }.values.reduce(0, +)
            )
            #expect(keptHours.allSatisfy { $0.bucket >= hourCutoff })
            #expect(
                keptHours.reduce(0) { $0 + $1.count }
                    == hours.filter { $0.bucket >= hourCutoff }.reduce(0) { $0 + $1.count }
            )
            #expect(report.minuteRowsDeleted > 0 && report.hourRowsDeleted > 0)
            #expect(try await metricRows(.minute).map(\.bucket) == sent.keys.sorted().filter { $0 >= minuteCutoff })
            #expect(try await metricRows(.hour) == metricHours.filter { $0.bucket >= hourCutoff })
            // Running it again deletes nothing more.
            let again = try await collector.applyRetention()
            #expect(again.minuteRowsDeleted == 0 && again.hourRowsDeleted == 0)
        }
    }

    @Test(arguments: StoreBackend.available) func changingTAppliesToNewDataAndWhatIfMatchesABruteForceRecount(
        backend: StoreBackend
    ) async throws {
        try await Support.withCollector(backend: backend, transport: .live) { collector, client, key in
            let minute = Support.currentMinute(offset: -5)
            // Old data: classified at T = 0.5 by the agent.
            var durations: [Double] = []
            var seed: UInt64 = 42
            for _ in 0..<2_000 {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1
                durations.append(0.01 + Double(seed >> 40) / Double(1 << 24) * 2.5)
            }
            let errors = Set(stride(from: 3, to: 2_000, by: 17))
            let batch = Support.batch(
                minute: minute,
                metrics: [Support.metric("GET /search", durations: durations, errors: errors)]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            let path = "/api/v1/apps/\(app.id)/apdex?from=\(minute)&to=\(minute + 60)"

            // At the configured T the what-if is the exact count.
            let atConfigured = try await Support.get(APIWhatIfApdex.self, path, key: key, client: client)
            #expect(atConfigured.exact)
            #expect(atConfigured.satisfied == batch.intervals[0].transactions[0].satisfied)
            #expect(atConfigured.frustrated == batch.intervals[0].transactions[0].frustrated)

            // At other Ts: brute force from the raw durations lies within the stated bounds.
            for t in [0.1, 0.3, 0.45, 1.0, 2.0] {
                let answer = try await Support.get(APIWhatIfApdex.self, path + "&t=\(t)", key: key, client: client)
                var exact = ApdexCounts()
                let threshold = ApdexThreshold(seconds: t)!
                for (index, duration) in durations.enumerated() {
                    exact.record(threshold.zone(seconds: duration, isError: errors.contains(index)))
                }
                let score = try #require(exact.score)
                #expect(!answer.exact)
                #expect(
                    try #require(answer.scoreMin) <= score + 1e-12 && score <= (try #require(answer.scoreMax)) + 1e-12,
                    "T = \(t)"
                )
                #expect(
                    abs(try #require(answer.score) - score) <= Double(answer.uncertain) / Double(durations.count)
                        + 1e-12
                )
                #expect(answer.uncertain < 60)
                #expect(answer.frustrated >= UInt64(errors.count))
            }

            // Set T = 0.3 s for the app and 1.0 s for one transaction: the next reply carries them, and an agent
            // adopts them for what it records next.
            try await client.execute(
                uri: "/api/v1/apps/\(app.id)/apdex",
                method: .put,
                headers: [
                    .authorization: "Bearer \(CollectorTestSupport.token(for: key))", .contentType: "application/json",
                ],
                body: ByteBuffer(string: #"{"apdex_t": 0.3}"#)
            ) { #expect($0.status == .ok) }
            try await client.execute(
                uri: "/api/v1/apps/\(app.id)/apdex",
                method: .put,
                headers: [
                    .authorization: "Bearer \(CollectorTestSupport.token(for: key))", .contentType: "application/json",
                ],
                body: ByteBuffer(string: #"{"apdex_t": 1.0, "transaction": "GET /export"}"#)
            ) { #expect($0.status == .ok) }

            let newMinute = Support.currentMinute(offset: -2)
            let clock = ManualAgentClock(unixSeconds: newMinute)
            var agentConfiguration = AgentConfiguration()
            agentConfiguration.licenseKey = key
            agentConfiguration.appName = "shop"
            agentConfiguration.collectorURL = "http://127.0.0.1:\(client.port!)"
            agentConfiguration.logLevel = .critical
            let agent = APMAgent(configuration: agentConfiguration, clock: clock)
            agent.start()
            // A first report teaches the agent the new Ts.
            agent.startWebTransaction(method: "GET", route: "/warmup").end()
            agent.flush()
            let learned = await withTaskGroup(of: Bool.self) { _ in
                let deadline = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < deadline {
                    if agent.statistics.batchesAcknowledged >= 1 { return true }
                    try? await Task.sleep(for: .milliseconds(10))
                }
                return false
            }
            #expect(learned)
            for duration in [0.2, 0.4, 0.9, 1.3, 5.0] {
                for route in ["/search", "/export"] {
                    let transaction = agent.startWebTransaction(method: "GET", route: route)
                    clock.advance(seconds: duration)
                    transaction.end()
                }
            }
            await agent.shutdown()
            let search = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/\(app.id)/summary?from=\(newMinute)&to=\(newMinute + 120)&transaction=GET%20/search",
                key: key,
                client: client
            )
            // At T = 0.3: 0.2 satisfied; 0.4, 0.9 tolerating (≤ 1.2); 1.3, 5.0 frustrated.
            #expect(search.apdex.satisfied == 1 && search.apdex.tolerating == 2 && search.apdex.frustrated == 2)
            #expect(search.apdex.t == 0.3)
            let export = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/\(app.id)/summary?from=\(newMinute)&to=\(newMinute + 120)&transaction=GET%20/export",
                key: key,
                client: client
            )
            // At T = 1.0: 0.2, 0.4, 0.9 satisfied; 1.3 tolerating; 5.0 frustrated.
            #expect(export.apdex.satisfied == 3 && export.apdex.tolerating == 1 && export.apdex.frustrated == 1)
            #expect(export.apdex.t == 1.0)
        }
    }

    @Test(arguments: StoreBackend.available) func deploymentsAreRecordedAndMarkedOnSeries(
        backend: StoreBackend
    ) async throws {
        try await Support.withCollector(backend: backend) { collector, client, key in
            let minute = Support.currentMinute(offset: -3)
            _ = try await Support.post(
                Support.batch(minute: minute, metrics: [Support.metric("GET /a", durations: [0.1])]),
                key: key,
                client: client
            )
            try await client.execute(
                uri: "/api/v1/apps/1/deployments",
                method: .post,
                headers: [.authorization: "Bearer \(CollectorTestSupport.token(for: key))"],
                body: ByteBuffer(string: #"{"revision": "v1.2.3", "description": "faster search", "user": "ci"}"#)
            ) { #expect($0.status == .created) }
            try await client.execute(
                uri: "/api/v1/apps/1/deployments",
                method: .post,
                headers: [.authorization: "Bearer \(CollectorTestSupport.token(for: key))"],
                body: ByteBuffer(string: #"{"description": "no revision"}"#)
            ) {
                #expect($0.status == .badRequest)
                #expect(String(buffer: $0.body).contains("revision"))
            }
            let series = try await Support.get(
                APISeries.self,
                "/api/v1/apps/1/series?since=1h",
                key: key,
                client: client
            )
            #expect(series.deployments.map(\.revision) == ["v1.2.3"])
        }
    }

    /// The transactions table over a minute-resolution range reads whole hours from the hour rows and only
    /// the edges from minutes; its figures must be those of the minutes alone.
    @Test(arguments: StoreBackend.available) func transactionTotalsFromHoursAndEdgeMinutesEqualTheMinutesAlone(
        backend: StoreBackend
    ) async throws {
        let now = Support.currentMinute()
        let fixedClock: @Sendable () -> Double = { Double(now + 30) }
        try await Support.withCollector(backend: backend, now: fixedClock) { collector, client, key in
            // Every 7 minutes for the last 5 hours, 4 names with varied durations and some errors.
            var minute = now - 5 * 3600
            var index = 0
            while minute < now {
                let metrics = (0..<4).map { name in
                    Support.metric(
                        "GET /r\(name)",
                        durations: (0...(index + name) % 5).map {
                            0.01 + Double(($0 * 37 + index * 11 + name) % 300) / 100
                        },
                        errors: index % 3 == 0 ? [0] : []
                    )
                }
                #expect(
                    try await Support.post(Support.batch(minute: minute, metrics: metrics), key: key, client: client)
                        .status == .accepted
                )
                minute += 7 * 60
                index += 1
            }
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            // 4 h 20 min, starting mid-hour: minute resolution, hour rows inside, minute rows at both ends.
            let range = collector.queries.range(from: now - 4 * 3600 - 1200, to: now)
            #expect(range.resolution == .minute)
            let parts = CollectorQueries.partsByResolution(range)
            #expect(parts.contains { $0.1 == .hour } && parts.filter { $0.1 == .minute }.count >= 1)
            let rows = try await collector.queries.transactions(app: app, range: range, limit: 100)
            let minutes = try await collector.store.transactionTotals(
                appID: app.id,
                range: range.from..<range.to,
                resolution: .minute,
                withHistograms: true
            )
            #expect(rows.count == 4 && minutes.count == 4)
            for slice in minutes {
                let row = try #require(rows.first { $0.name == slice.name })
                let expected = APIFigures(merging: [slice], start: range.from, seconds: range.to - range.from, t: 0.5)
                #expect(row.figures.count == expected.count && row.figures.errors == expected.errors)
                #expect(row.figures.apdex == expected.apdex)
                #expect(
                    row.figures.p50 == expected.p50 && row.figures.p95 == expected.p95
                        && row.figures.p99 == expected.p99
                )
                #expect(abs(row.timeConsumed - slice.total) < 1e-9)
                #expect(abs((row.figures.average ?? 0) - (expected.average ?? 0)) < 1e-12)
            }
        }
    }
}
