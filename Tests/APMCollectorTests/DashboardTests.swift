import APMCollector
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
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
        // A clock that stands still: on a loaded machine the sixth try can come after the first delay (1 s) ran out.
        let standingStill: @Sendable () -> Double = { 1_900_000_000 }
        try await Support.withCollector(now: standingStill) { collector, client, _ in
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
            let otherKey = try await collector.createCredential(.licenseKey, accountID: other.id, name: "x").secret
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
                "/apps?range=1h", "/apps/1?range=1h", "/apps/1/transaction?name=\(name)&range=1h&t=1",
                "/apps/1/traces/1", "/apps/1/databases?range=1h", "/apps/1/errors?range=1h", "/apps/1/settings",
                "/settings",
                "/apps/1?range=1h&from=x",
            ] {
                try await client.execute(uri: path, method: .get, headers: [.cookie: session]) { response in
                    let body = String(buffer: response.body)
                    #expect(response.status == (path.contains("from=x") ? .badRequest : .ok), "\(path)")
                    #expect(HTMLStructure.problems(in: body).isEmpty, "\(path): \(HTMLStructure.problems(in: body))")
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
                        #expect(body.contains("Time spent in the top database operations"))
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
            // Keys, tokens and users are the account's, on /settings.
            try await client.execute(
                uri: "/settings/keys",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "name=ci&csrf=\(csrf)")
            ) { response in
                #expect(String(buffer: response.body).contains("New license key (shown only once): apm_"))
            }
            #expect(try await collector.store.credentials(.licenseKey, accountID: account.id).count == 2)
            try await client.execute(
                uri: "/settings/keys/2/revoke",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "csrf=\(csrf)")
            ) {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body).contains("Key revoked"))
            }
            #expect(try await collector.store.credentials(.licenseKey, accountID: account.id).last?.revokedAt != nil)
        }
    }
}

@Suite struct DashboardRangeTests {
    typealias Support = CollectorTestSupport

    /// `2026-11-26T10:00`, as an `<input type="datetime-local">` sends it, in UTC.
    static func formatted(_ unix: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm"
        return formatter.string(from: Date(timeIntervalSince1970: Double(unix)))
    }

    @Test func aCustomRangeShowsOnlyItsDataMatchesTheAPIAndIsKeptInLinks() async throws {
        try await Support.withCollector { collector, client, key in
            let old = Support.currentMinute(offset: -150)
            let recent = Support.currentMinute(offset: -3)
            let oldBatch = Support.batch(
                minute: old,
                metrics: [Support.metric("GET /old", durations: [0.1, 0.2, 0.9, 2.5], errors: [3])]
            )
            let recentBatch = Support.batch(
                minute: recent,
                metrics: [Support.metric("GET /recent", durations: [0.1, 0.1])]
            )
            #expect(try await Support.post(oldBatch, key: key, client: client).status == .accepted)
            #expect(try await Support.post(recentBatch, key: key, client: client).status == .accepted)
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let (from, to) = (old - 1800, old + 1800)
            let summary = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/1/summary?from=\(from)&to=\(to)",
                key: key,
                client: client
            )
            #expect(summary.count == 4)
            #expect(summary.apdex.satisfied == 2 && summary.apdex.tolerating == 1 && summary.apdex.frustrated == 1)
            let query = "from=\(Self.formatted(from))&to=\(Self.formatted(to))"
            try await client.execute(uri: "/apps/1?\(query)", method: .get, headers: [.cookie: session]) { response in
                let body = String(buffer: response.body)
                #expect(response.status == .ok)
                #expect(body.contains("GET /old"))
                #expect(!body.contains("GET /recent"))
                #expect(body.contains("data-figure=\"apdex\">\(String(format: "%.2f", summary.apdex.score!))<"))
                #expect(body.contains("<span data-figure=\"stf\">S 2 / T 1 / F 1</span>"))
                #expect(body.contains("<span data-figure=\"count\">4</span>"))
                // Every link to another page of the app keeps the range; the form shows it.
                let escaped = query.replacingOccurrences(of: "&", with: "&amp;")
                #expect(body.contains("/apps/1/databases?\(escaped)"))
                #expect(body.contains("/apps/1/transaction?name=GET%20%2Fold&amp;\(escaped)"))
                #expect(body.contains("name=\"from\" value=\"\(Self.formatted(from))\""))
            }
            // Unix seconds and a trailing Z are accepted too.
            try await client.execute(
                uri: "/apps/1/errors?from=\(from)&to=\(Self.formatted(to))Z",
                method: .get,
                headers: [.cookie: session]
            ) { #expect($0.status == .ok) }
            // The preset ranges still work and a recent one does not show the old data.
            try await client.execute(uri: "/apps/1?range=30m", method: .get, headers: [.cookie: session]) {
                let body = String(buffer: $0.body)
                #expect(body.contains("GET /recent") && !body.contains("GET /old"))
            }
        }
    }

