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

            // Refused: back to the page (303, so that a reload does not post again) with what was typed kept, and the
            // reason found again from it (before: a 400 on the POST address with an empty form).
            let location = try await client.execute(
                uri: "/apps/1/alerts/conditions",
                method: .post,
                headers: form,
                body: ByteBuffer(
                    string:
                        "name=Apdex%20%3Cb%3E&metric=apdex&warning=0.7&critical=0.9&window_minutes=7&channel_\(channelID)=on&csrf=\(csrf)"
                )
            ) { response in
                #expect(response.status == .seeOther)
                return response.headers[.location] ?? ""
            }
            #expect(location.hasPrefix("/apps/1/alerts?refused=condition&"))
            let back = try await client.execute(uri: location, method: .get, headers: [.cookie: session]) {
                String(buffer: $0.body)
            }
            #expect(back.contains("Condition not created: critical: must not be above warning"))
            #expect(back.contains("name=\"name\" placeholder=\"name\" value=\"Apdex &lt;b&gt;\""))
            #expect(back.contains("value=\"0.7\"") && back.contains("value=\"0.9\"") && back.contains("value=\"7\""))
            #expect(back.contains("<option value=\"apdex\" selected>"))
            #expect(back.contains("name=\"channel_\(channelID)\" checked"))
            // The reason comes from the collector, never from the address.
            let crafted = try await client.execute(
                uri:
                    "/apps/1/alerts?refused=condition&name=ok&metric=apdex&warning=0.9&critical=0.7&notice=Send%20money",
                method: .get,
                headers: [.cookie: session]
            ) { String(buffer: $0.body) }
            #expect(!crafted.contains("Send money") && !crafted.contains("not created"))
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
            let opened = String(DashboardRangeTests.formatted(minute - 600).suffix(5))
            #expect(overview.contains("data-incident=\"#1 critical: opened at \(opened) (open)\""))
            // The band covers the data that breached: the first of the 2 bad 3-minute windows began 4 minutes
            // before the incident opened (before: the band began when it opened, after the dip).
            let series = try await Support.get(
                APISeries.self,
                "/api/v1/apps/1/series?since=1h",
                key: key,
                client: client
            )
            #expect(series.incidents.first?.breachFrom == minute - 600 - 240)
            #expect(series.incidents.first?.breachTo == nil)
            // The chart's legend names the band.
            #expect(overview.contains("alert incident"))
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
