import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import APMTestSupport
import Foundation
import Testing

/// A `metric_below` condition on a stored metric (host CPU: the idle share of `system.cpu.utilization` below 10 %,
/// i.e. over 90 % busy, over 2-minute windows) opens and resolves an incident at the known minutes on both
/// backends; the worst series (host) counts, the filter narrows the series.
@Suite struct MetricAlertTests {
    typealias Support = CollectorTestSupport

    static let start: Int64 = 1_764_000_000 - 1_764_000_000 % 3600
    /// web-1's idle share per minute; db-1 stays at 0.75 (exact binary fractions, so that means are exact).
    static let webIdle: [Double] = [0.5, 0.5, 0.0625, 0.03125, 0.0625, 0.5, 0.5, 0.5]

    static func readings(minute: Int64, host: String, idle: Double) -> AgentBatch {
        let time = (start + minute * 60 + 10) * 1_000_000_000
        var batch = Support.batch(app: "shop", minute: start + minute * 60, metrics: [])
        batch.intervals = []
        batch.agent.host = host
        batch.agent.pid = 0
        batch.metrics = [
            MetricPoint(
                name: "system.cpu.utilization",
                unit: "1",
                kind: .gauge,
                attributes: ["state": "idle"],
                timeUnixNano: time,
                value: idle
            ),
            MetricPoint(
                name: "system.cpu.utilization",
                unit: "1",
                kind: .gauge,
                attributes: ["state": "user"],
                timeUnixNano: time,
                value: 1 - idle
            ),
        ]
        return batch
    }

    @Test(arguments: StoreBackend.available)
    func hostCPUAboveNinetyPercentOpensAndResolvesAtTheKnownMinutes(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let clock = Locked(Double(Self.start))
            try await TestCollector.run(Support.configuration(), on: store, now: clock.reader) { collector, _, _, _ in
                let account = try #require(try await store.accounts().first)
                func commit(minute: Int64) async throws {
                    let batches = [
                        Self.readings(minute: minute, host: "web-1", idle: Self.webIdle[Int(minute)]),
                        Self.readings(minute: minute, host: "db-1", idle: 0.75),
                    ]
                    _ = try await store.commit(
                        batches.map {
                            IngestItem(
                                accountID: account.id,
                                batch: $0,
                                receivedAt: Double(Self.start + minute * 60 + 65)
                            )
                        },
                        limits: CardinalityLimits()
                    )
                }
                try await commit(minute: 0)
                let app = try #require(try await store.apps(accountID: account.id).first)
                func condition(_ name: String, filter: String) -> AlertConditionRecord {
                    AlertConditionRecord(
                        accountID: account.id,
                        appID: app.id,
                        transaction: nil,
                        name: name,
                        metric: .metricBelow,
                        windowMinutes: 2,
                        warning: 0.2,
                        critical: 0.1,
                        forEvaluations: 1,
                        minRequests: 10,
                        channelIDs: [],
                        createdAt: Double(Self.start),
                        metricName: "system.cpu.utilization",
                        metricFilter: filter
                    )
                }
                let busy = try await store.createAlertCondition(condition("CPU over 90 %", filter: "state=idle"))
                let db = try await store.createAlertCondition(condition("db CPU", filter: "host=db-1"))
                for minute: Int64 in 1...10 {
                    clock.withLock { $0 = Double(Self.start + minute * 60 + 5) }
                    // Evaluation trails the clock (evaluation_delay): the last windows are evaluated after the data.
                    if minute < 8 { try await commit(minute: minute) }
                    _ = try await collector.alertEvaluator.evaluate(now: Int64(clock.withLock { $0 }))
                }
                let incidents = try await store.alertIncidents(accountID: account.id, openOnly: false, limit: 100)
                // Windows of minutes (2, 3) and (3, 4) have web-1 idle 4.7 % (critical); (4, 5) 28 % (fine); after a
                // whole window of fine evaluations it resolves. db-1 (idle 75 %) and the db-1 condition never breach.
                let incident = try #require(incidents.first { $0.conditionID == busy.id })
                #expect((incident.openedAt - Self.start) / 60 == 4)
                #expect(incident.severity == .critical)
                #expect(incident.openedValue == 0.046875)
                #expect(incident.resolvedAt.map { ($0 - Self.start) / 60 } == 7)
                #expect(!incidents.contains { $0.conditionID == db.id })
                #expect(incidents.count == 1)
            }
        }
    }
}
