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

/// `new_error` and `regressed_error` conditions: a known sequence of occurrences, resolves and a deployment gives
/// exactly the notifications expected, once each, whichever collectors run the alerting round, on both backends.
@Suite struct IssueNotificationTests {
    typealias Support = CollectorTestSupport

    /// An hour boundary, so that times read easily.
    static let start = Double(1_764_000_000 - 1_764_000_000 % 3600)

    /// One occurrence of `type` in `transaction` at `at`.
    static func occurrence(_ type: String, at: Double, transaction: String = "POST /checkout") -> AgentBatch {
        let minute = Int64(at) - Int64(at) % 60
        var batch = Support.batch(minute: minute, metrics: [Support.metric(transaction, durations: [0.1], errors: [0])])
        batch.errors = [
            ErrorSample(timestamp: at, transaction: transaction, type: type, message: "declined", status: 500)
        ]
        return batch
    }

    static func condition(
        _ metric: AlertMetric,
        account: Int64,
        app: Int64,
        channel: Int64,
        transaction: String? = nil
    ) -> AlertConditionRecord {
        AlertConditionRecord(
            accountID: account,
            appID: app,
            transaction: transaction,
            name: metric.rawValue,
            metric: metric,
            windowMinutes: 1,
            warning: nil,
            critical: nil,
            forEvaluations: 1,
            minRequests: 0,
            channelIDs: [channel],
            createdAt: start
        )
    }

