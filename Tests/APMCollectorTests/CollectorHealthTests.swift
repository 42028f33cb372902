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

/// What the collector says about itself and the smaller limits: `/healthz` reads the store, a full disk is a 507
/// with a message, ranges and T overrides are bounded, sessions too, and one odd OTLP span is rejected alone.
@Suite struct CollectorHealthTests {
    typealias Support = CollectorTestSupport

    struct Health: Decodable {
        var status: String
        var problems: [String]
    }

    @Test func aFullDiskIs507WithAMessageAndHealthSaysSo() async throws {
        let store = try SQLiteStore()
        try await Support.withCollector(store: store) { _, client, key in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let health = try JSONDecoder().decode(Health.self, from: Data(response.body.readableBytesView))
                #expect(health.problems == [])
            }
            try await client.execute(uri: "/livez", method: .get) { #expect($0.status == .ok) }
            // The database may not grow by a page: the next commit fails as on a full disk.
            try await store.writer.writeWithoutTransaction { db in
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                try db.execute(sql: "PRAGMA max_page_count = \(pages)")
            }
            let metrics = (0..<300).map { Support.metric("GET /route-\($0)/with/a/longer/name", durations: [0.1]) }
            let response = try await Support.post(
                Support.batch(minute: Support.currentMinute(), metrics: metrics),
                key: key,
                client: client
            )
            #expect(response.status.code == 507)
            #expect(response.body.contains("disk is full"))
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let health = try JSONDecoder().decode(Health.self, from: Data(response.body.readableBytesView))
                #expect(health.status == "unavailable")
                #expect(health.problems.contains { $0.contains("disk is full") })
            }
        }
    }

    /// 8 KiB of garbage in the middle of the file: `/healthz` says the file is damaged (before, 200 while the API
    /// answered 500), and no request answers 500.
    @Test func aDamagedDatabaseFileIsUnhealthy() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-damage-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/apm.sqlite"
        let store = try SQLiteStore(path: path, integrityCheckInterval: .zero)
        try await Support.withCollector(store: store) { _, client, key in
            for batch in 0..<20 {
                let metrics = (0..<50).map {
                    Support.metric("GET /route-\(batch)-\($0)/with/a/longer/name", durations: [0.1, 0.2])
                }
                let response = try await Support.post(
                    Support.batch(minute: Support.currentMinute(), metrics: metrics),
                    key: key,
                    client: client
                )
                #expect(response.status == .accepted)
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await store.writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(size > 64 * 1024)
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.seek(toOffset: UInt64(size / 2 / 4096 * 4096))
            try handle.write(contentsOf: Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }))
            try handle.close()

            // Every answer is 503 from now on; the damage is named once the check has read the file (a loaded
            // machine may first answer that the store did not answer within the health deadline, 503 too).
            var problems: [String] = []
            for _ in 0..<40 where !problems.contains(where: { $0.contains("damaged") }) {
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    problems = try JSONDecoder().decode(Health.self, from: Data(response.body.readableBytesView))
                        .problems
                }
                if !problems.contains(where: { $0.contains("damaged") }) {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            #expect(problems.contains { $0.contains("damaged") }, "\(problems)")
            try await client.execute(
                uri: "/api/v1/apps/1/transactions?since=1h",
                method: .get,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) { response in
                #expect(response.status != .internalServerError, "\(String(buffer: response.body))")
            }
        }
    }

    @Test func aRangeWithoutAnEndIsCappedToo() async throws {
        try await Support.withCollector { _, client, key in
            _ = try await Support.post(
                Support.batch(minute: Support.currentMinute(), metrics: [Support.metric("GET /a", durations: [0.1])]),
                key: key,
                client: client
            )
            let longAgo = Int64(Date().timeIntervalSince1970) - 500 * 86_400
            try await client.execute(
                uri: "/api/v1/apps/1/series?from=\(longAgo)",
                method: .get,
                headers: [.authorization: "Bearer \(CollectorTestSupport.token(for: key))"]
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("400 days"))
            }
        }
    }

    @Test func perTransactionTOverridesAreCapped() async throws {
        try await Support.withCollector { collector, client, key in
            _ = try await Support.post(
                Support.batch(minute: Support.currentMinute(), metrics: [Support.metric("GET /a", durations: [0.1])]),
                key: key,
                client: client
            )
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            for index in 0..<Administration.maxTransactionApdexOverrides {
                try await collector.store.setApdex(appID: app.id, transaction: "GET /t\(index)", seconds: 0.2)
            }
            func put(_ body: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: "/api/v1/apps/\(app.id)/apdex",
                    method: .put,
                    headers: [
                        .authorization: "Bearer \(CollectorTestSupport.token(for: key))",
                        .contentType: "application/json",
                    ],
                    body: ByteBuffer(string: body)
                ) { ($0.status, String(buffer: $0.body)) }
            }
            let refused = try await put(#"{"transaction": "GET /one-more", "apdex_t": 0.3}"#)
            #expect(refused.0 == .badRequest)
            #expect(refused.1.contains("limit"))
            // Changing an existing override, or the app's T, is still allowed.
            #expect(try await put(#"{"transaction": "GET /t1", "apdex_t": 0.3}"#).0 == .ok)
            #expect(try await put(#"{"apdex_t": 0.8}"#).0 == .ok)
        }
    }

    @Test func liveSessionsAreBoundedLeastRecentlyUsedFirst() async throws {
        let store = try SQLiteStore()
        let account = try await store.createAccount(name: "a")
        let user = try await store.createUser(accountID: account.id, name: "admin", passwordHash: "x")
        let clock = Locked(1_000_000.0)
        let sessions = DashboardSessions(store: store, maxSessions: 100) { clock.withLock { $0 } }
        let first = try await sessions.create(for: user).token
        var last = ""
        for _ in 0..<sessions.maxSessions {
            clock.withLock { $0 += 1 }
            last = try await sessions.create(for: user).token
        }
        #expect(try await sessions.session(for: first) == nil)
        #expect(try await sessions.session(for: last) != nil)
        #expect(try await store.sessionCount() <= sessions.maxSessions)
    }

    /// An exception event with an empty type costs that span, not the export; the reply counts every span.
    @Test func anEmptyExceptionTypeRejectsThatSpanAlone() async throws {
        let clock = Locked(Date().timeIntervalSince1970)
        try await Support.withCollector(now: clock.reader) { collector, client, key in
            let start = Date().timeIntervalSince1970 - 60
            let route = ["http.request.method": "GET", "http.route": "/ok"]
            let spans: [[String: Any]] = [
                OTLPIngestTests.span(
                    trace: 1,
                    id: 1,
                    name: "GET /ok",
                    kind: 2,
                    start: start,
                    seconds: 0.1,
                    attributes: route
                ),
                OTLPIngestTests.span(
                    trace: 2,
                    id: 2,
                    name: "GET /ok",
                    kind: 2,
                    start: start,
                    seconds: 0.1,
                    attributes: route,
                    error: true,
                    exception: ("", "no type")
                ),
            ]
            let body = try JSONSerialization.data(withJSONObject: [
                "resourceSpans": [
                    [
                        "resource": ["attributes": [["key": "service.name", "value": ["stringValue": "py"]]]],
                        "scopeSpans": [["spans": spans]],
                    ]
                ]
            ])
            let response = try await OTLPIngestTests.post(body, key: key, client: client)
            #expect(response.status == .ok, "\(response.body)")
            #expect(response.body.contains("1 of 2 spans"), "\(response.body)")
            #expect(response.body.contains("exception.type"))
            clock.withLock { $0 += 31 }
            try await collector.settlePendingSpans()
            let apps = try await Support.get(AppsResponse.self, "/api/v1/apps?since=1h", key: key, client: client)
            #expect(apps.apps.first?.summary.count == 1)
        }
    }
}
