import APMCollector
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// What an attacker with a valid license key can send to `/v1/agent/batches` and `/v1/agent/process`: numbers at
/// their extremes, impossible figures, oversized sample lists. Each gets a 400 (or is cut to the caps) and the
/// collector stays up and keeps answering.
@Suite struct HostileBatchTests {
    typealias Support = CollectorTestSupport

    /// A valid batch as a JSON object, to be changed field by field.
    static func object(_ batch: AgentBatch) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: WireCoding.makeEncoder().encode(batch)) as? [String: Any])
    }

    static func post(
        _ object: [String: Any],
        key: String,
        client: any TestClientProtocol
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        try await Support.postRaw(
            JSONSerialization.data(withJSONObject: object),
            key: key,
            client: client,
            gzip: false
        )
    }

    /// The collector still ingests a normal batch and answers the apps list (which read what was stored).
    static func expectAlive(_ key: String, _ client: any TestClientProtocol) async throws {
        let batch = Support.batch(
            minute: Support.currentMinute(),
            metrics: [Support.metric("GET /ok", durations: [0.1])]
        )
        #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
        let apps = try await Support.get(AppsResponse.self, "/api/v1/apps?since=1h", key: key, client: client)
        #expect(!apps.apps.isEmpty)
        try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
    }

    static func validBatch() -> AgentBatch {
        let minute = Support.currentMinute(offset: -1)
        var batch = Support.batch(
            minute: minute,
            metrics: [Support.metric("GET /a", durations: [0.1, 0.3, 0.9], errors: [2])],
            segments: [
                SegmentMetric(
                    transaction: "GET /a",
                    name: "Postgres SELECT t",
                    category: .datastore,
                    count: 2,
                    totalDuration: 0.05,
                    exclusiveDuration: 0.05,
                    minDuration: 0.02,
                    maxDuration: 0.03
                )
            ]
        )
        batch.traces = [
            TransactionTrace(
                traceID: "0af7651916cd43dd8448eb211c80319c",
                transaction: "GET /a",
                kind: .web,
                start: Double(minute + 10),
                duration: 0.9,
                status: 500,
                segments: [
                    TraceSegment(
                        parent: nil,
                        name: "Postgres SELECT t",
                        category: .datastore,
                        offset: 0.1,
                        duration: 0.03
                    )
                ]
            )
        ]
        batch.errors = [
            ErrorSample(timestamp: Double(minute + 11), transaction: "GET /a", type: "Boom", message: "no", status: 500)
        ]
        batch.dropped = DropCounters(transactions: 1, segments: 2, traces: 3, errors: 4, overflowedNames: 5)
        return batch
    }

    /// Each of these trapped the collector (an `Int64(_:)` of a number past 2^63) or let impossible figures in.
    @Test func numbersPastTheirRangeAre400NamingTheFieldAndTheCollectorStaysUp() async throws {
        try await Support.withCollector { _, client, key in
            let huge = UInt64(1) << 63
            typealias Change = (String, (inout [String: Any]) -> Void)
            let changes: [Change] = [
                ("intervals[0].start", { Self.set(&$0, ["intervals", 0, "start"], Int64.max - 7) }),
                ("intervals[0].start", { Self.set(&$0, ["intervals", 0, "start"], Int64.min) }),
                ("created_at", { $0["created_at"] = 9.3e18 }),
                ("created_at", { $0["created_at"] = 1e300 }),
                ("errors[0].timestamp", { Self.set(&$0, ["errors", 0, "timestamp"], 9.3e18) }),
                ("traces[0].start", { Self.set(&$0, ["traces", 0, "start"], -1e300) }),
                ("dropped.transactions", { Self.set(&$0, ["dropped", "transactions"], huge) }),
                ("dropped.errors", { Self.set(&$0, ["dropped", "errors"], UInt64.max) }),
                (
                    "intervals[0].transactions[0].count",
                    { Self.set(&$0, ["intervals", 0, "transactions", 0, "count"], huge) }
                ),
                ("intervals[0].segments[0].count", { Self.set(&$0, ["intervals", 0, "segments", 0, "count"], huge) }),
                ("agent.pid", { Self.set(&$0, ["agent", "pid"], -1) }),
                ("traces[0].status", { Self.set(&$0, ["traces", 0, "status"], Int.max) }),
                ("traces[0].dropped_segments", { Self.set(&$0, ["traces", 0, "dropped_segments"], -5) }),
            ]
            let valid = try Self.object(Self.validBatch())
            for (field, change) in changes {
                var object = valid
                object["batch_id"] = UUID().uuidString
                change(&object)
                let response = try await Self.post(object, key: key, client: client)
                #expect(response.status == .badRequest, "\(field): \(response.body)")
                #expect(response.body.contains("\"field\":\"\(field)\""), "\(field): \(response.body)")
            }
            try await Self.expectAlive(key, client)
        }
    }

    /// Impossible figures that fit their types: S + T + F wrapping around 2^64 to the count, a breakdown larger
    /// than the transaction, a total above count × max.
    @Test func impossibleFiguresAre400NamingTheField() async throws {
        try await Support.withCollector { _, client, key in
            let valid = try Self.object(Self.validBatch())
            let path: [Any] = ["intervals", 0, "transactions", 0]
            typealias Change = (String, (inout [String: Any]) -> Void)
            let changes: [Change] = [
                (
                    "intervals[0].transactions[0].satisfied",
                    {
                        // 2^64 − 1 + 2 + 2 wraps to 3, the count.
                        Self.set(&$0, path + ["satisfied"], UInt64.max)
                        Self.set(&$0, path + ["tolerating"], 2)
                        Self.set(&$0, path + ["frustrated"], 2)
                    }
                ),
                ("intervals[0].transactions[0].breakdown", { Self.set(&$0, path + ["breakdown", "database"], 1e9) }),
                ("intervals[0].transactions[0].total_duration", { Self.set(&$0, path + ["total_duration"], 50.0) }),
                ("intervals[0].transactions[0].sum_of_squares", { Self.set(&$0, path + ["sum_of_squares"], 1e6) }),
                (
                    "intervals[0].segments[0].exclusive_duration",
                    { Self.set(&$0, ["intervals", 0, "segments", 0, "exclusive_duration"], 0.06) }
                ),
            ]
            for (field, change) in changes {
                var object = valid
                object["batch_id"] = UUID().uuidString
                change(&object)
                let response = try await Self.post(object, key: key, client: client)
                #expect(response.status == .badRequest, "\(field): \(response.body)")
                #expect(response.body.contains("\"field\":\"\(field)\""), "\(field): \(response.body)")
            }
            try await Self.expectAlive(key, client)
        }
    }

    /// Counts up to the documented limit are accepted, and rows that add up past any integer stay integers.
    @Test func largeCountsAddUpWithoutOverflowOrChangingType() async throws {
        try await Support.withCollector { collector, client, key in
            let minute = Support.currentMinute(offset: -1)
            for _ in 0..<3 {
                var metric = Support.metric("GET /many", durations: [0.1])
                let count: UInt64 = 1_000_000_000_000
                metric.count = count
                metric.satisfied = count
                metric.totalDuration = 0.1 * Double(count)
                metric.sumOfSquares = 0.01 * Double(count)
                metric.histogram = try LatencyHistogram(
                    firstIndex: metric.histogram.firstIndex,
                    counts: [count]
                )
                let batch = Support.batch(minute: minute, metrics: [metric])
                let response = try await Support.post(batch, key: key, client: client)
                #expect(response.status == .accepted, "\(response.body)")
            }
            let apps = try await Support.get(AppsResponse.self, "/api/v1/apps?since=1h", key: key, client: client)
            #expect(apps.apps.first?.summary.count == 3_000_000_000_000)
            let over = Support.batch(
                minute: minute,
                metrics: [
                    {
                        var metric = Support.metric("GET /many", durations: [0.1])
                        metric.count = 1_000_000_000_001
                        return metric
                    }()
                ]
            )
            let response = try await Support.post(over, key: key, client: client)
            #expect(response.status == .badRequest)
            #expect(response.body.contains("from 1 to 1000000000000"))
            _ = collector
        }
    }

    /// Thousands of error samples and traces in one batch are cut to the caps (the rest counted as dropped), so
    /// the store's writer is not held for seconds by one agent.
    @Test func samplesPastThePerBatchCapsAreCountedAsDroppedNotStored() async throws {
        let configuration = Support.configuration {
            $0.limits.samples.maxErrors = 20
            $0.limits.samples.maxTraces = 5
        }
        try await Support.withCollector(configuration) { collector, client, key in
            var batch = Self.validBatch()
            let start = Double(batch.intervals[0].start)
            batch.errors = (0..<30_000).map {
                ErrorSample(timestamp: start + 1, transaction: "GET /a", type: "Boom\($0 % 50)", message: "no \($0)")
            }
            batch.traces = (0..<50).map {
                TransactionTrace(
                    traceID: String(format: "%032x", $0 + 1),
                    transaction: "GET /a",
                    kind: .web,
                    start: start + 2,
                    duration: 0.001 * Double($0)
                )
            }
            batch.dropped = DropCounters()
            let response = try await Support.post(batch, key: key, client: client)
            #expect(response.status == .accepted, "\(response.body)")
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            let range = (Int64(start) - 600)..<(Int64(start) + 600)
            let groups = try await collector.store.errorGroups(appID: app.id, range: range, limit: 1000)
            #expect(groups.reduce(0) { $0 + $1.count } == 20)
            let traces = try await collector.store.traces(appID: app.id, transaction: nil, range: range, limit: 100)
            #expect(traces.count == 5)
            // The slowest are kept.
            #expect(traces.map(\.trace.duration).min() == 0.045)
            let dropped = try await collector.store.droppedCounts(
                appID: app.id,
                range: (range.lowerBound)..<(Int64(Date().timeIntervalSince1970) + 120)
            )
            #expect(dropped.errors == 29_980)
            #expect(dropped.traces == 45)
        }
    }

    @Test func appsPerAccountAreCapped() async throws {
        let configuration = Support.configuration { $0.limits.cardinality.maxApps = 3 }
        try await Support.withCollector(configuration) { _, client, key in
            for index in 0..<3 {
                let batch = Support.batch(
                    app: "app-\(index)",
                    minute: Support.currentMinute(),
                    metrics: [Support.metric("GET /", durations: [0.1])]
                )
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            let fourth = Support.batch(
                app: "app-3",
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /", durations: [0.1])]
            )
            let response = try await Support.post(fourth, key: key, client: client)
            #expect(response.status == .unprocessableContent)
            #expect(response.body.contains("max_apps"))
            // An existing app still reports.
            let again = Support.batch(
                app: "app-1",
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /", durations: [0.1])]
            )
            #expect(try await Support.post(again, key: key, client: client).status == .accepted)
        }
    }

    /// Media types are compared exactly, and a body labelled gzip must be gzip.
    @Test func lookalikeContentTypesAndMislabelledEncodingsAreRefused() async throws {
        try await Support.withCollector { _, client, key in
            let json = try WireCoding.makeEncoder().encode(Self.validBatch())
            try await client.execute(
                uri: "/v1/agent/batches",
                method: .post,
                headers: [.contentType: "application/jsonx", HTTPField.Name("X-APM-License-Key")!: key],
                body: ByteBuffer(bytes: json)
            ) { #expect($0.status == .unsupportedMediaType) }
            // A zlib stream (what HTTP calls deflate) labelled gzip.
            let zlib = Data([0x78, 0x9c]) + Data(try Gzip.compress(json).dropFirst(10).dropLast(8))
            try await client.execute(
                uri: "/v1/agent/batches",
                method: .post,
                headers: [
                    .contentType: "application/json", .contentEncoding: "gzip",
                    HTTPField.Name("X-APM-License-Key")!: key,
                ],
                body: ByteBuffer(bytes: zlib)
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("gzip header"))
            }
            try await client.execute(
                uri: "/v1/agent/batches",
                method: .post,
                headers: [.contentType: "application/json; charset=utf-8", HTTPField.Name("X-APM-License-Key")!: key],
                body: ByteBuffer(bytes: json)
            ) { #expect($0.status == .accepted) }
        }
    }

    /// Process reports: impossible samples are refused, and a retried report (same id) counts once.
    @Test func processReportsAreValidatedAndCountedOncePerID() async throws {
        try await Support.withCollector { collector, client, key in
            let now = Date().timeIntervalSince1970
            func report(_ sample: ProcessSample, id: String = UUID().uuidString) -> ProcessReport {
                ProcessReport(
                    appName: "shop",
                    host: "h",
                    pid: 7,
                    command: "./shop",
                    samples: [sample],
                    events: [],
                    reportID: id
                )
            }
            func post(_ report: ProcessReport) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: "/v1/agent/process",
                    method: .post,
                    headers: [.contentType: "application/json", HTTPField.Name("X-APM-License-Key")!: key],
                    body: ByteBuffer(bytes: try WireCoding.makeEncoder().encode(report))
                ) { ($0.status, String(buffer: $0.body)) }
            }
            let ahead = try await post(
                report(
                    ProcessSample(
                        timestamp: now + 6 * 86_400,
                        cpuPercent: 1,
                        residentBytes: 1,
                        threads: 1,
                        openFiles: 1
                    )
                )
            )
            #expect(ahead.0 == .badRequest)
            #expect(ahead.1.contains("samples[0].timestamp"))
            let negative = try await post(
                report(ProcessSample(timestamp: now, cpuPercent: 1, residentBytes: 1, threads: -4, openFiles: 1))
            )
            #expect(negative.0 == .badRequest)
            #expect(negative.1.contains("samples[0].threads"))

            let once = report(
                ProcessSample(timestamp: now, cpuPercent: 10, residentBytes: 1 << 20, threads: 3, openFiles: 5)
            )
            #expect(try await post(once).0 == .accepted)
            let retried = try await post(once)
            #expect(retried.0 == .ok)
            #expect(retried.1.contains("\"duplicate\":true"))
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            let minute = Int64(now) - Int64(now) % 60
            let slices = try await collector.store.processSlices(appID: app.id, range: (minute - 60)..<(minute + 120))
            #expect(slices.reduce(0) { $0 + $1.processes } == 1)
        }
    }

    /// Sets a value at a path of keys and indexes in a JSON object.
    static func set(_ object: inout [String: Any], _ path: [Any], _ value: Any) {
        guard let first = path.first else { return }
        let rest = Array(path.dropFirst())
        guard let key = first as? String else { return }
        if rest.isEmpty {
            object[key] = value
            return
        }
        object[key] = setting(object[key] as Any, rest, value)
    }

    private static func setting(_ node: Any, _ path: [Any], _ value: Any) -> Any {
        guard let first = path.first else { return value }
        let rest = Array(path.dropFirst())
        if let index = first as? Int, var array = node as? [Any], array.indices.contains(index) {
            array[index] = setting(array[index], rest, value)
            return array
        }
        if let key = first as? String, var dictionary = node as? [String: Any] {
            dictionary[key] = rest.isEmpty ? value : setting(dictionary[key] as Any, rest, value)
            return dictionary
        }
        return node
    }
}

