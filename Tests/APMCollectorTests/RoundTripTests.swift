import APMAgent
import APMCollector
import APMCore
import APMStorage
import APMTesting
import Foundation
import HummingbirdTesting
import Logging
import Testing

@Suite struct RoundTripTests {
    /// A real agent (own API, manual clock, libcurl transport) reports a known workload over 5 minutes; the
    /// collector's API must give back exactly what a stopwatch would.
    @Test(arguments: StoreBackend.available) func knownWorkloadThroughAgentAndCollectorGivesExactFigures(
        backend: StoreBackend
    ) async throws {
        try await CollectorTestSupport.withCollector(backend: backend, transport: .live) { collector, client, key in
            let start = CollectorTestSupport.currentMinute(offset: -10)
            let clock = ManualAgentClock(unixSeconds: start)
            var configuration = AgentConfiguration()
            configuration.licenseKey = key
            configuration.appName = "shop"
            configuration.collectorURL = "http://127.0.0.1:\(client.port!)"
            configuration.harvestInterval = .seconds(600)
            configuration.logLevel = .critical
            // Other suites hash passwords in parallel on this 2-core machine: give the final flush room.
            configuration.shutdownTimeout = .seconds(30)
            let agent = APMAgent(configuration: configuration, clock: clock)
            agent.start()

            let pattern: [Double] = [0.05, 0.12, 0.3, 0.5, 0.51, 0.9, 1.4, 2.0, 2.2, 0.08, 0.25, 0.04]
            struct Expected {
                var durations: [Double] = []
                var errors = 0
                var apdex = ApdexCounts()
            }
            var perMinute: [Int64: Expected] = [:]
            var all = Expected()
            for minute in 0..<5 {
                let minuteStart = start + Int64(minute) * 60
                let count = 20 + minute * 3
                for i in 0..<count {
                    let duration = pattern[(i + minute) % pattern.count]
                    let failed = i % 9 == 4
                    let transaction = agent.startWebTransaction(
                        method: "GET",
                        route: i % 2 == 0 ? "/products/:id" : "/cart"
                    )
                    clock.advance(seconds: duration)
                    transaction.setStatus(failed ? 503 : 200)
                    transaction.end()
                    let zone = ApdexThreshold.default.zone(seconds: duration, isError: failed)
                    for key in [minuteStart] {
                        perMinute[key, default: Expected()].durations.append(duration)
                        perMinute[key]!.errors += failed ? 1 : 0
                        perMinute[key]!.apdex.record(zone)
                    }
                    all.durations.append(duration)
                    all.errors += failed ? 1 : 0
                    all.apdex.record(zone)
                }
                // Move to the next minute boundary.
                let now = clock.now().unixNanoseconds / 1_000_000_000
                clock.advance(seconds: Double(minuteStart + 60 - now))
            }
            // The final flush retries on the agent's clock: it runs as real time does meanwhile, so that a first
            // attempt a loaded machine timed out is tried again (a frozen manual clock held the retry until
            // shutdown_timeout: nothing acknowledged, though the collector had stored the batch).
            let ticking = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(50))
                    clock.advance(seconds: 0.05)
                }
            }
            await agent.shutdown()
            ticking.cancel()
            #expect(agent.statistics.batchesAcknowledged >= 1)

            let apps = try await CollectorTestSupport.get(
                AppsResponse.self,
                "/api/v1/apps?since=1h",
                key: key,
                client: client
            )
            let app = try #require(apps.apps.first { $0.name == "shop" })
            let series = try await CollectorTestSupport.get(
                APISeries.self,
                "/api/v1/apps/\(app.id)/series?from=\(start)&to=\(start + 300)",
                key: key,
                client: client
            )
            #expect(series.bucketSeconds == 60)
            #expect(series.points.count == 5)
            for point in series.points {
                let expected = try #require(perMinute[point.start])
                #expect(point.count == UInt64(expected.durations.count))
                #expect(point.rpm == Double(expected.durations.count))
                #expect(point.errors == UInt64(expected.errors))
                #expect(point.errorRate == Double(expected.errors) / Double(expected.durations.count))
                #expect(point.apdex.satisfied == expected.apdex.satisfied)
                #expect(point.apdex.tolerating == expected.apdex.tolerating)
                #expect(point.apdex.frustrated == expected.apdex.frustrated)
                #expect(point.apdex.score == expected.apdex.score)
                #expect(abs(point.average! - expected.durations.reduce(0, +) / Double(expected.durations.count)) < 1e-9)
                for (q, value) in [(0.5, point.p50), (0.95, point.p95), (0.99, point.p99)] {
                    let exact = CollectorTestSupport.quantile(expected.durations, q)
                    #expect(
                        abs(try #require(value) - exact) / exact <= 0.01,
                        "p\(Int(q * 100)) of minute \(point.start)"
                    )
                }
            }

            let summary = try await CollectorTestSupport.get(
                APIFigures.self,
                "/api/v1/apps/\(app.id)/summary?from=\(start)&to=\(start + 300)",
                key: key,
                client: client
            )
            #expect(summary.count == UInt64(all.durations.count))
            #expect(summary.errors == UInt64(all.errors))
            #expect(summary.apdex.satisfied == all.apdex.satisfied && summary.apdex.frustrated == all.apdex.frustrated)
            #expect(summary.apdex.t == 0.5)
            #expect(abs(summary.rpm - Double(all.durations.count) / 5) < 1e-9)

            struct Transactions: Decodable { var transactions: [APITransactionRow] }
            let transactions = try await CollectorTestSupport.get(
                Transactions.self,
                "/api/v1/apps/\(app.id)/transactions?from=\(start)&to=\(start + 300)",
                key: key,
                client: client
            )
            #expect(Set(transactions.transactions.map(\.name)) == ["GET /products/:id", "GET /cart"])
            #expect(transactions.transactions.reduce(0) { $0 + $1.figures.count } == UInt64(all.durations.count))
        }
    }
}
