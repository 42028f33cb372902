import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import APMTestSupport
import Foundation
import Testing

/// An `error_logs` condition: error and fatal lines per minute, of the app or of one transaction, open and resolve
/// incidents at the known minutes on both backends.
@Suite struct LogAlertTests {
    typealias Support = CollectorTestSupport

    static let start: Int64 = 1_764_000_000 - 1_764_000_000 % 3600

    /// Minute 3: 4 error lines, 1 fatal, 10 info (of GET /cart); minute 4: 1 error line of POST /pay; then none.
    static func lines(minute: Int64) -> [LogRecord] {
        let base = (start + minute * 60) * 1_000_000_000
        switch minute {
        case 3:
            return (0..<15).map { index in
                LogRecord(
                    timeUnixNano: base + Int64(index) * 1_000_000_000,
                    level: index < 4 ? .error : index == 4 ? .fatal : .info,
                    message: "line \(index)",
                    transaction: "GET /cart"
                )
            }
        case 4: return [LogRecord(timeUnixNano: base, level: .error, message: "declined", transaction: "POST /pay")]
        default: return []
        }
    }

    @Test(arguments: StoreBackend.available)
    func errorLinesPerMinuteOpenAndResolveIncidentsAtTheKnownMinutes(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let clock = Locked(Double(Self.start))
            try await TestCollector.run(Support.configuration(), on: store, now: clock.reader) { collector, _, _, _ in
                let account = try #require(try await store.accounts().first)
                func commit(minute: Int64) async throws {
                    var batch = Support.batch(minute: Self.start + minute * 60, metrics: [])
                    batch.intervals = []
                    batch.logs = Self.lines(minute: minute)
                    _ = try await store.commit(
                        [
                            IngestItem(
                                accountID: account.id,
                                batch: batch,
                                receivedAt: Double(Self.start + minute * 60 + 65)
                            )
                        ],
                        limits: CardinalityLimits()
                    )
                }
                try await commit(minute: 0)
                let app = try #require(try await store.apps(accountID: account.id).first)
                func condition(_ name: String, transaction: String?) -> AlertConditionRecord {
                    AlertConditionRecord(
                        accountID: account.id,
                        appID: app.id,
                        transaction: transaction,
                        name: name,
                        metric: .errorLogs,
                        windowMinutes: 1,
                        warning: 0.5,
                        critical: 2,
                        forEvaluations: 1,
                        minRequests: 5,
                        channelIDs: [],
                        createdAt: Double(Self.start)
                    )
                }
                let all = try await store.createAlertCondition(condition("error lines", transaction: nil))
                let pay = try await store.createAlertCondition(condition("pay errors", transaction: "POST /pay"))
                for minute: Int64 in 1...8 {
                    clock.withLock { $0 = Double(Self.start + minute * 60 + 5) }
                    try await commit(minute: minute - 1)
                    _ = try await collector.alertEvaluator.evaluate(now: Int64(clock.withLock { $0 }))
                }
                let incidents = try await store.alertIncidents(accountID: account.id, openOnly: false, limit: 100)
                // The app: 5 lines in minute 3 (critical, above 2 per minute), 1 in minute 4 (warning, above 0.5),
                // none in minute 5: opened at the window ending at minute 4, resolved at the one ending at 6.
                let whole = try #require(incidents.first { $0.conditionID == all.id })
                #expect((whole.openedAt - Self.start) / 60 == 4)
                #expect(whole.openedValue == 5)
                #expect(whole.severity == .critical)
                #expect(whole.resolvedAt.map { ($0 - Self.start) / 60 } == 6)
                // POST /pay: its one line in minute 4 is a warning only.
                let payment = try #require(incidents.first { $0.conditionID == pay.id })
                #expect((payment.openedAt - Self.start) / 60 == 5)
                #expect(payment.severity == .warning)
                #expect(payment.openedValue == 1)
                #expect(incidents.count == 2)
            }
        }
    }
}
