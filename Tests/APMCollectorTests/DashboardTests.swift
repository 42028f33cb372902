import APMCollector
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct DashboardTests {
    typealias Support = CollectorTestSupport

    /// Signs in through the form, as a browser would: GET the form (CSRF cookie and field), POST it back.
    static func signIn(
        _ client: any TestClientProtocol,
        name: String,
        password: String
    ) async throws -> (status: HTTPResponse.Status, session: String?) {
        let (cookie, token) = try await client.execute(uri: "/login", method: .get) { response -> (String, String) in
            let setCookie = try #require(response.headers[.setCookie])
            let cookie = String(try #require(setCookie.split(separator: ";").first))
            let body = String(buffer: response.body)
            let marker = try #require(body.range(of: "name=\"csrf\" value=\""))
            let token = String(body[marker.upperBound...].prefix { $0 != "\"" })
            return (cookie, token)
        }
        let form = "name=\(name)&password=\(password)&csrf=\(token)"
        return try await client.execute(
            uri: "/login",
            method: .post,
            headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: form)
        ) { response in
            let session = response.headers[values: .setCookie].first { $0.hasPrefix("apm_session=") }
                .map { String($0.split(separator: ";")[0]) }
            return (response.status, session)
        }
    }

    static func adminPassword(_ collector: Collector) async throws -> String {
        let account = try #require(try await collector.store.accounts().first)
        return try #require(try await collector.resetPassword(user: "admin", accountID: account.id))
    }

    @Test func pagesNeedASessionAndLoginSetsASafeCookie() async throws {
        try await Support.withCollector { collector, client, _ in
            for path in ["/apps", "/apps/1"] {
                try await client.execute(uri: path, method: .get) {
                    #expect($0.status == .seeOther)
                    #expect($0.headers[.location] == "/login")
                }
            }
            let password = try await Self.adminPassword(collector)
            let wrong = try await Self.signIn(client, name: "admin", password: "admin")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.session == nil)
            let right = try await Self.signIn(client, name: "admin", password: password)
            #expect(right.status == .seeOther)
            let session = try #require(right.session)
            try await client.execute(uri: "/apps", method: .get, headers: [.cookie: session]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("No data yet"))
                #expect(
                    response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true
                )
            }
        }
    }

    @Test func theSessionCookieIsHttpOnlyAndSameSite() async throws {
        try await Support.withCollector { collector, client, _ in
            let password = try await Self.adminPassword(collector)
            let (cookie, token) = try await client.execute(uri: "/login", method: .get) {
                response -> (String, String) in
                let body = String(buffer: response.body)
                let marker = try #require(body.range(of: "name=\"csrf\" value=\""))
                return (
                    String(response.headers[.setCookie]!.split(separator: ";")[0]),
                    String(body[marker.upperBound...].prefix { $0 != "\"" })
                )
            }
            try await client.execute(
                uri: "/login",
                method: .post,
                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "name=admin&password=\(password)&csrf=\(token)")
            ) { response in
                let setCookie = try #require(
                    response.headers[values: .setCookie].first { $0.hasPrefix("apm_session=") }
                )
                #expect(setCookie.contains("HttpOnly"))
                #expect(setCookie.contains("SameSite=Strict"))
            }
        }
    }

    @Test func formsWithoutTheCSRFTokenAre403() async throws {
        try await Support.withCollector { collector, client, _ in
            let password = try await Self.adminPassword(collector)
            // Login without the token.
            try await client.execute(
                uri: "/login",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "name=admin&password=\(password)")
            ) { #expect($0.status == .forbidden) }
            let session = try #require(try await Self.signIn(client, name: "admin", password: password).session)
            // Logout without the token.
            try await client.execute(
                uri: "/logout",
                method: .post,
                headers: [.cookie: session, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "")
            ) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/apps", method: .get, headers: [.cookie: session]) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test func loginAttemptsAreRateLimited() async throws {
        try await Support.withCollector { collector, client, _ in
            let password = try await Self.adminPassword(collector)
            for _ in 0..<5 {
                #expect(try await Self.signIn(client, name: "admin", password: "guess").status == .unauthorized)
            }
            // Even the right password is refused for a while.
            #expect(try await Self.signIn(client, name: "admin", password: password).status == .tooManyRequests)
        }
    }

    @Test func namesFromAppsAreEscapedOnEveryPageAndOtherAccountsAppsAre404() async throws {
        try await Support.withCollector { collector, client, key in
            let minute = Support.currentMinute()
            let evil = "<script>alert(1)</script>"
            var batch = Support.batch(
                app: "shop<marquee>",
                minute: minute,
                metrics: [Support.metric("GET /\(evil)", durations: [0.1, 0.2])]
            )
            batch.errors = [
                ErrorSample(
                    timestamp: Double(minute),
                    transaction: "GET /\(evil)",
                    type: "Boom",
                    message: "<img src=x onerror=alert(2)>"
                )
            ]
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let other = try await collector.store.createAccount(name: "other")
            let otherKey = try await collector.createLicenseKey(accountID: other.id, name: "x").key
            var foreign = Support.batch(
                app: "foreign",
                minute: minute,
                metrics: [Support.metric("GET /x", durations: [0.1])]
            )
            foreign.batchID = UUID().uuidString
            #expect(try await Support.post(foreign, key: otherKey, client: client).status == .accepted)

            let password = try await Self.adminPassword(collector)
            let session = try #require(try await Self.signIn(client, name: "admin", password: password).session)
            let account = try #require(try await collector.store.accounts().first)
            let shop = try #require(try await collector.store.apps(accountID: account.id).first)
            let foreignApp = try #require(try await collector.store.apps(accountID: other.id).first)
            for path in ["/apps", "/apps/\(shop.id)", "/apps/\(shop.id)?sort=p95&range=24h"] {
                try await client.execute(uri: path, method: .get, headers: [.cookie: session]) { response in
                    let body = String(buffer: response.body)
                    #expect(response.status == .ok)
                    #expect(!body.contains("<script>alert"), "\(path)")
                    #expect(!body.contains("<marquee>"), "\(path)")
                    #expect(!body.contains("<img"), "\(path)")
                    #expect(body.contains("&lt;script&gt;") || body.contains("shop&lt;marquee&gt;"), "\(path)")
                }
            }
            try await client.execute(uri: "/apps/\(foreignApp.id)", method: .get, headers: [.cookie: session]) {
                #expect($0.status == .notFound)
            }
        }
    }

    @Test func theOverviewShowsTheAPIFiguresAndCharts() async throws {
        try await Support.withCollector { collector, client, key in
            let minute = Support.currentMinute(offset: -2)
            let batch = Support.batch(
                minute: minute,
                metrics: [Support.metric("GET /orders", durations: [0.1, 0.2, 0.7, 3.0], errors: [3])]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let password = try await Self.adminPassword(collector)
            let session = try #require(try await Self.signIn(client, name: "admin", password: password).session)
            let summary = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/1/summary?since=1h",
                key: key,
                client: client
            )
            try await client.execute(uri: "/apps/1?range=1h", method: .get, headers: [.cookie: session]) { response in
                let body = String(buffer: response.body)
                #expect(body.contains(String(format: "%.2f", summary.apdex.score!)))
                #expect(
                    body.contains(
                        "S \(summary.apdex.satisfied) / T \(summary.apdex.tolerating) / F \(summary.apdex.frustrated)"
                    )
                )
                #expect(body.contains("<svg"))
                #expect(body.contains("GET /orders"))
                #expect(body.contains("25.0 %"))
            }
        }
    }
}