    @Test(arguments: StoreBackend.available)
    func aKnownSequenceNotifiesOneNewErrorAndOneRegressionAndRateLimitsTheNext(backend: StoreBackend) async throws {
        let receiver = WebhookReceiver()
        try await receiver.run {
            try await backend.withStore { store in
                let clock = Locked(Self.start)
                let configuration = Support.configuration { $0.alerts.dashboardURL = "https://apm.example.com/" }
                try await TestCollector.run(configuration, on: store, now: clock.reader) { collector, _, _, _ in
                    let account = try #require(try await store.accounts().first)
                    let otherCollector = Collector(
                        configuration: configuration,
                        logger: TestCollector.quietLogger,
                        store: store,
                        now: clock.reader
                    )
                    func occur(_ type: String, at offset: Double, transaction: String = "POST /checkout") async throws {
                        clock.withLock { $0 = Self.start + offset + 1 }
                        _ = try await store.commit(
                            [
                                IngestItem(
                                    accountID: account.id,
                                    batch: Self.occurrence(type, at: Self.start + offset, transaction: transaction),
                                    receivedAt: Self.start + offset + 1
                                )
                            ],
                            limits: CardinalityLimits()
                        )
                    }
                    /// One alerting round on two collectors at once; the events received so far.
                    func round() async throws -> [String] {
                        let now = clock.withLock { $0 }
                        async let first = collector.issueNotifications.notify(now: now)
                        async let second = otherCollector.issueNotifications.notify(now: now)
                        _ = try await (first, second)
                        for delivery in try await collector.alertNotifier.deliverDue(now: now) {
                            #expect(delivery.deliveredAt != nil, "\(delivery.lastError ?? "")")
                        }
                        return receiver.received.compactMap { $0.headers["x-apm-event"] }
                    }

                    try await occur("Warmup", at: 0)
                    let app = try #require(try await store.apps(accountID: account.id).first)
                    let channel = try await store.createAlertChannel(
                        AlertChannelRecord(
                            accountID: account.id,
                            name: "ops hook",
                            kind: .webhook,
                            target: receiver.url,
                            secret: "s3cret",
                            createdAt: Self.start
                        )
                    )
                    for metric in [AlertMetric.newError, .regressedError] {
                        _ = try await store.createAlertCondition(
                            Self.condition(metric, account: account.id, app: app.id, channel: channel.id)
                        )
                    }
                    // Watches another transaction: never matches.
                    _ = try await store.createAlertCondition(
                        Self.condition(
                            .newError,
                            account: account.id,
                            app: app.id,
                            channel: channel.id,
                            transaction: "GET /elsewhere"
                        )
                    )
                    // The issue from before the conditions existed is notified too (its event was pending).
                    #expect(try await round() == ["new_error"])

                    // 1. A new error: one new_error notification, naming the issue and linking to its page.
                    try await occur("PaymentDeclined", at: 60)
                    #expect(try await round() == ["new_error", "new_error"])
                    let payload = try Self.lastPayload(receiver)
                    let issue = try #require(payload["issue"] as? [String: Any])
                    let issueID = try #require(issue["id"] as? Int64)
                    #expect(
                        payload["summary"] as? String == "[NEW ERROR] shop: PaymentDeclined: declined in POST /checkout"
                    )
                    #expect(issue["url"] as? String == "https://apm.example.com/apps/\(app.id)/errors/\(issueID)")
                    #expect(issue["state"] as? String == "unresolved" && issue["count"] as? Int == 1)
                    #expect((payload["condition"] as? [String: Any])?["metric"] as? String == "new_error")

                    // 2. More occurrences: nothing.
                    try await occur("PaymentDeclined", at: 120)
                    try await occur("PaymentDeclined", at: 180)
                    #expect(try await round().count == 2)

                    // 3. Resolved in the next deployment; seen again before the deployment: nothing.
                    clock.withLock { $0 = Self.start + 200 }
                    _ = try await store.changeErrorGroupState(
                        appID: app.id,
                        groupID: issueID,
                        to: .resolveInNextDeployment,
                        by: "admin",
                        at: Self.start + 200
                    )
                    try await occur("PaymentDeclined", at: 240)
                    #expect(try await round().count == 2)

                    // 4. A deployment, then the error again: one regressed_error.
                    _ = try await store.recordDeployment(
                        appID: app.id,
                        at: Self.start + 300,
                        revision: "v2",
                        description: "",
                        user: "ci"
                    )
                    try await occur("PaymentDeclined", at: 360)
                    try await occur("PaymentDeclined", at: 361)
                    #expect(try await round() == ["new_error", "new_error", "regressed_error"])
                    let regressed = try Self.lastPayload(receiver)
                    #expect(
                        regressed["summary"] as? String
                            == "[REGRESSED] shop: PaymentDeclined: declined in POST /checkout"
                    )
                    #expect((regressed["issue"] as? [String: Any])?["state"] as? String == "regressed")

                    // 5. Resolved and regressing again within alert_issue_renotify (an hour): not notified again.
                    func resolveAndRegress(at offset: Double) async throws {
                        clock.withLock { $0 = Self.start + offset }
                        _ = try await store.changeErrorGroupState(
                            appID: app.id,
                            groupID: issueID,
                            to: .resolve,
                            by: "admin",
                            at: Self.start + offset
                        )
                        try await occur("PaymentDeclined", at: offset + 30)
                    }
                    try await resolveAndRegress(at: 1_000)
                    #expect(try await round().count == 3)
                    #expect(try await store.errorGroup(appID: app.id, id: issueID)?.status.state == .regressed)
                    // An hour after the last notification: notified again.
                    try await resolveAndRegress(at: 360 + 3_700)
                    #expect(try await round() == ["new_error", "new_error", "regressed_error", "regressed_error"])
                    #expect(try await store.pendingIssueEvents(limit: 10).isEmpty)
                }
            }
        }
    }

    static func lastPayload(_ receiver: WebhookReceiver) throws -> [String: Any] {
        let last = try #require(receiver.received.last)
        return try #require(try JSONSerialization.jsonObject(with: last.body) as? [String: Any])
    }

    @Test func conditionsOnIssuesTakeNoThresholds() async throws {
        try await Support.withCollector { _, client, key in
            let headers: HTTPFields = [
                .authorization: "Bearer \(Support.token(for: key))", .contentType: "application/json",
            ]
            let now = Double(Support.currentMinute())
            #expect(
                try await Support.post(Self.occurrence("Boom", at: now), key: key, client: client).status == .accepted
            )
            let refused = try await client.execute(
                uri: "/api/v1/alerts/conditions",
                method: .post,
                headers: headers,
                body: ByteBuffer(string: #"{"app_id": 1, "name": "new", "metric": "new_error", "critical": 1}"#)
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(refused.0 == .badRequest)
            #expect(refused.1.contains("new_error has no thresholds"), "\(refused.1)")
            let created = try await client.execute(
                uri: "/api/v1/alerts/conditions",
                method: .post,
                headers: headers,
                body: ByteBuffer(string: #"{"app_id": 1, "name": "regressions", "metric": "regressed_error"}"#)
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(created.0 == .created, "\(created.1)")
            #expect(created.1.contains(#""metric":"regressed_error""#))
        }
    }
}
