import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import APMCollector

/// Notifications never reach inside the collector's network unless an operator allows it: every spelling of an
/// internal address is refused after resolution, at creation and at delivery; redirects are not followed; an
/// allowed destination works. And what channels show: Slack text escaped, URLs redacted for read tokens, caps.
@Suite struct AlertDestinationTests {
    typealias Support = CollectorTestSupport

    static let internalURLs = [
        "http://127.0.0.1:7070/api/v1/keys", "http://localhost/hook", "http://[::1]/", "http://0x7f000001/",
        "http://2130706433/", "http://0177.0.0.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://172.20.0.1/", "http://192.168.1.1/",
        "http://100.64.0.1/", "http://[fd00::1]/", "http://[fe80::1]/", "http://0.0.0.0/", "http://224.0.0.1/",
    ]

    @Test(arguments: internalURLs) func anInternalAddressIsRefusedInEverySpelling(url: String) async throws {
        let error = await #expect(throws: AlertDeliveryFailure.self) {
            _ = try await AlertDestinationPolicy().check(url: url)
        }
        #expect(error?.reason.contains("refused") == true, "\(url): \(error?.reason ?? "")")
        #expect(error?.reason.contains("alert_allowed_destinations") == true)
    }

    @Test func allowedHostsAddressesAndBlocksPassAndPublicAddressesAlways() async throws {
        let policy = AlertDestinationPolicy(allowed: ["127.0.0.1", "10.0.0.0/8", "localhost"])
        #expect(try await policy.check(url: "http://127.0.0.1:9/hook").address == "127.0.0.1")
        #expect(try await policy.check(url: "http://10.200.1.1/").address == "10.200.1.1")
        #expect(try await policy.check(url: "http://localhost:9/").host == "localhost")
        await #expect(throws: AlertDeliveryFailure.self) { _ = try await policy.check(url: "http://127.0.0.2/") }
        await #expect(throws: AlertDeliveryFailure.self) { _ = try await policy.check(url: "http://192.168.0.1/") }
        // A public address needs no allowing (a literal, so no DNS is needed here).
        #expect(try await AlertDestinationPolicy().check(url: "https://93.184.216.34/hook").address == "93.184.216.34")
    }

    @Test func aChannelToAnInternalAddressIsRefusedWhenCreatedAndWhenDelivered() async throws {
        let receiver = WebhookReceiver()
        try await receiver.run {
            let closed = Support.configuration { $0.alerts.allowedDestinations = [] }
            try await Support.withCollector(closed) { collector, client, key in
                for url in [receiver.url, "http://2130706433:\(receiver.port ?? 0)/hook"] {
                    let refused = try await AlertAPITests.send(
                        .post,
                        "/api/v1/alerts/channels",
                        ["name": "inside", "kind": "webhook", "url": url],
                        key: key,
                        client: client
                    )
                    #expect(refused.status == .badRequest)
                    #expect(((refused.json["error"] as? [String: Any])?["field"] as? String) == "url")
                    #expect(
                        ((refused.json["error"] as? [String: Any])?["message"] as? String)?.contains("loopback") == true
                    )
                }
                // A channel stored before the rule (or whose name resolves inside only later) is refused at
                // delivery: the address is checked again each time.
                let account = try #require(try await collector.store.accounts().first)
                let channel = try await collector.store.createAlertChannel(
                    AlertChannelRecord(
                        accountID: account.id,
                        name: "old",
                        kind: .webhook,
                        target: receiver.url,
                        secret: String(repeating: "s", count: 32),
                        createdAt: 0
                    )
                )
                let test = try await AlertAPITests.send(
                    .post,
                    "/api/v1/alerts/channels/\(channel.id)/test",
                    key: key,
                    client: client
                )
                #expect((test.json["last_error"] as? String)?.contains("refused") == true, "\(test.json)")
                #expect(receiver.received.isEmpty)
            }
        }
    }

    /// Allowed (as the tests' receivers are) and still never redirected: a 307 to another internal port is a
    /// failed delivery, and the port it points to gets nothing.
    @Test func aRedirectIsNotFollowed() async throws {
        let first = WebhookReceiver()
        let second = WebhookReceiver()
        try await first.run {
            try await second.run {
                first.set(.redirect(second.url))
                try await Support.withCollector { _, client, key in
                    let channel = try await AlertAPITests.send(
                        .post,
                        "/api/v1/alerts/channels",
                        ["name": "hook", "kind": "webhook", "url": first.url],
                        key: key,
                        client: client
                    )
                    let id = try #require((channel.json["id"] as? NSNumber)?.int64Value)
                    let test = try await AlertAPITests.send(
                        .post,
                        "/api/v1/alerts/channels/\(id)/test",
                        key: key,
                        client: client
                    )
                    #expect(test.json["status"] as? String != "delivered")
                    #expect((test.json["last_error"] as? String)?.contains("307") == true, "\(test.json)")
                    #expect(first.received.count == 1)
                    #expect(second.received.isEmpty)
                }
            }
        }
    }

    /// Before: "connection reset (error set): Connection refused) (errno: 111)".
    @Test func aRefusedDeliverySaysSoInWords() async throws {
        try await Support.withCollector { _, client, key in
            let port = LoopbackPort.free()
            let channel = try await AlertAPITests.send(
                .post,
                "/api/v1/alerts/channels",
                ["name": "down", "kind": "webhook", "url": "http://127.0.0.1:\(port)/hook"],
                key: key,
                client: client
            )
            let id = try #require((channel.json["id"] as? NSNumber)?.int64Value)
            let test = try await AlertAPITests.send(
                .post,
                "/api/v1/alerts/channels/\(id)/test",
                key: key,
                client: client
            )
            #expect(test.json["last_error"] as? String == "connection refused: nothing listens at 127.0.0.1:\(port)")
        }
    }

    @Test func slackTextEscapesWhatCameFromOutside() throws {
        let app = StoredApp(
            id: 1,
            accountID: 1,
            name: "<!channel> <https://evil.example|Open the alerts page> & co",
            apdexT: 0.5,
            transactionApdexT: [:],
            createdAt: 0,
            lastSeenAt: 0,
            language: "swift",
            agentVersion: "1"
        )
        let incident = AlertIncidentRecord(
            id: 3,
            accountID: 1,
            conditionID: 2,
            appID: 1,
            transaction: "GET /<b>",
            severity: .critical,
            openedAt: 600,
            openedValue: 0.4,
            lastValue: 0.4
        )
        let message = try AlertMessage.build(
            delivery: AlertDeliveryRecord(
                id: 9,
                accountID: 1,
                channelID: 1,
                incidentID: 3,
                event: .opened,
                nextAttemptAt: 0,
                createdAt: 0
            ),
            channel: AlertChannelRecord(
                accountID: 1,
                name: "team",
                kind: .slack,
                target: "https://hooks.slack.com/services/T/B/X",
                secret: "",
                createdAt: 0
            ),
            incident: incident,
            condition: nil,
            app: app,
            dashboardURL: "https://apm.example.com",
            timestamp: 600
        )
        let json = try JSONSerialization.jsonObject(with: message.body) as? [String: String]
        let body = try #require(json?["text"])
        #expect(!body.contains("<!channel>"))
        #expect(!body.contains("<https://evil.example"))
        #expect(body.contains("&lt;!channel&gt; &lt;https://evil.example|Open the alerts page&gt; &amp; co"))
        // The collector's own link stays a link.
        #expect(body.hasSuffix("<https://apm.example.com/alerts|open the alerts page>"))
    }

    /// docs/alerts.md shows every key, `null` when empty; before, empty ones were left out.
    @Test func webhookPayloadsCarryEveryDocumentedKey() throws {
        let message = try AlertMessage.build(
            delivery: AlertDeliveryRecord(
                id: 9,
                accountID: 1,
                channelID: 1,
                incidentID: nil,
                event: .test,
                nextAttemptAt: 0,
                createdAt: 0
            ),
            channel: AlertChannelRecord(
                accountID: 1,
                name: "ops",
                kind: .webhook,
                target: "https://h.example/x",
                secret: "s",
                createdAt: 0
            ),
            incident: AlertIncidentRecord(
                id: 3,
                accountID: 1,
                conditionID: 2,
                appID: 1,
                transaction: nil,
                severity: .warning,
                openedAt: 600,
                openedValue: 0.6,
                lastValue: 0.6
            ),
            condition: nil,
            app: nil,
            dashboardURL: "",
            timestamp: 600
        )
        let json = try #require(try JSONSerialization.jsonObject(with: message.body) as? [String: Any])
        for key in ["delivery_id", "event", "summary", "app", "transaction", "condition", "incident"] {
            #expect(json.keys.contains(key), "\(key) missing")
        }
        let incident = try #require(json["incident"] as? [String: Any])
        for key in ["escalated_at", "resolved_at", "resolved_value", "url"] {
            #expect(incident[key] is NSNull, "incident.\(key) is not null")
        }
    }

    @Test func readTokensSeeChannelURLsRedactedAndAdminsWhole() async throws {
        try await Support.withCollector { collector, client, key in
            let url = "https://user:secret@hooks.example.com:8443/services/T000/B000/XXXX?token=abc"
            let created = try await AlertAPITests.send(
                .post,
                "/api/v1/alerts/channels",
                ["name": "slack", "kind": "slack", "url": url],
                key: key,
                client: client
            )
            #expect(created.status == .created)
            let admin = try await AlertAPITests.send(.get, "/api/v1/alerts/channels", key: key, client: client)
            #expect((admin.json["channels"] as? [[String: Any]])?.first?["url"] as? String == url)
            let account = try #require(try await collector.store.accounts().first)
            let read = try await collector.createCredential(
                .apiToken,
                accountID: account.id,
                name: "viewer",
                scope: .read
            ).secret
            try await client.execute(
                uri: "/api/v1/alerts/channels",
                method: .get,
                headers: [.authorization: "Bearer \(read)"]
            ) { response in
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                let shown = ((json as? [String: Any])?["channels"] as? [[String: Any]])?.first?["url"] as? String
                #expect(shown == "https://hooks.example.com/…")
            }
        }
    }

    @Test func channelsAndConditionsAreCappedPerAccount() async throws {
        try await Support.withCollector { collector, client, key in
            let account = try #require(try await collector.store.accounts().first)
            for index in 0..<AlertAdministration.maxChannels {
                _ = try await collector.store.createAlertChannel(
                    AlertChannelRecord(
                        accountID: account.id,
                        name: "c\(index)",
                        kind: .webhook,
                        target: "https://hooks.example.com/\(index)",
                        secret: String(repeating: "s", count: 32),
                        createdAt: 0
                    )
                )
            }
            let refused = try await AlertAPITests.send(
                .post,
                "/api/v1/alerts/channels",
                ["name": "one more", "kind": "webhook", "url": "https://hooks.example.com/x"],
                key: key,
                client: client
            )
            #expect(refused.status == .unprocessableContent)
            #expect(
                ((refused.json["error"] as? [String: Any])?["message"] as? String)?.contains("100 alert channels")
                    == true
            )

            _ = try await Support.post(
                Support.batch(minute: Support.currentMinute(), metrics: [Support.metric("GET /", durations: [0.1])]),
                key: key,
                client: client
            )
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            for index in 0..<AlertAdministration.maxConditions {
                _ = try await collector.store.createAlertCondition(
                    AlertConditionRecord(
                        accountID: account.id,
                        appID: app.id,
                        transaction: nil,
                        name: "c\(index)",
                        metric: .apdex,
                        windowMinutes: 5,
                        warning: nil,
                        critical: 0.5,
                        forEvaluations: 1,
                        minRequests: 10,
                        channelIDs: [],
                        createdAt: 0
                    )
                )
            }
            let tooMany = try await AlertAPITests.send(
                .post,
                "/api/v1/alerts/conditions",
                ["app_id": app.id, "name": "one more", "metric": "apdex", "critical": 0.5],
                key: key,
                client: client
            )
            #expect(tooMany.status == .unprocessableContent)
            #expect(
                ((tooMany.json["error"] as? [String: Any])?["message"] as? String)?.contains("1000 alert conditions")
                    == true
            )
        }
    }
}
