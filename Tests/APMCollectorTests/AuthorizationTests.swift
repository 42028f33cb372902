import APMCore
import APMTestSupport
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import APMCollector
@testable import APMSQLite
@testable import APMStorage

/// Who may do what: the license key every agent holds can only send data; API tokens read (and, with the admin
/// scope, administer); sign-in throttles the guesser, not the account; sessions end with a password reset.
@Suite struct AuthorizationTests {
    typealias Support = CollectorTestSupport

    static func call(
        _ client: any TestClientProtocol,
        _ method: HTTPRequest.Method,
        _ path: String,
        credential: String,
        body: String? = nil
    ) async throws -> (status: HTTPResponse.Status, body: String, headers: HTTPFields) {
        var headers: HTTPFields = [.authorization: "Bearer \(credential)"]
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(
            uri: path,
            method: method,
            headers: headers,
            body: body.map { ByteBuffer(string: $0) }
        ) { ($0.status, String(buffer: $0.body), $0.headers) }
    }

    /// Before: with the license key, reset-password answered the new admin password, and keys were minted and
    /// revoked.
    @Test func theLicenseKeyCanOnlySendData() async throws {
        try await Support.withCollector { collector, client, key in
            let batch = Support.batch(
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /a", durations: [0.1])]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            for (method, path, body) in [
                (HTTPRequest.Method.post, "/api/v1/users/admin/reset-password", nil),
                (.post, "/api/v1/keys", #"{"name": "x"}"#), (.delete, "/api/v1/keys/1", nil),
                (.get, "/api/v1/keys", nil), (.get, "/api/v1/users", nil), (.get, "/api/v1/apps", nil),
                (.put, "/api/v1/apps/1/apdex", #"{"apdex_t": 0.3}"#), (.post, "/api/v1/tokens", #"{"scope": "admin"}"#),
                // docs/api.md: the API's deployment marker needs an admin (before: the key could).
                (.post, "/api/v1/apps/1/deployments", #"{"revision": "v1"}"#),
            ] as [(HTTPRequest.Method, String, String?)] {
                let answer = try await Self.call(client, method, path, credential: key, body: body)
                #expect(answer.status == .forbidden, "\(method) \(path): \(answer.status)")
                #expect(answer.body.contains("API token"), "\(answer.body)")
                #expect(!answer.body.contains("password\":"))
            }
            // The key still works, and the admin password was not changed.
            #expect(try await collector.store.credentials(.licenseKey, accountID: 1).allSatisfy { $0.revokedAt == nil })
            // A deployment marker is data: the key may record one, by the app's name.
            let marker = try await Self.call(
                client,
                .post,
                "/v1/agent/deployments",
                credential: key,
                body: #"{"app": "shop", "revision": "v2"}"#
            )
            #expect(marker.status == .created, "\(marker.body)")
        }
    }

    @Test func readTokensReadAndAdminTokensAdminister() async throws {
        try await Support.withCollector { collector, client, key in
            let batch = Support.batch(
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /a", durations: [0.1])]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let read = try await collector.createCredential(.apiToken, accountID: 1, name: "grafana", scope: .read)
                .secret
            let admin = Support.token(for: key)
            #expect(try await Self.call(client, .get, "/api/v1/apps", credential: read).status == .ok)
            #expect(try await Self.call(client, .get, "/api/v1/apps/1/series", credential: read).status == .ok)
            let refused = try await Self.call(client, .post, "/api/v1/keys", credential: read, body: #"{"name": "x"}"#)
            #expect(refused.status == .forbidden)
            #expect(refused.body.contains("admin scope"))
            // A token cannot ingest.
            let ingest = try await Support.post(batch, key: read, client: client)
            #expect(ingest.status == .forbidden)
            // Admin: mint a read token, list it (prefix only), revoke it; it stops working.
            let created = try await Self.call(
                client,
                .post,
                "/api/v1/tokens",
                credential: admin,
                body: #"{"name": "ci", "scope": "read"}"#
            )
            #expect(created.status == .created)
            struct Created: Decodable {
                struct Record: Decodable { var id: Int64 }
                var token: String
                var record: Record
            }
            let token = try JSONDecoder().decode(Created.self, from: Data(created.body.utf8))
            #expect(try await Self.call(client, .get, "/api/v1/apps", credential: token.token).status == .ok)
            let listed = try await Self.call(client, .get, "/api/v1/tokens", credential: admin)
            #expect(!listed.body.contains(token.token))
            #expect(
                try await Self.call(client, .delete, "/api/v1/tokens/\(token.record.id)", credential: admin).status
                    == .noContent
            )
            #expect(try await Self.call(client, .get, "/api/v1/apps", credential: token.token).status == .unauthorized)
            // JSON answers are never sniffed as something else; a body that is not JSON is refused.
            #expect(listed.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            let form = try await client.execute(
                uri: "/api/v1/keys",
                method: .post,
                headers: [.authorization: "Bearer \(admin)", .contentType: "application/jsonx"],
                body: ByteBuffer(string: #"{"name": "x"}"#)
            ) { $0.status }
            #expect(form == .unsupportedMediaType)
        }
    }

    /// A page on another site that resolves its own name to 127.0.0.1 must not reach the sign-in form or metrics.
    @Test func requestsForAnotherHostAre421() async throws {
        try await Support.withCollector(transport: .live) { collector, _, _ in
            let port = try #require(collector.boundPort)
            for path in ["/login", "/metrics", "/healthz"] {
                let connection = try RawConnection(port: port)
                connection.send("GET \(path) HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
                let answer = await connection.readUntilClosed(timeout: 30).text
                #expect(answer.hasPrefix("HTTP/1.1 421"), "\(path): \(answer.prefix(100))")
            }
            let connection = try RawConnection(port: port)
            connection.send("GET /login HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
            #expect(await connection.readUntilClosed(timeout: 30).text.hasPrefix("HTTP/1.1 200"))
        }
    }

    /// The login form's token must be one this installation signed, not any value matching its cookie.
    @Test func anUnsignedLoginTokenIsRefused() async throws {
        try await Support.withCollector { collector, client, _ in
            let password = try await DashboardTests.adminPassword(collector)
            let forged = String(repeating: "a", count: 64) + "." + String(repeating: "b", count: 64)
            try await client.execute(
                uri: "/login",
                method: .post,
                headers: [.cookie: "apm_login_csrf=\(forged)", .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "name=admin&password=\(password)&csrf=\(forged)")
            ) { #expect($0.status == .forbidden) }
            #expect(try await DashboardTests.signIn(client, name: "admin", password: password).session != nil)
        }
    }

    /// Before: 64 concurrent wrong passwords were all checked, and 10,002 failures under other names emptied the
    /// failure table.
    @Test func concurrentGuessesAreCountedBeforeTheyAreChecked() async throws {
        // The clock stands still, so that no guess comes after a delay ran out however slow the machine.
        let standingStill: @Sendable () -> Double = { 1_900_000_000 }
        try await Support.withCollector(now: standingStill, transport: .live) { collector, client, _ in
            _ = try await DashboardTests.adminPassword(collector)
            let port = try #require(collector.boundPort)
            // One valid form token, used by 32 guesses sent at once, each on a connection of its own.
            let (cookie, token) = try await client.execute(uri: "/login", method: .get) {
                response -> (String, String) in
                let body = String(buffer: response.body)
                let marker = try #require(body.range(of: "name=\"csrf\" value=\""))
                return (
                    String(try #require(response.headers[.setCookie]).split(separator: ";")[0]),
                    String(body[marker.upperBound...].prefix { $0 != "\"" })
                )
            }
            let form = "name=ADMIN&password=wrong&csrf=\(token)"
            let statuses = await withTaskGroup(of: String.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        guard let connection = try? RawConnection(port: port) else { return "" }
                        connection.send(
                            "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: \(cookie)\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\nConnection: close\r\n\r\n\(form)"
                        )
                        return String(await connection.readUntilClosed(timeout: 60).text.prefix(12))
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let checked = statuses.filter { $0 == "HTTP/1.1 401" }.count
            #expect(checked <= SignInGuard.addressPolicy.freeAttempts, "\(checked) guesses were checked: \(statuses)")
            #expect(statuses.allSatisfy { $0 == "HTTP/1.1 401" || $0 == "HTTP/1.1 429" }, "\(statuses)")
        }
    }

    @Test func theThrottleForgetsTheLeastRecentlyTriedFirstAndNeverClears() async throws {
        let store = try SQLiteStore()
        let policy = SignInThrottlePolicy(freeAttempts: 2, initialDelay: 60, maxDelay: 600, window: 900)
        var now = 1_000_000.0
        // One address is blocked...
        for _ in 0..<2 {
            _ = try await store.reserveSignInAttempt(
                keys: [.init(key: "address:attacker", policy: policy)],
                now: now,
                maxEntries: 100
            )
        }
        #expect(
            try await store.reserveSignInAttempt(
                keys: [.init(key: "address:attacker", policy: policy)],
                now: now,
                maxEntries: 100
            )
                != .allowed
        )
        // ...then many other keys are tried, more than are remembered; the blocked one, tried most recently of the
        // old ones, is still blocked while the table stays bounded.
        for index in 0..<150 {
            now += 0.001
            _ = try await store.reserveSignInAttempt(
                keys: [.init(key: "name:user\(index)", policy: policy)],
                now: now,
                maxEntries: 100
            )
            if index == 90 {
                _ = try await store.reserveSignInAttempt(
                    keys: [.init(key: "address:attacker", policy: policy)],
                    now: now,
                    maxEntries: 100
                )
            }
        }
        #expect(try await store.signInThrottleCount() <= 100)
        #expect(
            try await store.reserveSignInAttempt(
                keys: [.init(key: "address:attacker", policy: policy)],
                now: now,
                maxEntries: 100
            )
                != .allowed
        )
    }

    /// Throttling is per guesser: a blocked address does not lock the administrator out from another.
    @Test func aGuesserIsSlowedWithoutLockingTheAccount() async throws {
        let store = try SQLiteStore()
        let guardian = SignInGuard(store: store, now: { 1_000_000 })
        for _ in 0..<SignInGuard.addressPolicy.freeAttempts {
            #expect(try await guardian.reserve(name: "admin", address: "203.0.113.7") == .allowed)
        }
        #expect(try await guardian.reserve(name: "admin", address: "203.0.113.7") != .allowed)
        #expect(try await guardian.reserve(name: "Admin", address: "198.51.100.2") == .allowed)
        // Unknown names cost a full password check: the unmatchable hash has the real parameters.
        let real = try PasswordHasher.hash("x", cost: 10)
        let unmatchable = PasswordHasher.unmatchableHash(cost: 10)
        #expect(real.split(separator: "$").prefix(4) == unmatchable.split(separator: "$").prefix(4))
        #expect(!PasswordHasher.verify("x", against: unmatchable))
    }

    @Test func aPasswordResetEndsTheUsersSessions() async throws {
        try await Support.withCollector { collector, client, key in
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            try await client.execute(uri: "/apps", method: .get, headers: [.cookie: session]) {
                #expect($0.status == .ok)
            }
            let reset = try await Self.call(
                client,
                .post,
                "/api/v1/users/admin/reset-password",
                credential: Support.token(for: key)
            )
            #expect(reset.status == .ok)
            try await client.execute(uri: "/apps", method: .get, headers: [.cookie: session]) {
                #expect($0.status == .seeOther)
                #expect($0.headers[.location] == "/login")
            }
        }
    }

    /// `user:password@`, queries and fragments never reach the store, from the agent or from OTLP.
    @Test func credentialsInURLsAreNotStored() {
        #expect(
            SpanConventions.safeURL("https://alice:s3cret@payments.example:8443/charge?card=4111#x")
                == "https://payments.example:8443/charge"
        )
        #expect(SpanConventions.safeURL("http://token@host/") == "http://host/")
        #expect(SpanConventions.safeURL("/relative/path?q=1") == "/relative/path")
        var batch = HostileBatchTests.validBatch()
        batch.traces[0].segments[0].url = "https://user:pass@api.example/v1?key=abc"
        batch.applySampleCaps(.default)
        #expect(batch.traces[0].segments[0].url == "https://api.example/v1")
    }
}

/// An installation from before API tokens: its license key keeps ingesting, reads now need a token, and the first
/// token can be made on the collector's machine without one.
@Suite struct CredentialMigrationTests {
    @Test func anExistingInstallationKeepsItsKeyAndGetsATokenLocally() async throws {
        let directory = try StorageIdentityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = (directory as NSString).appendingPathComponent("apm.sqlite")
        // The schema as the previous release left it (up to v5), with an account and its key.
        let key = CredentialGenerator.make(.licenseKey)
        let old = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(old, upTo: "v5: batch ids per account; integer sums saturate")
        try await old.write { db in
            try db.execute(sql: "INSERT INTO accounts (name, created_at) VALUES ('default', 0)")
            try db.execute(
                sql:
                    "INSERT INTO license_keys (account_id, name, key_hash, prefix, created_at) VALUES (1, 'default', ?, ?, 0)",
                arguments: [CredentialGenerator.hash(key), CredentialGenerator.displayPrefix(of: key)]
            )
        }
        try old.close()

        var configuration = CollectorTestSupport.configuration()
        configuration.dataDirectory = directory
        let collector = Collector(
            configuration: configuration,
            logger: CollectorTestSupport.quietLogger,
            store: try SQLiteStore(path: path)
        )
        // Set up before: no first-start credentials.
        #expect(try await collector.bootstrapIfNeeded() == nil)
        try await collector.application.test(.live) { client in
            let batch = CollectorTestSupport.batch(
                minute: CollectorTestSupport.currentMinute(),
                metrics: [CollectorTestSupport.metric("GET /a", durations: [0.1])]
            )
            #expect(try await CollectorTestSupport.post(batch, key: key, client: client).status == .accepted)
            let refused = try await AuthorizationTests.call(client, .get, "/api/v1/apps", credential: key)
            #expect(refused.status == .forbidden)
            #expect(refused.body.contains("apm tokens create"))
        }
        try await collector.close()
        // `apm tokens create --data-dir`: on the collector's machine, no credential needed.
        let created = try APMProcess(arguments: ["tokens", "create", "--scope", "admin", "--data-dir", directory])
        await created.waitUntilExit()
        #expect(created.process.terminationStatus == 0, "\(created.output)")
        // The output is read on another thread: the exit can be seen before the last line is (a flaky nil).
        _ = await created.waitForOutput(containing: "apt_", seconds: 10)
        let token = try #require(created.apiToken)
        let store = try SQLiteStore(path: path)
        let record = try #require(try await store.activeCredential(.apiToken, hash: CredentialGenerator.hash(token)))
        #expect(record.scope == .admin)
        try await store.close()
    }
}
