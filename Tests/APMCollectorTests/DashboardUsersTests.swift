import APMCollector
import APMCollectorTestSupport
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Users with roles: a viewer reads every page and changes nothing (no forms shown, a posted form refused, channel
/// URLs redacted); a change of role applies to live sessions; a removed user's sessions end at once; the last
/// admin stays. Before: one user, `admin`, and keys, tokens and users under one app's page.
@Suite struct DashboardUsersTests {
    typealias Support = CollectorTestSupport

    static func csrf(_ client: any TestClientProtocol, _ session: String, _ path: String) async throws -> String {
        try await client.execute(uri: path, method: .get, headers: [.cookie: session]) { response -> String in
            let body = String(buffer: response.body)
            let marker = try #require(body.range(of: "name=\"csrf\" value=\""))
            return String(body[marker.upperBound...].prefix { $0 != "\"" })
        }
    }

    @Test(arguments: StoreBackend.available)
    func aViewerReadsEverythingChangesNothingAndLosesTheSessionWhenRemoved(backend: StoreBackend) async throws {
        try await Support.withCollector(backend: backend) { collector, client, key in
            let batch = Support.batch(
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /a", durations: [0.1])]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let account = try #require(try await collector.store.accounts().first)
            let adminPassword = try #require(try await collector.resetPassword(user: "admin", accountID: account.id))
            let admin = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: adminPassword).session
            )
            let adminCSRF = try await Self.csrf(client, admin, "/settings")
            func post(_ session: String, _ path: String, _ body: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: path,
                    method: .post,
                    headers: [.cookie: session, .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: body)
                ) { ($0.status, String(buffer: $0.body)) }
            }
            func get(_ session: String, _ path: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: path, method: .get, headers: [.cookie: session]) {
                    ($0.status, String(buffer: $0.body))
                }
            }
            // A Slack channel, whose URL is a credential.
            let slack = "https://hooks.slack.com/services/T000/B000/secretpart"
            _ = try await post(
                admin,
                "/apps/1/alerts/channels",
                "name=ops&kind=slack&url=\(percentEncodedQuery(slack))&csrf=\(adminCSRF)"
            )
            #expect(try await collector.store.alertChannels(accountID: account.id).count == 1)

            let added = try await post(admin, "/settings/users", "name=alice&role=viewer&csrf=\(adminCSRF)")
            #expect(added.0 == .ok)
            let marker = try #require(added.1.range(of: "Added viewer alice; password (shown only once): "))
            let password = String(added.1[marker.upperBound...].prefix { $0.isLetter || $0.isNumber })
            #expect(added.1.contains("<tr data-user=\"alice\"><td>alice</td><td data-figure=\"role\">viewer</td>"))
            let alice = try #require(try await DashboardTests.signIn(client, name: "alice", password: password).session)

            // Every page reads; no form is offered; the channel URL shows only its host.
            for path in ["/apps", "/apps/1", "/apps/1/errors", "/apps/1/deployments", "/apps/1/settings", "/settings"] {
                let page = try await get(alice, path)
                #expect(page.0 == .ok, "\(path)")
                #expect(
                    !page.1.contains("<form method=\"post\" action=\"/settings") && !page.1.contains("settings/apdex"),
                    "\(path)"
                )
            }
            #expect(try await get(alice, "/settings").1.contains("You are a viewer"))
            let alerts = try await get(alice, "/apps/1/alerts")
            #expect(alerts.0 == .ok)
            #expect(!alerts.1.contains("secretpart") && alerts.1.contains("hooks.slack.com"))
            #expect(!alerts.1.contains("<form method=\"post\" action=\"/apps/1/alerts"))
            #expect(try await get(admin, "/apps/1/alerts").1.contains("secretpart"))

            // A posted form is refused, whatever the page showed.
            let aliceCSRF = try await Self.csrf(client, alice, "/apps/1")
            for (path, body) in [
                ("/apps/1/settings/apdex", "t=3"), ("/settings/keys", "name=x"),
                ("/settings/users", "name=mallory&role=admin"),
                ("/settings/users/alice/role", "role=admin"),
                ("/apps/1/alerts/conditions", "name=x&metric=apdex&warning=0.9"),
            ] {
                let refused = try await post(alice, path, "\(body)&csrf=\(aliceCSRF)")
                #expect(refused.0 == .forbidden, "\(path)")
                #expect(refused.1.contains("alice is a viewer"), "\(path)")
            }
            #expect(try await collector.store.app(accountID: account.id, id: 1)?.apdexT == 0.5)
            #expect(try await collector.store.user(named: "mallory") == nil)
            #expect(try await collector.store.credentials(.licenseKey, accountID: account.id).count == 1)

            // Made admin: the same session may change things at once.
            #expect(
                try await post(admin, "/settings/users/alice/role", "role=admin&csrf=\(adminCSRF)").1.contains(
                    "alice is now an admin"
                )
            )
            #expect(try await post(alice, "/apps/1/settings/apdex", "t=0.7&csrf=\(aliceCSRF)").0 == .seeOther)
            #expect(try await collector.store.app(accountID: account.id, id: 1)?.apdexT == 0.7)

            // Removed: the session ends at once.
            let removed = try await post(admin, "/settings/users/alice/remove", "csrf=\(adminCSRF)")
            #expect(removed.1.contains("Removed alice; the user&#39;s sessions have ended."))
            try await client.execute(uri: "/apps", method: .get, headers: [.cookie: alice]) {
                #expect($0.status == .seeOther)
                #expect($0.headers[.location] == "/login")
            }
            #expect(try await DashboardTests.signIn(client, name: "alice", password: password).session == nil)

            // Refusals that say why: the last admin, a name taken, a bad name or role.
            let last = try await post(admin, "/settings/users/admin/remove", "csrf=\(adminCSRF)")
            #expect(last.0 == .conflict && last.1.contains("admin is the account&#39;s only admin"))
            #expect(try await post(admin, "/settings/users/admin/role", "role=viewer&csrf=\(adminCSRF)").0 == .conflict)
            #expect(try await post(admin, "/settings/users", "name=admin&role=viewer&csrf=\(adminCSRF)").0 == .conflict)
            let badName = try await post(admin, "/settings/users", "name=a%20b&role=viewer&csrf=\(adminCSRF)")
            #expect(badName.0 == .badRequest && badName.1.contains("name: must be 1 to 64 letters"))
            let badRole = try await post(admin, "/settings/users", "name=bob&role=owner&csrf=\(adminCSRF)")
            #expect(badRole.0 == .badRequest && badRole.1.contains("role: must be viewer"))
        }
    }
}