/// Many apps: the API and the apps page list them a page at a time.
@Suite struct AppPagingTests {
    typealias Support = CollectorTestSupport

    struct Page: Decodable {
        var apps: [APIAppSummary]
        var total: Int
        var offset: Int
        var limit: Int
    }

    @Test func longAppListsArePaged() async throws {
        try await Support.withCollector { _, client, key in
            let minute = Support.currentMinute()
            for index in 0..<7 {
                let batch = Support.batch(
                    app: "app-\(index)",
                    minute: minute,
                    metrics: [Support.metric("GET /", durations: [0.1])]
                )
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            let first = try await Support.get(Page.self, "/api/v1/apps?limit=3", key: key, client: client)
            #expect(first.apps.map(\.name) == ["app-0", "app-1", "app-2"])
            #expect(first.total == 7)
            let last = try await Support.get(Page.self, "/api/v1/apps?limit=3&offset=6", key: key, client: client)
            #expect(last.apps.map(\.name) == ["app-6"])
            try await client.execute(
                uri: "/api/v1/apps?limit=100000",
                method: .get,
                headers: [.authorization: "Bearer \(CollectorTestSupport.token(for: key))"]
            ) { #expect($0.status == .badRequest) }
        }
    }

    @Test func theAppsPageShowsFiftyAtATime() async throws {
        try await Support.withCollector { collector, client, key in
            let minute = Support.currentMinute()
            for index in 0..<55 {
                let name = String(format: "app-%02d", index)
                let batch = Support.batch(
                    app: name,
                    minute: minute,
                    metrics: [Support.metric("GET /", durations: [0.1])]
                )
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let first = try await client.execute(uri: "/apps", method: .get, headers: [.cookie: session]) {
                String(buffer: $0.body)
            }
            #expect(first.components(separatedBy: "<tr data-app=").count - 1 == 50)
            #expect(first.contains("page 1 of 2 (55 apps)"))
            let second = try await client.execute(uri: "/apps?page=2", method: .get, headers: [.cookie: session]) {
                String(buffer: $0.body)
            }
            #expect(second.components(separatedBy: "<tr data-app=").count - 1 == 5)
            #expect(second.contains("data-app=\"app-54\""))
        }
    }
}