@Suite struct DashboardPagesTests {
    typealias Support = CollectorTestSupport

    @Test func everyPageLoadsEscapedAndMatchesTheAPI() async throws {
        try await Support.withCollector { collector, client, key in
            let minute = Support.currentMinute(offset: -2)
            let evil = "<script>alert(1)</script>"
            var batch = Support.batch(
                minute: minute,
                metrics: [Support.metric("GET /\(evil)", durations: [0.1, 0.6, 2.5], errors: [2])]
            )
            batch.intervals[0].segments = [
                SegmentMetric(
                    transaction: "GET /\(evil)",
                    name: "Postgres SELECT \(evil)",
                    category: .datastore,
                    system: "postgresql",
                    operation: "SELECT",
                    target: evil,
                    count: 3,
                    totalDuration: 0.3,
                    exclusiveDuration: 0.3,
                    minDuration: 0.05,
                    maxDuration: 0.2
                ),
                SegmentMetric(
                    transaction: "GET /\(evil)",
                    name: "External \(evil)",
                    category: .external,
                    system: "GET",
                    operation: evil,
                    count: 1,
                    totalDuration: 0.1,
                    exclusiveDuration: 0.1,
                    minDuration: 0.1,
                    maxDuration: 0.1
                ),
            ]
            batch.traces = [
                TransactionTrace(
                    traceID: String(repeating: "a", count: 32),
                    transaction: "GET /\(evil)",
                    kind: .web,
                    start: Double(minute + 5),
                    duration: 2.5,
                    status: 500,
                    isError: true,
                    attributes: ["k": evil],
                    segments: [
                        TraceSegment(
                            parent: nil,
                            name: "Postgres SELECT \(evil)",
                            category: .datastore,
                            offset: 0.1,
                            duration: 0.2,
                            statement: "SELECT * FROM t WHERE a = ?"
                        )
                    ]
                )
            ]
            batch.errors = [
                ErrorSample(
                    timestamp: Double(minute + 5),
                    transaction: "GET /\(evil)",
                    type: evil,
                    message: "<img src=x onerror=alert(2)>",
                    stack: [evil]
                )
            ]
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let account = try #require(try await collector.store.accounts().first)
            let password = try #require(try await collector.resetPassword(user: "admin", accountID: account.id))
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let name = percentEncodedQuery("GET /\(evil)")
            let whatIf = try await Support.get(
                APIWhatIfApdex.self,
                "/api/v1/apps/1/apdex?since=1h&t=1&transaction=\(name)",
                key: key,
                client: client
            )
            for path in [
                "/apps/1/transaction?name=\(name)&range=1h&t=1", "/apps/1/traces/1", "/apps/1/databases?range=1h",
                "/apps/1/errors?range=1h",
            ] {
                try await client.execute(uri: path, method: .get, headers: [.cookie: session]) { response in
                    let body = String(buffer: response.body)
                    #expect(response.status == .ok, "\(path)")
                    #expect(!body.contains("<script>alert"), "\(path)")
                    #expect(!body.contains("<img"), "\(path)")
                    if path.contains("transaction") {
                        #expect(body.contains("Latency distribution"))
                        #expect(body.contains("<rect"))
                        #expect(body.contains(String(format: "%.3f", whatIf.score!)))
                        #expect(
                            body.contains("S \(whatIf.satisfied) / T \(whatIf.tolerating) / F \(whatIf.frustrated)")
                        )
                    }
                    if path.contains("traces") { #expect(body.contains("SELECT * FROM t WHERE a = ?")) }
                    if path.contains("databases") {
                        #expect(body.contains("&lt;script&gt;"))
                        #expect(body.contains("Time in the top database operations"))
                    }
                }
            }
            try await client.execute(uri: "/apps/1/traces/999", method: .get, headers: [.cookie: session]) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/apps/1/errors", method: .get) { #expect($0.status == .seeOther) }
        }
    }
}

