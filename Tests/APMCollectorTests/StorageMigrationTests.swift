import APMCollector
import APMCore
import APMPostgres
import APMSQLite
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// `apm migrate-storage`: after copying a SQLite installation into PostgreSQL, every API answer is the same.
@Suite(.tags(.slow)) struct StorageMigrationTests {
    typealias Support = CollectorTestSupport

    @Test(.enabled(if: StoreBackend.available.contains(.postgresql)))
    func everyAPIAnswerIsTheSameAfterMovingToPostgreSQL() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "apm-migrate-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("apm.sqlite").path
        // One clock for both collectors, so that "the last hour" is the same range before and after.
        let clock = Locked(Date().timeIntervalSince1970)
        let source = try SQLiteStore(path: path)
        let sourceCollector = Collector(
            configuration: Support.configuration(),
            logger: Support.quietLogger,
            store: source,
            now: clock.reader
        )
        let credentials = try #require(try await sourceCollector.bootstrapIfNeeded())
        let key = credentials.licenseKey
        let token = credentials.apiToken
        let minute = Support.currentMinute(offset: -3)
        let paths = try await sourceCollector.application.test(.live) { client in
            // The OTLP workload (transactions, database and external segments, traces, errors) and agent batches.
            #expect(
                try await OTLPIngestTests.post(OTLPIngestTests.export(at: Double(minute) + 1), key: key, client: client)
                    .status == .ok
            )
            clock.withLock { $0 += 31 }
            #expect(try await sourceCollector.settlePendingSpans().transactions == 5)
            let segment = SegmentMetric(
                transaction: "GET /items",
                name: "Postgres SELECT items",
                category: .datastore,
                system: "postgresql",
                operation: "SELECT",
                target: "items",
                count: 3,
                totalDuration: 0.09,
                exclusiveDuration: 0.09,
                minDuration: 0.02,
                maxDuration: 0.04,
                slowestStatement: "SELECT * FROM items WHERE id = ?",
                slowestStatementDuration: 0.04,
                histogram: {
                    var calls = LatencyHistogram()
                    for call in [0.02, 0.03, 0.04] { calls.record(seconds: call) }
                    return calls
                }()
            )
            for offset in 0..<3 {
                var batch = Support.batch(
                    app: "swift-shop",
                    minute: minute + Int64(offset) * 60,
                    metrics: [
                        Support.metric("GET /items", durations: [0.1, 0.3, 0.9, 2.5], errors: [3]),
                        Support.metric("POST /orders", durations: [0.05, 0.07]),
                    ],
                    segments: [segment]
                )
                // Log lines too: the copy keeps them searchable.
                batch.logs = (0..<4).map { line in
                    LogRecord(
                        timeUnixNano: (minute + Int64(offset) * 60 + Int64(line)) * 1_000_000_000,
                        level: line == 3 ? .error : .info,
                        message: "order \(offset)-\(line) placed",
                        traceID: line == 0 ? "4bf92f3577b34da6a3ce929d0e0e4736" : nil
                    )
                }
                // Metrics too: series with a cumulative counter's last reading, minute and hour rows.
                let time = (minute + Int64(offset) * 60 + 5) * 1_000_000_000
                batch.metrics = [
                    MetricPoint(
                        name: "system.cpu.utilization",
                        unit: "1",
                        kind: .gauge,
                        attributes: ["state": "idle"],
                        timeUnixNano: time,
                        value: 0.25 * Double(offset + 1)
                    ),
                    MetricPoint(
                        name: "http.server.requests",
                        kind: .counter,
                        temporality: .cumulative,
                        attributes: ["route": "/items"],
                        startTimeUnixNano: minute * 1_000_000_000 - 30_000_000_000,
                        timeUnixNano: time,
                        value: Double(10 * (offset + 1) * (offset + 1))
                    ),
                    MetricPoint(
                        name: "http.server.duration",
                        unit: "s",
                        temporality: .delta,
                        timeUnixNano: time,
                        histogram: .init(count: 3, sum: 0.75, bounds: [0.1, 0.5], counts: [1, 1, 1])
                    ),
                ]
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            let apps = try await source.apps(accountID: credentials.account.id)
            let swiftShop = try #require(apps.first { $0.name == "swift-shop" })
            try await source.setApdex(appID: swiftShop.id, transaction: "POST /orders", seconds: 0.05)
            _ = try await source.recordDeployment(
                appID: swiftShop.id,
                at: Double(minute + 90),
                revision: "v2",
                description: "faster orders",
                user: "ci"
            )
            var paths = [
                "/api/v1/apps?since=1h", "/api/v1/keys", "/api/v1/tokens", "/api/v1/users", "/api/v1/hosts?since=1h",
                "/api/v1/hosts/test-host?since=1h",
            ]
            for app in apps {
                let base = "/api/v1/apps/\(app.id)"
                paths += [
                    "\(base)?since=1h", "\(base)/overview?since=1h", "\(base)/summary?since=1h",
                    "\(base)/series?since=1h", "\(base)/transactions?since=1h&order=time",
                    "\(base)/apdex?t=0.3&since=1h", "\(base)/databases?since=1h", "\(base)/externals?since=1h",
                    "\(base)/errors?since=1h", "\(base)/traces?since=1h", "\(base)/deployments?since=1d",
                    "\(base)/databases/series?since=1h", "\(base)/externals/series?since=1h",
                    "\(base)/histogram?since=1h",
                    "\(base)/process?since=1h", "\(base)/logs?since=1h", "\(base)/logs?since=1h&q=placed&level=error",
                    "\(base)/logs/histogram?since=1h",
                    "\(base)/logs?since=1h&trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
                    "\(base)/metrics?since=1h",
                ]
                if app.name == "swift-shop" {
                    paths += [
                        "\(base)/metrics/system.cpu.utilization?since=1h&group_by=state",
                        "\(base)/metrics/http.server.requests?since=1h",
                        "\(base)/metrics/http.server.duration?since=1d",
                    ]
                    paths.append("\(base)/summary?since=1h&transaction=GET+%2Fitems")
                    paths.append("\(base)/transactions/breakdown?since=1h&transaction=GET+%2Fitems")
                } else {
                    paths.append("\(base)/transactions/breakdown?since=1h&transaction=GET+%2Forders%2F%7Bid%7D")
                }
                for trace in try await source.traces(appID: app.id, transaction: nil, range: 0..<Int64.max, limit: 5) {
                    paths.append("\(base)/traces/\(trace.id)")
                }
            }
            return paths
        }
        let before = try await sourceCollector.application.test(.live) { client in
            var answers: [String: String] = [:]
            for path in paths { answers[path] = try await Self.answer(path, token: token, client: client) }
            return answers
        }
        let breakdowns = before.filter { $0.key.contains("/breakdown") }
        #expect(
            breakdowns.count == 2 && breakdowns.values.allSatisfy { $0.contains("\"p95\"") },
            "p95 per call, copied"
        )

        try await StoreBackend.withPostgresDatabase { database in
            try await StoreBackend.postgresStore(database).withRunning { target in
                let progress = Locked<[String: Int]>([:])
                let copied = try await StorageMigration.copy(from: source, to: target, replace: false) {
                    table,
                    done,
                    _ in progress.withLock { $0[table] = done }
                }
                #expect(copied > 0)
                #expect(progress.withLock { $0["txn_minutes"] ?? 0 } > 0)
                // A database that holds data is refused without --replace.
                await #expect(throws: StoreError.self) {
                    _ = try await StorageMigration.copy(from: source, to: target, replace: false) { _, _, _ in }
                }
                #expect(
                    try await StorageMigration.copy(from: source, to: target, replace: true) { _, _, _ in } == copied
                )

                let targetCollector = Collector(
                    configuration: Support.configuration(),
                    logger: Support.quietLogger,
                    store: target,
                    now: clock.reader
                )
                #expect(try await targetCollector.bootstrapIfNeeded() == nil)
                try await targetCollector.application.test(.live) { client in
                    for path in paths {
                        let after = try await Self.answer(path, token: token, client: client)
                        #expect(
                            try Self.sameJSON(before[path] ?? "", after),
                            "\(path)\nSQLite:     \(before[path] ?? "")\nPostgreSQL: \(after)"
                        )
                    }
                }
            }
        }
        try await source.close()
    }

    static func answer(_ path: String, token: String, client: any TestClientProtocol) async throws -> String {
        try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
            #expect(response.status == .ok, "\(path): \(response.status) \(String(buffer: response.body))")
            return String(buffer: response.body)
        }
    }

    /// The same JSON, numbers equal to 1e-9 relative (sums of doubles may be added in another order).
    static func sameJSON(_ left: String, _ right: String) throws -> Bool {
        func same(_ a: Any, _ b: Any) -> Bool {
            switch (a, b) {
            case (let a as [String: Any], let b as [String: Any]):
                return a.keys.sorted() == b.keys.sorted() && a.allSatisfy { same($0.value, b[$0.key]!) }
            case (let a as [Any], let b as [Any]):
                return a.count == b.count && zip(a, b).allSatisfy { same($0, $1) }
            case (let a as NSNumber, let b as NSNumber):
                let x = a.doubleValue
                let y = b.doubleValue
                return x == y || abs(x - y) <= 1e-9 * max(1, abs(x), abs(y))
            case (let a as String, let b as String):
                return a == b
            case (is NSNull, is NSNull):
                return true
            default:
                return false
            }
        }
        return same(
            try JSONSerialization.jsonObject(with: Data(left.utf8), options: [.fragmentsAllowed]),
            try JSONSerialization.jsonObject(with: Data(right.utf8), options: [.fragmentsAllowed])
        )
    }
}
