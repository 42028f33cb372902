import APMCollector
import APMCollectorTestSupport
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct DashboardAlertsTests {
    typealias Support = CollectorTestSupport

    @Test func theAlertsPageCreatesConditionsAndChannelsOnlyWithTheCSRFTokenAndEscapesNames() async throws {
        // Nothing listens on port 9: the test notification fails after the (short) timeout.
        let configuration = Support.configuration { $0.alerts.timeout = .seconds(2) }
        try await Support.withCollector(configuration) { collector, client, key in
            _ = try await Support.post(
                Support.batch(
                    app: "<b>shop</b>",
                    minute: Support.currentMinute(),
                    metrics: [Support.metric("GET /a", durations: [0.1])]
                ),
                key: key,
                client: client
            )
            let account = try #require(try await collector.store.accounts().first)
            let password = try #require(try await collector.resetPassword(user: "admin", accountID: account.id))
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            func page() async throws -> String {
                try await client.execute(uri: "/apps/1/alerts", method: .get, headers: [.cookie: session]) {
                    #expect($0.status == .ok)
                    return String(buffer: $0.body)
                }
            }
            let first = try await page()
            let marker = try #require(first.range(of: "name=\"csrf\" value=\""))
            let csrf = String(first[marker.upperBound...].prefix { $0 != "\"" })
            #expect(first.contains("&lt;b&gt;shop&lt;/b&gt;: alerts"))
            #expect(!first.contains("<b>shop</b>"))
            let form: HTTPFields = [.cookie: session, .contentType: "application/x-www-form-urlencoded"]
            func post(_ path: String, _ body: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: path, method: .post, headers: form, body: ByteBuffer(string: body)) {
                    ($0.status, String(buffer: $0.body))
                }
            }
            // Without the token nothing happens.
            let forged = try await post(
                "/apps/1/alerts/channels",
                "name=x&kind=webhook&url=http%3A%2F%2F127.0.0.1%3A9%2F"
            )
            #expect(forged.0 == .forbidden)
            #expect(try await collector.store.alertChannels(accountID: account.id).isEmpty)

            let channel = try await post(
                "/apps/1/alerts/channels",
                "name=%3Cscript%3Eops&kind=webhook&url=http%3A%2F%2F127.0.0.1%3A9%2Fhook&csrf=\(csrf)"
            )
            #expect(channel.0 == .ok)
            #expect(channel.1.contains("signing secret (shown only once)"))
            #expect(channel.1.contains("&lt;script&gt;ops"))
            #expect(!channel.1.contains("<script>ops"))
            let channelID = try #require(try await collector.store.alertChannels(accountID: account.id).first?.id)

            let refused = try await post(
                "/apps/1/alerts/conditions",
                "name=Apdex&metric=apdex&warning=0.7&critical=0.9&channel_\(channelID)=on&csrf=\(csrf)"
            )
            #expect(refused.0 == .badRequest)
            #expect(refused.1.contains("critical: must not be above warning"))
            let created = try await post(
                "/apps/1/alerts/conditions",
                "name=Apdex&metric=apdex&warning=0.9&critical=0.7&window_minutes=3&for_evaluations=2&min_requests=5&channel_\(channelID)=on&csrf=\(csrf)"
            )
            #expect(created.0 == .ok)
            let condition = try #require(try await collector.store.alertConditions(accountID: account.id).first)
            #expect(condition.metric == .apdex && condition.warning == 0.9 && condition.critical == 0.7)
            #expect(condition.windowMinutes == 3 && condition.forEvaluations == 2 && condition.minRequests == 5)
            #expect(condition.channelIDs == [channelID])
            #expect(try await page().contains("3 min × 2"))

            // An open incident is a band on the overview's charts and an Acknowledge button on the alerts page.
            let minute = Support.currentMinute()
            #expect(
                try await collector.store.applyAlertEvaluation(
                    AlertEvaluationWrite(
                        conditionID: condition.id,
                        previousEvaluatedThrough: nil,
                        state: AlertEvaluationState(evaluatedThrough: minute, criticalStreak: 1, okStreak: 0),
                        incident: AlertIncidentRecord(
                            accountID: account.id,
                            conditionID: condition.id,
                            appID: 1,
                            transaction: nil,
                            severity: .critical,
                            openedAt: minute - 600,
                            openedValue: 0.4,
                            lastValue: 0.4
                        ),
                        event: nil,
                        now: Double(minute)
                    )
                )
            )
            let overview = try await client.execute(uri: "/apps/1", method: .get, headers: [.cookie: session]) {
                String(buffer: $0.body)
            }
            #expect(overview.contains("data-incident=\"#1 critical (open)\""))
            let incidentID = try #require(
                try await collector.store.alertIncidents(accountID: account.id, openOnly: true, limit: 1).first?.id
            )
            let acknowledged = try await post("/apps/1/alerts/incidents/\(incidentID)/acknowledge", "csrf=\(csrf)")
            #expect(acknowledged.1.contains("acknowledged by admin"))

            let test = try await post("/apps/1/alerts/channels/\(channelID)/test", "csrf=\(csrf)")
            #expect(test.1.contains("Test notification failed"))
            #expect(test.1.contains("Latest notifications"))
            let deleted = try await post("/apps/1/alerts/conditions/\(condition.id)/delete", "csrf=\(csrf)")
            #expect(deleted.0 == .ok)
            #expect(try await collector.store.alertConditions(accountID: account.id).isEmpty)
        }
    }
}