/// Percent-encodes a query value (as the dashboard's links do).
func percentEncodedQuery(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
}

@Suite struct DashboardSettingsTests {
    typealias Support = CollectorTestSupport

    @Test func settingsFormsChangeTKeysAndPasswordsOnlyWithTheCSRFToken() async throws {
        try await Support.withCollector { collector, client, key in
            #expect(
                try await Support.post(
                    Support.batch(
                        minute: Support.currentMinute(),
                        metrics: [Support.metric("GET /a", durations: [0.1])]
                    ),
                    key: key,
                    client: client
                ).status == .accepted
            )
            let account = try #require(try await collector.store.accounts().first)
            let password = try #require(try await collector.resetPassword(user: "admin", accountID: account.id))
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let csrf = try await client.execute(uri: "/apps/1/settings", method: .get, headers: [.cookie: session]) {
                response -> String in
                let body = String(buffer: response.body)
                let marker = try #require(body.range(of: "name=\"csrf\" value=\""))
                return String(body[marker.upperBound...].prefix { $0 != "\"" })
            }
            let form: HTTPFields = [.cookie: session, .contentType: "application/x-www-form-urlencoded"]
            try await client.execute(
                uri: "/apps/1/settings/apdex",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "t=0.3")
            ) {
                #expect($0.status == .forbidden)
            }
            #expect(try await collector.store.app(accountID: account.id, id: 1)?.apdexT == 0.5)
            try await client.execute(
                uri: "/apps/1/settings/apdex",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "t=0.3&csrf=\(csrf)")
            ) {
                #expect($0.status == .seeOther)
            }
            try await client.execute(
                uri: "/apps/1/settings/apdex",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "t=2&transaction=GET+%2Fa&csrf=\(csrf)")
            ) {
                #expect($0.status == .seeOther)
            }
            try await client.execute(
                uri: "/apps/1/settings/apdex",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "t=-1&csrf=\(csrf)")
            ) {
                #expect($0.status == .badRequest)
            }
            let app = try #require(try await collector.store.app(accountID: account.id, id: 1))
            #expect(app.apdexT == 0.3)
            #expect(app.transactionApdexT == ["GET /a": 2])
            try await client.execute(
                uri: "/apps/1/settings/keys",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "name=ci&csrf=\(csrf)")
            ) { response in
                #expect(String(buffer: response.body).contains("New license key (shown only once): apm_"))
            }
            #expect(try await collector.store.licenseKeys(accountID: account.id).count == 2)
            try await client.execute(
                uri: "/apps/1/settings/keys/2/revoke",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "csrf=\(csrf)")
            ) {
                #expect($0.status == .seeOther)
            }
            #expect(try await collector.store.licenseKeys(accountID: account.id).last?.revokedAt != nil)
        }
    }
}
