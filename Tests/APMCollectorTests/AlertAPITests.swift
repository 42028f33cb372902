import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct AlertAPITests {
    typealias Support = CollectorTestSupport

    /// Sends JSON with the admin token; returns the status and the decoded body.
    static func send(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ body: [String: Any]? = nil,
        key: String,
        client: any TestClientProtocol
    ) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await client.execute(
            uri: path,
            method: method,
            headers: [.authorization: "Bearer \(TestCollector.token(for: key))", .contentType: "application/json"],
            body: data.map { ByteBuffer(bytes: $0) }
        ) { response in
            let json =
                (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
            return (response.status, json ?? [:])
        }
    }

    @Test func badConditionsAndChannelsGetA400NamingTheFieldAndWhatIsAllowed() async throws {
        try await Support.withCollector { _, client, key in
            _ = try await Support.post(
                Support.batch(minute: Support.currentMinute(), metrics: [Support.metric("GET /", durations: [0.1])]),
                key: key,
                client: client
            )
            let apps = try await Self.send(.get, "/api/v1/apps", key: key, client: client)
            let appID = try #require(((apps.json["apps"] as? [[String: Any]])?.first?["id"] as? NSNumber)?.int64Value)
            let valid: [String: Any] = [
                "app_id": appID, "name": "Apdex", "metric": "apdex", "warning": 0.9, "critical": 0.7,
            ]
            let cases: [(change: [String: Any], field: String, says: String)] = [
                (["metric": "latency"], "metric", "must be one of apdex, error_rate, average_response_time"),
                (["window_minutes": 0], "window_minutes", "from 1 to 60"),
                (["window_minutes": 61], "window_minutes", "from 1 to 60"),
                (["for_evaluations": 0], "for_evaluations", "from 1 to 60"),
                (["min_requests": -1], "min_requests", "from 0 to 1000000"),
                (["warning": 1.5], "warning", "an Apdex score from 0 to 1"),
                (["critical": 0.95], "critical", "must not be above warning"),
                (["app_id": 999_999], "app_id", "no app with id 999999"),
                (["name": ""], "name", "1 to 100 characters"),
                (["channels": [42]], "channels", "no channel with id 42"),
                (["metric": "no_data"], "warning", "no_data has no thresholds"),
                (["metric": "p95_response_time", "warning": 0, "critical": 2], "warning", "seconds from 0.001"),
                (["metric": "error_rate", "warning": 0.1, "critical": 0.05], "critical", "must not be below warning"),
                (
                    ["metric": "metric_above", "warning": 0.7, "critical": 0.9], "metric_name",
                    "is required: the stored metric to watch"
                ),
                (
                    ["metric": "metric_below", "metric_name": "system.cpu.utilization", "metric_filter": "idle"],
                    "metric_filter", "must be key=value"
                ),
                (["metric_name": "system.cpu.utilization"], "metric_name", "only metric_above and metric_below"),
            ]
            for (change, field, says) in cases {
                let body = valid.merging(change) { $1 }
                let reply = try await Self.send(.post, "/api/v1/alerts/conditions", body, key: key, client: client)
                #expect(reply.status == .badRequest, "\(change)")
                let error = reply.json["error"] as? [String: Any]
                #expect(error?["field"] as? String == field, "\(change): \(reply.json)")
                let message = error?["message"] as? String ?? ""
                #expect(message.contains(says), "\(change): \(reply.json)")
            }
            let missing = try await Self.send(
                .post,
                "/api/v1/alerts/conditions",
                ["app_id": appID, "name": "x", "metric": "apdex"],
                key: key,
                client: client
            )
            #expect(missing.status == .badRequest)
            #expect((missing.json["error"] as? [String: Any])?["field"] as? String == "critical")

            let channelCases: [(body: [String: Any], field: String)] = [
                (["name": "x", "kind": "pager", "url": "https://example.com/hook"], "kind"),
                (["name": "x", "kind": "email", "url": "https://example.com/hook"], "kind"),
                (["name": "x", "kind": "webhook", "url": "ftp://example.com"], "url"),
                (["name": "x", "kind": "webhook", "url": "https://example.com", "secret": "short"], "secret"),
                (["kind": "webhook", "url": "https://example.com"], "name"),
            ]
            for (body, field) in channelCases {
                let reply = try await Self.send(.post, "/api/v1/alerts/channels", body, key: key, client: client)
                #expect(reply.status == .badRequest, "\(body)")
                #expect((reply.json["error"] as? [String: Any])?["field"] as? String == field, "\(reply.json)")
            }
            // Nothing was stored.
            let conditions = try await Self.send(.get, "/api/v1/alerts/conditions", key: key, client: client)
            #expect((conditions.json["conditions"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func conditionsChannelsTestNotificationsAndIncidentsThroughTheAPI() async throws {
        let receiver = WebhookReceiver()
        try await receiver.run {
            try await Support.withCollector { _, client, key in
                _ = try await Support.post(
                    Support.batch(
                        minute: Support.currentMinute(),
                        metrics: [Support.metric("GET /", durations: [0.1])]
                    ),
                    key: key,
                    client: client
                )
                let apps = try await Self.send(.get, "/api/v1/apps", key: key, client: client)
                let appID = try #require(
                    ((apps.json["apps"] as? [[String: Any]])?.first?["id"] as? NSNumber)?.int64Value
                )
                let channel = try await Self.send(
                    .post,
                    "/api/v1/alerts/channels",
                    ["name": "ops", "kind": "webhook", "url": receiver.url],
                    key: key,
                    client: client
                )
                #expect(channel.status == .created)
                let channelID = try #require((channel.json["id"] as? NSNumber)?.int64Value)
                let secret = try #require(channel.json["secret"] as? String)
                #expect(secret.count == 48)
                // The secret is shown once.
                let channels = try await Self.send(.get, "/api/v1/alerts/channels", key: key, client: client)
                #expect((channels.json["channels"] as? [[String: Any]])?.first?["secret"] == nil)

                let test = try await Self.send(
                    .post,
                    "/api/v1/alerts/channels/\(channelID)/test",
                    key: key,
                    client: client
                )
                #expect(test.status == .ok)
                #expect(test.json["status"] as? String == "delivered")
                let request = try #require(receiver.received.first)
                let timestamp = try #require(Int64(request.headers["x-apm-timestamp"] ?? ""))
                #expect(
                    request.headers["x-apm-signature"]
                        == AlertMessage.signature(secret: secret, timestamp: timestamp, body: request.body)
                )

                // A Slack channel gets Slack's shape: one text.
                let slack = try await Self.send(
                    .post,
                    "/api/v1/alerts/channels",
                    ["name": "team", "kind": "slack", "url": receiver.url],
                    key: key,
                    client: client
                )
                #expect(slack.json["secret"] == nil)
                let slackID = try #require((slack.json["id"] as? NSNumber)?.int64Value)
                let slackTest = try await Self.send(
                    .post,
                    "/api/v1/alerts/channels/\(slackID)/test",
                    key: key,
                    client: client
                )
                #expect(slackTest.json["status"] as? String == "delivered")
                let slackBody = try #require(receiver.received.last).body
                #expect(
                    try JSONSerialization.jsonObject(with: slackBody) as? [String: String]
                        == ["text": "swift-apm test notification: this channel works"]
                )

                let condition = try await Self.send(
                    .post,
                    "/api/v1/alerts/conditions",
                    [
                        "app_id": appID, "name": "Slow", "metric": "p95_response_time", "critical": 0.5,
                        "channels": [channelID], "window_minutes": 10,
                    ],
                    key: key,
                    client: client
                )
                #expect(condition.status == .created)
                #expect(condition.json["min_requests"] as? Int == 10)
                #expect(condition.json["for_evaluations"] as? Int == 1)
                #expect(condition.json["window_minutes"] as? Int == 10)
                let conditionID = try #require((condition.json["id"] as? NSNumber)?.int64Value)

                let deliveries = try await Self.send(.get, "/api/v1/alerts/deliveries", key: key, client: client)
                #expect((deliveries.json["deliveries"] as? [[String: Any]])?.first?["event"] as? String == "test")
                let incidents = try await Self.send(
                    .get,
                    "/api/v1/alerts/incidents?state=open",
                    key: key,
                    client: client
                )
                #expect((incidents.json["incidents"] as? [Any])?.isEmpty == true)
                let badState = try await Self.send(
                    .get,
                    "/api/v1/alerts/incidents?state=closed",
                    key: key,
                    client: client
                )
                #expect(badState.status == .badRequest)
                let unknown = try await Self.send(
                    .post,
                    "/api/v1/alerts/incidents/12345/acknowledge",
                    key: key,
                    client: client
                )
                #expect(unknown.status == .notFound)

                // Deleting the channel takes it off the condition.
                #expect(
                    try await Self.send(.delete, "/api/v1/alerts/channels/\(channelID)", key: key, client: client)
                        .status == .noContent
                )
                let after = try await Self.send(.get, "/api/v1/alerts/conditions", key: key, client: client)
                #expect((after.json["conditions"] as? [[String: Any]])?.first?["channels"] as? [Int] == [])
                #expect(
                    try await Self.send(.delete, "/api/v1/alerts/conditions/\(conditionID)", key: key, client: client)
                        .status == .noContent
                )
                #expect(
                    try await Self.send(.delete, "/api/v1/alerts/conditions/\(conditionID)", key: key, client: client)
                        .status == .notFound
                )
            }
        }
    }

    /// Email through libcurl to a real SMTP server started by the test: a test notification arrives as mail; with
    /// STARTTLS required (the default) and a server that does not offer it, nothing is sent and the error says so.
    @Test func emailChannelsSendMailOverSMTPAndRequireSTARTTLSByDefault() async throws {
        let sink = try SMTPSink()
        defer { sink.stop() }
        // Without a mail server an email channel is refused.
        try await Support.withCollector { _, client, key in
            let refused = try await Self.send(
                .post,
                "/api/v1/alerts/channels",
                ["name": "mail", "kind": "email", "address": "ops@example.com"],
                key: key,
                client: client
            )
            #expect(refused.status == .badRequest)
            let message = (refused.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("smtp_url"))
        }
        for tls in [AlertSettings.SMTP.TLS.none, .required] {
            let configuration = Support.configuration {
                $0.alerts.smtp = AlertSettings.SMTP(
                    url: "smtp://127.0.0.1:\(sink.port)",
                    from: "apm@example.com",
                    tls: tls
                )
                $0.alerts.timeout = .seconds(5)
            }
            try await Support.withCollector(configuration) { _, client, key in
                let badAddress = try await Self.send(
                    .post,
                    "/api/v1/alerts/channels",
                    ["name": "mail", "kind": "email", "address": "ops@example.com\r\nBcc: x@evil.test"],
                    key: key,
                    client: client
                )
                #expect(badAddress.status == .badRequest)
                #expect((badAddress.json["error"] as? [String: Any])?["field"] as? String == "address")
                let channel = try await Self.send(
                    .post,
                    "/api/v1/alerts/channels",
                    ["name": "mail", "kind": "email", "address": "ops@example.com"],
                    key: key,
                    client: client
                )
                #expect(channel.status == .created)
                #expect(channel.json["url"] as? String == "ops@example.com")
                let id = try #require((channel.json["id"] as? NSNumber)?.int64Value)
                let test = try await Self.send(.post, "/api/v1/alerts/channels/\(id)/test", key: key, client: client)
                switch tls {
                case .none:
                    #expect(test.json["status"] as? String == "delivered", "\(test.json)")
                    let mail = try #require(sink.messages.last)
                    #expect(mail.from == "<apm@example.com>")
                    #expect(mail.recipients == ["<ops@example.com>"])
                    #expect(mail.data.contains("Subject: swift-apm test notification: this channel works"))
                    #expect(mail.data.contains("To: <ops@example.com>"))
                default:
                    #expect(test.json["status"] as? String == "retrying", "\(test.json)")
                    let error = test.json["last_error"] as? String ?? ""
                    #expect(error.hasPrefix("SMTP: "), "\(error)")
                    #expect(sink.messages.count == 1, "nothing was sent without STARTTLS")
                }
            }
        }
    }
}
