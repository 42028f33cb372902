import APMCollector
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct IngestTests {
    typealias Support = CollectorTestSupport

    static func totalCount(_ collector: Collector, app: String = "shop") async throws -> UInt64 {
        let account = try #require(try await collector.store.accounts().first)
        guard let stored = try await collector.store.apps(accountID: account.id).first(where: { $0.name == app }) else {
            return 0
        }
        let now = Int64(Date().timeIntervalSince1970)
        return try await collector.store.appSlices(
            appID: stored.id,
            kind: .web,
            range: (now - 86_400)..<(now + 600),
            resolution: .hour
        )
        .reduce(0) { $0 + $1.count }
    }

    @Test(arguments: StoreBackend.available) func theSameBatchTwiceCountsOnce(backend: StoreBackend) async throws {
        try await Support.withCollector(backend: backend) { collector, client, key in
            let batch = Support.batch(
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /a", durations: [0.1, 0.2, 0.7])]
            )
            let first = try await Support.post(batch, key: key, client: client)
            #expect(first.status == .accepted)
            #expect(first.body.contains(#""duplicate":false"#))
            let second = try await Support.post(batch, key: key, client: client)
            #expect(second.status == .ok)
            #expect(second.body.contains(#""duplicate":true"#))
            #expect(try await Self.totalCount(collector) == 3)
        }
    }

    @Test(arguments: StoreBackend.available) func fiftyAgentsIngestingConcurrentlyGiveExactTotals(
        backend: StoreBackend
    ) async throws {
        try await Support.withCollector(backend: backend, transport: .live) { collector, client, key in
            let minute = Support.currentMinute()
            let batches = (0..<50).map { agent in
                Support.batch(
                    minute: minute,
                    metrics: (0..<20).map { name in
                        Support.metric(
                            "GET /route-\(name)",
                            durations: Array(repeating: 0.01 * Double(agent % 7 + 1), count: agent % 5 + 1)
                        )
                    }
                )
            }
            let expected = batches.reduce(UInt64(0)) { $0 + $1.intervals[0].transactions.reduce(0) { $0 + $1.count } }
            // Every agent sends its batch over a connection of its own, as agents do, and a third of them retry it
            // (as after a lost reply). (Over the test client's one connection the 67 posts were pipelined and served
            // one after another, so a slow moment anywhere in the queue timed out the last of them.)
            let port = try #require(collector.boundPort)
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for (index, batch) in batches.enumerated() {
                    for _ in 0..<(index % 3 == 0 ? 2 : 1) {
                        group.addTask {
                            try await TestClient.withClient(
                                host: "127.0.0.1",
                                port: port,
                                configuration: .init(timeout: .seconds(60))
                            ) { connection in
                                let body = try Gzip.compress(WireCoding.makeEncoder().encode(batch))
                                // With a Host, as every HTTP/1.1 client sends (the collector refuses a request without).
                                return try await connection.execute(
                                    TestClient.Request(
                                        "/v1/agent/batches",
                                        method: .post,
                                        authority: "127.0.0.1",
                                        headers: [
                                            .contentType: "application/json", .contentEncoding: "gzip",
                                            HTTPField.Name("X-APM-License-Key")!: key,
                                        ],
                                        body: ByteBuffer(bytes: body)
                                    )
                                ).status
                            }
                        }
                    }
                }
                for try await status in group { #expect(status == .accepted || status == .ok) }
            }
            #expect(try await Self.totalCount(collector) == expected)
        }
    }

    @Test(arguments: StoreBackend.available) func wrongOrRevokedKeyIs401(backend: StoreBackend) async throws {
        try await Support.withCollector(backend: backend) { collector, client, key in
            let batch = Support.batch(
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /a", durations: [0.1])]
            )
            let wrong = try await Support.post(
                batch,
                key: "apm_0000000000000000000000000000000000000000",
                client: client
            )
            #expect(wrong.status == .unauthorized)
            #expect(wrong.body.contains("unknown or revoked"))
            // Revoke the key through the API (with an admin token); a second key goes on ingesting.
            let account = try #require(try await collector.store.accounts().first)
            let second = try await collector.createCredential(.licenseKey, accountID: account.id, name: "second")
            let keys = try await collector.store.credentials(.licenseKey, accountID: account.id)
            let first = try #require(keys.first { $0.name == "default" })
            try await client.execute(
                uri: "/api/v1/keys/\(first.id)",
                method: .delete,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) {
                #expect($0.status == .noContent)
            }
            #expect(try await Support.post(batch, key: key, client: client).status == .unauthorized)
            #expect(try await Support.post(batch, key: second.secret, client: client).status == .accepted)
        }
    }

    @Test(arguments: StoreBackend.available) func keysAreStoredHashed(backend: StoreBackend) async throws {
        try await Support.withCollector(backend: backend) { collector, _, key in
            let account = try #require(try await collector.store.accounts().first)
            let records = try await collector.store.credentials(.licenseKey, accountID: account.id)
            #expect(records.count == 1)
            #expect(records[0].prefix == String(key.prefix(8)))
            #expect(try await collector.store.activeCredential(.licenseKey, hash: key) == nil)
            #expect(try await collector.store.activeCredential(.licenseKey, hash: CredentialGenerator.hash(key)) != nil)
        }
    }

    static let badBodies: [(String, String, String)] = [
        ("malformed JSON", "{\"version\": 1, ", "not valid JSON"),
        ("wrong type", #"{"version": 1, "batch_id": "abcdefgh-1", "agent": {"app_name": 5}}"#, "agent.app_name"),
        ("missing field", #"{"version": 1, "batch_id": "abcdefgh-1"}"#, "agent"),
        ("future version", #"{"version": 9}"#, "version 9 is not supported"),
    ]

    @Test func malformedBodiesAre400WithTheField() async throws {
        try await Support.withCollector { _, client, key in
            for (label, body, fragment) in Self.badBodies {
                let response = try await Support.postRaw(Data(body.utf8), key: key, client: client, gzip: false)
                #expect(response.status == .badRequest, "\(label)")
                #expect(response.body.contains(fragment), "\(label): \(response.body)")
            }
        }
    }

    @Test func implausibleFiguresAre400() async throws {
        try await Support.withCollector { _, client, key in
            let minute = Support.currentMinute()
            var negative = Support.batch(minute: minute, metrics: [Support.metric("GET /a", durations: [0.1])])
            negative.intervals[0].transactions[0].totalDuration = -5
            var future = Support.batch(minute: minute + 86_400, metrics: [Support.metric("GET /a", durations: [0.1])])
            future.createdAt = Double(minute)
            var ancient = Support.batch(
                minute: minute - 30 * 86_400,
                metrics: [Support.metric("GET /a", durations: [0.1])]
            )
            ancient.createdAt = Double(minute)
            var inconsistent = Support.batch(
                minute: minute,
                metrics: [Support.metric("GET /a", durations: [0.1, 0.2])]
            )
            inconsistent.intervals[0].transactions[0].satisfied = 1
            let segment = SegmentMetric(
                transaction: "GET /a",
                name: "Postgres SELECT t",
                category: .datastore,
                count: 1,
                totalDuration: 0.05,
                exclusiveDuration: 0.05,
                minDuration: 0.05,
                maxDuration: 0.05,
                slowestStatement: "SELECT * FROM t WHERE a = ?",
                slowestStatementDuration: 0.05
            )
            var longStatement = Support.batch(minute: minute, metrics: [Support.metric("GET /a", durations: [0.1])])
            longStatement.intervals[0].segments = [segment]
            longStatement.intervals[0].segments[0].slowestStatement = String(repeating: "x", count: 5000)
            var statementWithoutDuration = longStatement
            statementWithoutDuration.intervals[0].segments = [segment]
            statementWithoutDuration.intervals[0].segments[0].slowestStatementDuration = nil
            var slowerThanTheSlowest = statementWithoutDuration
            slowerThanTheSlowest.intervals[0].segments[0].slowestStatementDuration = 0.5
            // PostgreSQL's text cannot hold a NUL: refused on every backend, naming the field.
            let nulName = Support.batch(minute: minute, metrics: [Support.metric("GET /a\u{0}b", durations: [0.1])])
            for (batch, fragment) in [
                (nulName, "\"intervals[0].transactions[0].name\""), (nulName, "contains a NUL character"),
                (negative, "total_duration"), (future, "in the future"), (ancient, "older than"),
                (inconsistent, "must equal count"), (longStatement, "\"intervals[0].segments[0].slowest_statement\""),
                (longStatement, "is 5000 bytes long; at most 4096 are allowed"),
                (statementWithoutDuration, "\"intervals[0].segments[0].slowest_statement_duration\""),
                (slowerThanTheSlowest, "must not exceed max_duration"),
            ] {
                let response = try await Support.post(batch, key: key, client: client)
                #expect(response.status == .badRequest)
                #expect(response.body.contains(fragment), "\(response.body)")
            }
        }
    }

    /// Databases show the statement of the slowest call from the agents' metrics, across batches, even when no
    /// trace was kept.
    @Test(arguments: StoreBackend.available) func theSlowestStatementOfEachOperationComesFromTheMetrics(
        backend: StoreBackend
    ) async throws {
        try await Support.withCollector(backend: backend) { _, client, key in
            let minute = Support.currentMinute(offset: -2)
            for (statement, seconds) in [
                ("SELECT * FROM t WHERE a = ?", 0.2), ("SELECT * FROM t WHERE b = ?", 0.9),
                ("SELECT * FROM t WHERE c = ?", 0.4),
            ] {
                var batch = Support.batch(minute: minute, metrics: [Support.metric("GET /a", durations: [1.0])])
                batch.intervals[0].segments = [
                    SegmentMetric(
                        transaction: "GET /a",
                        name: "Postgres SELECT t",
                        category: .datastore,
                        system: "postgresql",
                        operation: "SELECT",
                        target: "t",
                        count: 2,
                        totalDuration: seconds + 0.01,
                        exclusiveDuration: seconds + 0.01,
                        minDuration: 0.01,
                        maxDuration: seconds,
                        slowestStatement: statement,
                        slowestStatementDuration: seconds
                    )
                ]
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            struct Databases: Decodable { var databases: [APIDatabaseRow] }
            for since in ["1h", "7d"] {  // minute rows, then hour rows
                let rows = try await Support.get(
                    Databases.self,
                    "/api/v1/apps/1/databases?since=\(since)",
                    key: key,
                    client: client
                ).databases
                #expect(rows.count == 1)
                #expect(rows.first?.calls == 6)
                #expect(rows.first?.slowestStatement == "SELECT * FROM t WHERE b = ?", "\(since)")
            }
        }
    }

    /// `apm run-program`'s process reports name the app but not its language or agent: they must not blank
    /// what the agent reported (the demo's apps page showed an empty language badge).
    @Test(arguments: StoreBackend.available) func processReportsKeepTheAgentsLanguageAndVersion(
        backend: StoreBackend
    ) async throws {
        try await Support.withCollector(backend: backend) { _, client, key in
            let minute = Support.currentMinute(offset: -1)
            #expect(
                try await Support.post(
                    Support.batch(minute: minute, metrics: [Support.metric("GET /a", durations: [0.1])]),
                    key: key,
                    client: client
                ).status == .accepted
            )
            let report = ProcessReport(
                appName: "shop",
                host: "h",
                pid: 1,
                command: "./shop",
                samples: [
                    ProcessSample(
                        timestamp: Double(minute),
                        cpuPercent: 5,
                        residentBytes: 1 << 20,
                        threads: 2,
                        openFiles: 3
                    )
                ],
                events: []
            )
            try await client.execute(
                uri: "/v1/agent/process",
                method: .post,
                headers: [.contentType: "application/json", HTTPField.Name("X-APM-License-Key")!: key],
                body: ByteBuffer(bytes: try WireCoding.makeEncoder().encode(report))
            ) { #expect($0.status == .accepted || $0.status == .ok) }
            let apps = try await Support.get(AppsResponse.self, "/api/v1/apps?since=1h", key: key, client: client)
            #expect(apps.apps.map(\.language) == ["swift"])
        }
    }

    /// An app known only from run-program's process reports (an OTel SDK that cannot export, an app without the
    /// agent) says on the apps page why it has no data (before: an empty row, no language, no word).
    @Test func anAppWithAProcessButNoTransactionsSaysWhy() async throws {
        try await Support.withCollector { _, client, key in
            let report = ProcessReport(
                appName: "flask",
                host: "h",
                pid: 1,
                command: "opentelemetry-instrument flask run",
                samples: [
                    ProcessSample(
                        timestamp: Double(Support.currentMinute()),
                        cpuPercent: 5,
                        residentBytes: 1 << 20,
                        threads: 2,
                        openFiles: 3
                    )
                ],
                events: []
            )
            try await client.execute(
                uri: "/v1/agent/process",
                method: .post,
                headers: [.contentType: "application/json", HTTPField.Name("X-APM-License-Key")!: key],
                body: ByteBuffer(bytes: try WireCoding.makeEncoder().encode(report))
            ) { #expect($0.status == .accepted || $0.status == .ok) }
            let apps = try await Support.get(AppsResponse.self, "/api/v1/apps?since=1h", key: key, client: client)
            let flask = try #require(apps.apps.first)
            #expect(flask.language.isEmpty)
            #expect(
                flask.warnings.contains { $0.contains("no transactions have arrived") && $0.contains("http/protobuf") }
            )
            // Once a transaction arrives the warning goes.
            let batch = Support.batch(
                app: "flask",
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /", durations: [0.1])]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let after = try await Support.get(AppsResponse.self, "/api/v1/apps?since=1h", key: key, client: client)
            #expect(after.apps.first?.warnings.contains { $0.contains("no transactions have arrived") } == false)
        }
    }

    @Test func oversizedBodyAndGzipBombAre413WithoutInflatingIntoMemory() async throws {
        let configuration = Support.configuration {
            $0.limits.maxBodyBytes = 1024 * 1024
            $0.limits.maxDecompressedBytes = 4 * 1024 * 1024
        }
        try await Support.withCollector(configuration) { _, client, key in
            let big = Data(repeating: UInt8(ascii: " "), count: 2 * 1024 * 1024)
            let oversized = try await Support.postRaw(big, key: key, client: client, gzip: false)
            #expect(oversized.status == .contentTooLarge)

            // 512 MiB of zeros compress to about 500 KiB: under the body limit, far over the decompressed one.
            let bomb = try Gzip.compress(Data(count: 512 * 1024 * 1024), level: 9)
            #expect(bomb.count < 1024 * 1024)
            let before = Support.residentBytes()
            let response = try await Support.postRaw(bomb, key: key, client: client, gzip: true)
            let growth = Support.residentBytes() - before
            #expect(response.status == .contentTooLarge)
            #expect(response.body.contains("decompressed"))
            // Inflated, the bomb would take 512 MiB. The bound is half of that, not the 4 MiB limit: resident memory
            // is the whole test process's, and other suites allocate in parallel (64 MiB was exceeded once, by
            // them, in a busy full run).
            #expect(growth < 256 * 1024 * 1024, "resident memory grew by \(growth) bytes")
        }
    }

    @Test func wrongContentTypeIs415() async throws {
        try await Support.withCollector { _, client, key in
            try await client.execute(
                uri: "/v1/agent/batches",
                method: .post,
                headers: [.contentType: "text/plain", HTTPField.Name("X-APM-License-Key")!: key],
                body: ByteBuffer(string: "hi")
            ) { #expect($0.status == .unsupportedMediaType) }
        }
    }

    @Test(arguments: StoreBackend.available) func tenThousandDistinctNamesAreCappedWithAWarning(
        backend: StoreBackend
    ) async throws {
        let configuration = Support.configuration { $0.limits.cardinality.maxTransactionNames = 2_000 }
        try await Support.withCollector(configuration, backend: backend) { collector, client, key in
            let minute = Support.currentMinute()
            for part in 0..<10 {
                let metrics = (0..<1_000).map {
                    Support.metric("GET /leak/\(String(part * 1_000 + $0, radix: 36))z", durations: [0.01])
                }
                #expect(
                    try await Support.post(Support.batch(minute: minute, metrics: metrics), key: key, client: client)
                        .status == .accepted
                )
            }
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            let totals = try await collector.store.transactionTotals(
                appID: app.id,
                range: (minute - 60)..<(minute + 60),
                resolution: .minute,
                withHistograms: false
            )
            #expect(totals.count == 2_001)
            #expect(totals.first { $0.name == "(overflow)" }?.count == 8_000)
            #expect(totals.reduce(0) { $0 + $1.count } == 10_000)
            let apps = try await Support.get(AppsResponse.self, "/api/v1/apps", key: key, client: client)
            let warning = try #require(apps.apps.first?.warnings.first { $0.contains("Too many distinct names") })
            #expect(warning.contains("8000 transactions"))
            #expect(warning.contains("GET /leak/"))
        }
    }

    @Test func healthAndMetricsEndpoints() async throws {
        try await Support.withCollector { collector, client, key in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            _ = try await Support.post(
                Support.batch(minute: Support.currentMinute(), metrics: [Support.metric("GET /a", durations: [0.1])]),
                key: key,
                client: client
            )
            _ = try await Support.postRaw(Data("{".utf8), key: key, client: client, gzip: false)
            // Read on the scrape itself (before: only by retention, so 0 for the first 10 minutes).
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("apm_batches_accepted_total 1"))
                #expect(text.contains(#"apm_batches_rejected_total{reason="malformed"} 1"#))
                #expect(text.contains("apm_ingest_duration_seconds_bucket"))
                #expect(text.contains(#"apm_store_rows{table="txn_minutes"} 1"#))
            }
        }
    }

    @Test(arguments: StoreBackend.available) func apiRejectsBadParametersAndOtherAccountsApps(
        backend: StoreBackend
    ) async throws {
        try await Support.withCollector(backend: backend) { collector, client, key in
            _ = try await Support.post(
                Support.batch(minute: Support.currentMinute(), metrics: [Support.metric("GET /a", durations: [0.1])]),
                key: key,
                client: client
            )
            let other = try await collector.store.createAccount(name: "other")
            let otherToken = try await collector.createCredential(
                .apiToken,
                accountID: other.id,
                name: "x",
                scope: .read
            ).secret
            for (path, status) in [
                ("/api/v1/apps/1/series?since=forever", HTTPResponse.Status.badRequest),
                ("/api/v1/apps/1/apdex?t=-1", .badRequest),
                ("/api/v1/apps/1/transactions?order=random", .badRequest), ("/api/v1/apps/999/series", .notFound),
                ("/api/v1/apps/abc/series", .badRequest), ("/api/v1/apps/1/series?from=5", .badRequest),
            ] {
                try await client.execute(
                    uri: path,
                    method: .get,
                    headers: [.authorization: "Bearer \(CollectorTestSupport.token(for: key))"]
                ) {
                    #expect($0.status == status, "\(path)")
                    #expect(String(buffer: $0.body).contains("\"message\""))
                }
            }
            try await client.execute(
                uri: "/api/v1/apps/1/series",
                method: .get,
                headers: [.authorization: "Bearer \(otherToken)"]
            ) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/apps", method: .get) { #expect($0.status == .unauthorized) }
        }
    }
}
