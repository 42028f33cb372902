import APMCollector
import APMCollectorTestSupport
import APMCore
import APMSQLite
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct AlertTests {
    typealias Support = CollectorTestSupport

    /// An hour boundary, so that minute numbers read easily.
    static let start: Int64 = 1_764_000_000 - 1_764_000_000 % 3600

    /// Ten requests a minute; minutes 10 to 14 frustrated (3 s at T = 0.5 s), the others satisfied (100 ms).
    static func batch(minute index: Int64) -> AgentBatch {
        let slow = (10...14).contains(index)
        return Support.batch(
            minute: start + index * 60,
            metrics: [Support.metric("GET /checkout", durations: Array(repeating: slow ? 3.0 : 0.1, count: 10))]
        )
    }

    /// Apdex over 2 minutes, warning below 0.9, critical below 0.5, for 2 evaluations: the windows ending at
    /// minute 11 (minutes 9–10: 0.5) and 12 (10–11: 0) make a lasting warning, so the incident opens at minute 12;
    /// critical lasts from 12 to 13, so it escalates at 13; minutes 16 (0.5) and 17 are the first windows back
    /// above 0.9 … 17 and 18 are two in a row (the window's length), so it resolves at 18.
    static func condition(accountID: Int64, appID: Int64, channels: [Int64]) -> AlertConditionRecord {
        AlertConditionRecord(
            accountID: accountID,
            appID: appID,
            transaction: nil,
            name: "Checkout Apdex",
            metric: .apdex,
            windowMinutes: 2,
            warning: 0.9,
            critical: 0.5,
            forEvaluations: 2,
            minRequests: 5,
            channelIDs: channels,
            createdAt: Double(start)
        )
    }

    @Test(arguments: StoreBackend.available)
    func aKnownWorkloadOpensEscalatesAndResolvesAtTheExpectedMinutesAndNotifiesOnceEach(
        backend: StoreBackend
    ) async throws {
        let receiver = WebhookReceiver()
        try await receiver.run {
            try await backend.withStore { store in
                let clock = Locked(Double(Self.start))
                let configuration = Support.configuration { $0.alerts.retryBase = 30 }
                try await TestCollector.run(configuration, on: store, now: clock.reader) { collector, _, _, _ in
                    let account = try #require(try await store.accounts().first)
                    _ = try await store.commit(
                        [
                            IngestItem(
                                accountID: account.id,
                                batch: Self.batch(minute: 0),
                                receivedAt: Double(Self.start)
                            )
                        ],
                        limits: CardinalityLimits()
                    )
                    let app = try #require(try await store.apps(accountID: account.id).first)
                    let channel = try await store.createAlertChannel(
                        AlertChannelRecord(
                            accountID: account.id,
                            name: "ops hook",
                            kind: .webhook,
                            target: receiver.url,
                            secret: "s3cret",
                            createdAt: Double(Self.start)
                        )
                    )
                    let condition = try await store.createAlertCondition(
                        Self.condition(accountID: account.id, appID: app.id, channels: [channel.id])
                    )

                    // Minute k's batch arrives 5 s after it ends; the evaluator runs then, and evaluates only what
                    // is 2 minutes old (the evaluation delay): the window ending at minute k - 1.
                    var events: [(event: String, windowEnd: Int64)] = []
                    var applied = 0
                    let otherCollector = Collector(
                        configuration: configuration,
                        logger: TestCollector.quietLogger,
                        store: store,
                        now: clock.reader
                    )
                    for minute: Int64 in 1...25 {
                        clock.withLock { $0 = Double(Self.start + minute * 60 + 5) }
                        if minute > 1 {
                            _ = try await store.commit(
                                [
                                    IngestItem(
                                        accountID: account.id,
                                        batch: Self.batch(minute: minute - 1),
                                        receivedAt: clock.withLock { $0 }
                                    )
                                ],
                                limits: CardinalityLimits()
                            )
                        }
                        let now = Int64(clock.withLock { $0 })
                        #expect(collector.alertEvaluator.lastCompleteMinute(at: now) == Self.start + (minute - 2) * 60)
                        // Two collectors on the store evaluate at once (a lease that just moved): each window is
                        // applied by one of them.
                        async let first = collector.alertEvaluator.evaluate(now: now)
                        async let second = otherCollector.alertEvaluator.evaluate(now: now)
                        applied += try await first + second
                        let delivered = try await collector.alertNotifier.deliverDue(now: Double(now))
                        for delivery in delivered {
                            let incident = try #require(try await store.alertIncident(id: delivery.incidentID ?? 0))
                            let end =
                                switch delivery.event {
                                case .opened: incident.openedAt
                                case .escalated: incident.escalatedAt ?? 0
                                default: incident.resolvedAt ?? 0
                                }
                            events.append((delivery.event.rawValue, (end - Self.start) / 60))
                            #expect(delivery.deliveredAt != nil, "\(delivery.lastError ?? "")")
                        }
                    }
                    #expect(applied == 25, "one evaluation per minute in total")
                    #expect(events.map(\.event) == ["opened", "escalated", "resolved"])
                    #expect(events.map(\.windowEnd) == [12, 13, 18])

                    // The series the charts draw carry the incident (its band), and only where it overlaps.
                    let now = Int64(clock.withLock { $0 })
                    let retention = Int64(48 * 3600)
                    let during = try await collector.queries.series(
                        app: app,
                        range: TimeRange(from: Self.start, to: Self.start + 1800, now: now, minuteRetention: retention)
                    )
                    #expect(during.incidents.map(\.openedAt) == [Self.start + 720])
                    #expect(during.incidents.first?.resolvedAt == Self.start + 1080)
                    let after = try await collector.queries.series(
                        app: app,
                        range: TimeRange(
                            from: Self.start + 1200,
                            to: Self.start + 1500,
                            now: now,
                            minuteRetention: retention
                        )
                    )
                    #expect(after.incidents.isEmpty)

                    let incidents = try await store.alertIncidents(accountID: account.id, openOnly: false, limit: 10)
                    #expect(incidents.count == 1)
                    let incident = try #require(incidents.first)
                    #expect(incident.conditionID == condition.id)
                    #expect(incident.severity == .critical)
                    #expect(incident.openedValue == 0)
                    #expect(incident.escalatedValue == 0)
                    #expect(incident.resolvedValue == 1)

                    // Each notification arrived once, signed with the channel's secret over timestamp and body.
                    let received = receiver.received
                    #expect(received.map { $0.headers["x-apm-event"] } == ["opened", "escalated", "resolved"])
                    #expect(Set(received.compactMap { $0.headers["x-apm-delivery"] }).count == 3)
                    for request in received {
                        let timestamp = try #require(Int64(request.headers["x-apm-timestamp"] ?? ""))
                        #expect(
                            request.headers["x-apm-signature"]
                                == AlertMessage.signature(secret: "s3cret", timestamp: timestamp, body: request.body)
                        )
                        let payload = try #require(
                            try JSONSerialization.jsonObject(with: request.body) as? [String: Any]
                        )
                        #expect((payload["app"] as? [String: Any])?["name"] as? String == "shop")
                        #expect((payload["condition"] as? [String: Any])?["name"] as? String == "Checkout Apdex")
                    }
                    let opened = try JSONSerialization.jsonObject(with: received[0].body) as? [String: Any]
                    #expect(opened?["summary"] as? String == "[WARNING] Checkout Apdex on shop: Apdex 0.00 over 2 min")
                }
            }
        }
    }

    /// Four channels notified at once: one answers, one hangs (held by the test), one is down and comes back,
    /// one is broken for good. The answering one is served while the hanging one still holds its request, the
    /// down one is retried after the backoff and delivered once, the broken one is given up after the last attempt.
    @Test func aChannelThatIsDownIsRetriedAndNoChannelWaitsForAnother() async throws {
        let good = WebhookReceiver()
        let hanging = WebhookReceiver()
        let down = WebhookReceiver()
        let broken = WebhookReceiver()
        hanging.set(.hang)
        down.set(.answer(503))
        broken.set(.answer(500))
        try await good.run {
            try await hanging.run {
                try await down.run {
                    try await broken.run {
                        try await Self.notifyFourChannels(good: good, hanging: hanging, down: down, broken: broken)
                    }
                }
            }
        }
    }

    static func notifyFourChannels(
        good: WebhookReceiver,
        hanging: WebhookReceiver,
        down: WebhookReceiver,
        broken: WebhookReceiver
    ) async throws {
        let store = try SQLiteStore()
        let configuration = Support.configuration {
            $0.alerts.retryBase = 30
            $0.alerts.maxAttempts = 2
            $0.alerts.timeout = .seconds(120)
        }
        let clock = Locked(Double(Self.start))
        try await TestCollector.run(configuration, on: store, now: clock.reader) { collector, _, _, _ in
            let account = try #require(try await store.accounts().first)
            var deliveries: [String: AlertDeliveryRecord] = [:]
            for (name, receiver) in [("good", good), ("hanging", hanging), ("down", down), ("broken", broken)] {
                let channel = try await store.createAlertChannel(
                    AlertChannelRecord(
                        accountID: account.id,
                        name: name,
                        kind: .webhook,
                        target: receiver.url,
                        secret: "k",
                        createdAt: Double(Self.start)
                    )
                )
                deliveries[name] = try await store.enqueueAlertDelivery(
                    AlertDeliveryRecord(
                        accountID: account.id,
                        channelID: channel.id,
                        incidentID: nil,
                        event: .test,
                        nextAttemptAt: Double(Self.start),
                        createdAt: Double(Self.start)
                    )
                )
            }
            let now = Double(Self.start)
            let round = Task { try await collector.alertNotifier.deliverDue(now: now) }
            // The answering channel is served while the hanging one still holds its request.
            #expect(await Self.eventually { good.received.count == 1 && hanging.received.count == 1 })
            #expect(good.received.count == 1)
            hanging.release()
            let first = Dictionary(uniqueKeysWithValues: try await round.value.map { ($0.channelID, $0) })
            func outcome(_ name: String) throws -> AlertDeliveryRecord {
                let channelID = try #require(deliveries[name]).channelID
                return try #require(first[channelID])
            }
            #expect(try outcome("good").deliveredAt == now)
            #expect(try outcome("hanging").deliveredAt == now)
            #expect(try outcome("down").deliveredAt == nil)
            #expect(try outcome("down").lastError == "HTTP 503")
            #expect(try outcome("down").nextAttemptAt == now + 30)
            #expect(try outcome("broken").gaveUpAt == nil)

            // Nothing is due before the backoff has passed.
            #expect(try await collector.alertNotifier.deliverDue(now: now + 29).isEmpty)
            down.set(.answer(200))
            let second = try await collector.alertNotifier.deliverDue(now: now + 30)
            #expect(second.count == 2)
            let downAgain = try #require(second.first { $0.id == deliveries["down"]?.id })
            #expect(downAgain.deliveredAt == now + 30 && downAgain.attempts == 2)
            let brokenAgain = try #require(second.first { $0.id == deliveries["broken"]?.id })
            #expect(brokenAgain.gaveUpAt == now + 30 && brokenAgain.lastError == "HTTP 500")
            #expect(try await collector.alertNotifier.deliverDue(now: now + 10_000).isEmpty)

            #expect(good.received.count == 1)
            #expect(hanging.received.count == 1)
            #expect(down.received.count == 2)
            #expect(broken.received.count == 2)
            // A test notification says what it is.
            let body = try JSONSerialization.jsonObject(with: try #require(good.received.first).body) as? [String: Any]
            #expect(body?["event"] as? String == "test")
        }
    }

    /// Polls until `condition` holds (at most 30 s).
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<3000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// `/metrics` has per-app gauges over the minute alert conditions saw last: 10 requests, 2 of them errors,
    /// 4 satisfied, 4 tolerating and 2 frustrated at T = 0.5 s.
    @Test func metricsHaveEachAppsFiguresOverTheLastCompleteMinute() async throws {
        let clock = Locked(Double(Self.start + 10 * 60 + 2 * 60 + 5))
        try await Support.withCollector(now: clock.reader) { collector, client, key in
            let durations = [0.1, 0.1, 0.1, 0.1, 0.8, 0.8, 0.8, 0.8, 3.0, 3.0]
            _ = try await Support.post(
                Support.batch(
                    minute: Self.start + 9 * 60,
                    metrics: [Support.metric("GET /a", durations: durations, errors: [0, 1])]
                ),
                key: key,
                client: client
            )
            #expect(collector.alertEvaluator.lastCompleteMinute(at: Int64(clock.withLock { $0 })) == Self.start + 600)
            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            // Errors are frustrated: S = 2 (of the 0.1 s ones), T = 4, F = 4 → (2 + 2) / 10.
            #expect(text.contains(#"apm_app_apdex_score{account="1",app="shop"} 0.4"#), "\(text)")
            #expect(text.contains(#"apm_app_requests_per_minute{account="1",app="shop"} 10"#))
            #expect(text.contains(#"apm_app_error_ratio{account="1",app="shop"} 0.2"#))
            // Percentiles come from the 1 % latency buckets, as everywhere.
            let p95Line = try #require(
                text.split(separator: "\n").first {
                    $0.hasPrefix(#"apm_app_response_time_p95_seconds{account="1",app="shop"}"#)
                }
            )
            let p95 = try #require(Double(p95Line.split(separator: " ").last ?? ""))
            #expect(abs(p95 - 3) <= 0.03, "\(p95)")
        }
    }

    /// Retention keeps open incidents and unsent notifications, and deletes the resolved and finished ones past
    /// `retention_days`.
    @Test(arguments: StoreBackend.available)
    func retentionDeletesOnlyFinishedAlertHistory(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let account = try await store.createAccount(name: "a")
            var incidentIDs: [Int64] = []
            for (index, resolved) in [Int64?.some(Self.start + 60), nil].enumerated() {
                let condition = try await store.createAlertCondition(
                    Self.condition(accountID: account.id, appID: 1, channels: [])
                )
                #expect(
                    try await store.applyAlertEvaluation(
                        AlertEvaluationWrite(
                            conditionID: condition.id,
                            previousEvaluatedThrough: nil,
                            state: AlertEvaluationState(evaluatedThrough: Self.start),
                            incident: AlertIncidentRecord(
                                accountID: account.id,
                                conditionID: condition.id,
                                appID: 1,
                                transaction: nil,
                                severity: .warning,
                                openedAt: Self.start - Int64(index),
                                openedValue: 0.5,
                                lastValue: 0.5
                            ),
                            event: nil,
                            now: Double(Self.start)
                        )
                    )
                )
                let incident = try #require(
                    try await store.alertIncidents(accountID: account.id, openOnly: true, limit: 10).first {
                        $0.conditionID == condition.id
                    }
                )
                incidentIDs.append(incident.id)
                if let resolved {
                    var closed = incident
                    closed.resolvedAt = resolved
                    #expect(
                        try await store.applyAlertEvaluation(
                            AlertEvaluationWrite(
                                conditionID: condition.id,
                                previousEvaluatedThrough: Self.start,
                                state: AlertEvaluationState(evaluatedThrough: Self.start + 60),
                                incident: closed,
                                event: nil,
                                now: Double(Self.start + 60)
                            )
                        )
                    )
                }
            }
            let channel = try await store.createAlertChannel(
                AlertChannelRecord(
                    accountID: account.id,
                    name: "c",
                    kind: .webhook,
                    target: "http://127.0.0.1:9/",
                    secret: "0123456789abcdef",
                    createdAt: Double(Self.start)
                )
            )
            var sent = try await store.enqueueAlertDelivery(
                AlertDeliveryRecord(
                    accountID: account.id,
                    channelID: channel.id,
                    incidentID: nil,
                    event: .test,
                    nextAttemptAt: Double(Self.start),
                    createdAt: Double(Self.start)
                )
            )
            sent.deliveredAt = Double(Self.start)
            sent.attempts = 1
            try await store.updateAlertDelivery(sent)
            _ = try await store.enqueueAlertDelivery(
                AlertDeliveryRecord(
                    accountID: account.id,
                    channelID: channel.id,
                    incidentID: nil,
                    event: .test,
                    nextAttemptAt: Double(Self.start),
                    createdAt: Double(Self.start)
                )
            )
            let report = try await store.applyRetention(
                minuteCutoff: Self.start + 3600,
                cutoff: Self.start + 3600,
                batchIDCutoff: 0
            )
            #expect(report.otherRowsDeleted == 2)
            let left = try await store.alertIncidents(accountID: account.id, openOnly: false, limit: 10)
            #expect(left.map(\.id) == [incidentIDs[1]])
            let deliveries = try await store.alertDeliveries(accountID: account.id, limit: 10)
            #expect(deliveries.count == 1 && deliveries.first?.deliveredAt == nil)
        }
    }
}