    @Test func theAppsPageWarnsOfDroppedDataNameOverflowAndAnOfflineAgent() async throws {
        let start = Double(Support.currentMinute()) + 1
        let clock = Mutex(start)
        let now: @Sendable () -> Double = { clock.withLock { $0 } }
        try await Support.withCollector(now: now) { collector, client, key in
            var batch = Support.batch(
                app: "<b>shop</b>",
                minute: Support.currentMinute(offset: -1),
                metrics: [Support.metric("GET /a", durations: [0.1])]
            )
            batch.dropped = DropCounters(transactions: 7, overflowedNames: 3)
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            // Ten minutes without a delivery.
            clock.withLock { $0 = start + 600 }
            try await client.execute(uri: "/apps?range=1h", method: .get, headers: [.cookie: session]) {
                let body = String(buffer: $0.body)
                #expect(body.contains("&lt;b&gt;shop&lt;/b&gt;: The agent dropped the metrics of 7 transactions"))
                #expect(body.contains("recorded 3 transactions as (overflow)"))
                #expect(body.contains("No data for 10 minutes: the agent may be offline."))
                #expect(!body.contains("<b>shop</b>"))
            }
        }
    }

    /// The current minute is still arriving (agents deliver every 10 s): drawing it would show a drop in
    /// throughput that is not there, so charts leave it out; the cards count it.
    @Test func chartsLeaveOutTheMinuteStillArriving() async throws {
        // The collector's clock stands still 30 s into the current minute: on the real clock a slow run that
        // crossed into the next minute drew the "current" one, which had ended by then.
        let settled = Support.currentMinute(offset: -3)
        let current = Support.currentMinute()
        let standingStill: @Sendable () -> Double = { Double(current) + 30 }
        try await Support.withCollector(now: standingStill) { collector, client, key in
            for minute in [settled, current] {
                let batch = Support.batch(minute: minute, metrics: [Support.metric("GET /a", durations: [0.1, 0.2])])
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let label = { (minute: Int64) in String(DashboardRangeTests.formatted(minute).suffix(5)) }
            try await client.execute(uri: "/apps/1?range=30m", method: .get, headers: [.cookie: session]) {
                let body = String(buffer: $0.body)
                #expect(body.contains("<span data-figure=\"count\">4</span>"))
                #expect(body.contains("<title>requests per minute \(label(settled)): 2.0 rpm</title>"))
                #expect(!body.contains("<title>requests per minute \(label(current)):"))
            }
        }
    }

    @Test func aMalformedRangeIsA400ThatSaysWhatToFix() async throws {
        try await Support.withCollector { collector, client, key in
            let batch = Support.batch(
                minute: Support.currentMinute(offset: -2),
                metrics: [Support.metric("x", durations: [0.1])]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let now = Support.currentMinute()
            let cases: [(query: String, field: String, says: String)] = [
                ("range=2y", "range", "must be one of 30m, 1h, 6h, 24h, 7d"),
                ("from=\(Self.formatted(now - 3600))", "to", "needs both from and to"),
                ("from=yesterday&to=\(Self.formatted(now))", "from", "must be a UTC time such as 2026-11-26T10:00"),
                ("from=2026-02-30T10:00&to=\(Self.formatted(now))", "from", "must be a UTC time"),
                ("from=\(Self.formatted(now))&to=\(Self.formatted(now - 60))", "from", "must be before to"),
                ("from=\(Self.formatted(now + 7200))&to=\(Self.formatted(now + 9000))", "from", "is in the future"),
                ("from=2001-01-01T00:00&to=2026-01-01T00:00", "from", "at most 400 days"),
            ]
            for path in ["/apps", "/apps/1", "/apps/1/databases"] {
                for (query, field, says) in cases {
                    try await client.execute(uri: "\(path)?\(query)", method: .get, headers: [.cookie: session]) {
                        let body = String(buffer: $0.body)
                        #expect($0.status == .badRequest, "\(path)?\(query)")
                        #expect(body.contains("data-error=\"\(field)\""), "\(path)?\(query)")
                        #expect(body.contains(says), "\(path)?\(query): \(body)")
                    }
                }
            }
            // So does an unknown sort key.
            try await client.execute(uri: "/apps/1?sort=bogus", method: .get, headers: [.cookie: session]) {
                #expect($0.status == .badRequest)
                #expect(String(buffer: $0.body).contains("sort: must be one of time, p95, throughput, errors, apdex"))
            }
            // A what-if T that is not a number says so instead of being ignored.
            try await client.execute(
                uri: "/apps/1/transaction?name=x&t=abc",
                method: .get,
                headers: [.cookie: session]
            ) { #expect(String(buffer: $0.body).contains("T must be a number of seconds from 0.001 to 3600")) }
        }
    }
}

@Test func theHTMLStructureCheckFindsUnbalancedTags() {
    #expect(HTMLStructure.problems(in: "<main><div class=a><b>x</b><br><input name=t></div></main>").isEmpty)
    #expect(HTMLStructure.problems(in: "<svg><rect x=\"1\"/><circle><title>t</title></circle></svg>").isEmpty)
    #expect(HTMLStructure.problems(in: "<main><div><div>x</div></main>") == ["</main> closes <div>"])
    #expect(HTMLStructure.problems(in: "<div><span>") == ["left open: div > span"])
}

/// Whether a page's tags are balanced: an element left open (a `<div>` without its `</div>`) still renders,
/// but the browser nests everything after it inside, which breaks the layout.
enum HTMLStructure {
    static let voidElements: Set<String> = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    ]

    static func problems(in html: String) -> [String] {
        var problems: [String] = []
        var open: [String] = []
        var rest = Substring(html)
        while let start = rest.firstIndex(of: "<") {
            guard let end = rest[start...].firstIndex(of: ">") else {
                problems.append("an unclosed tag at the end")
                break
            }
            let tag = rest[rest.index(after: start)..<end]
            rest = rest[rest.index(after: end)...]
            if tag.hasPrefix("!") { continue }
            let closing = tag.hasPrefix("/")
            let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
            if voidElements.contains(name) || tag.hasSuffix("/") { continue }
            if name == "style" || name == "script" {
                // Skip the raw text up to the closing tag.
                if let close = rest.range(of: "</\(name)>") { rest = rest[close.upperBound...] }
                continue
            }
            if closing {
                if open.last == name {
                    open.removeLast()
                } else {
                    problems.append("</\(name)> closes <\(open.last ?? "nothing")>")
                    if let index = open.lastIndex(of: name) { open.removeSubrange(index...) }
                }
            } else {
                open.append(name)
            }
        }
        if !open.isEmpty { problems.append("left open: \(open.joined(separator: " > "))") }
        return problems
    }
}
