import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Application log lines from an agent's batches and from OTLP exports: stored once each, with level, trace and
/// transaction, searchable with the same answers on both backends; cut, repaired, scrubbed, capped, retained.
@Suite struct LogIngestTests {
    typealias Support = CollectorTestSupport

    static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let otherTrace = "0af7651916cd43dd8448eb211c80319c"

    /// The agent's lines: (offset in ms from the minute, level, message, trace, transaction).
    static func agentLogs(minute: Int64) -> [LogRecord] {
        let base = minute * 1_000_000_000
        func at(_ milliseconds: Int64) -> Int64 { base + milliseconds * 1_000_000 + 123 }
        return [
            LogRecord(timeUnixNano: at(100), level: .info, message: "worker started on port 8080"),
            LogRecord(
                timeUnixNano: at(200),
                level: .info,
                message: "looking up user 7",
                attributes: ["user.id": "7", "logger": "shop"],
                traceID: trace,
                spanID: "00f067aa0ba902b7",
                transaction: "GET /users/:id"
            ),
            LogRecord(
                timeUnixNano: at(300),
                level: .warn,
                message: "user 7 has no address",
                traceID: trace,
                spanID: "00f067aa0ba902b7",
                transaction: "GET /users/:id"
            ),
            LogRecord(
                timeUnixNano: at(400),
                level: .error,
                message: "payment declined for order 12 (card expired)",
                attributes: ["password": "hunter2"],
                traceID: otherTrace,
                spanID: "b7ad6b7169203331",
                transaction: "POST /checkout"
            ),
            LogRecord(
                timeUnixNano: at(500),
                level: .debug,
                message: "connecting with Authorization: Bearer abc.def.ghi and apm_0123456789abcdef0123456789abcdef"
            ),
            LogRecord(timeUnixNano: at(600), level: .fatal, message: "out of memory\u{0} while declining"),
            LogRecord(
                timeUnixNano: at(700),
                level: .info,
                message: String(repeating: "x", count: LogRecord.maxMessageBytes - 1) + "é and more"
            ),
        ]
    }

    struct Page: Decodable {
        var logs: [APILogRecord]
        var next_cursor: String?
        var traces: [String: Int64]
    }

    @Test(arguments: StoreBackend.available)
    func agentAndOTLPLinesArriveOnceAndSearchGivesTheExpectedLines(backend: StoreBackend) async throws {
        // The OTLP fixture was exported by the Python SDK at 1796315709.54 s: the collector's clock is a minute on.
        let clock = Locked(1_796_315_770.0)
        let minute: Int64 = 1_796_315_700 - 1_796_315_700 % 60 - 120
        try await Support.withCollector(backend: backend, now: clock.reader) { collector, client, key in
            var batch = Support.batch(minute: minute, metrics: [Support.metric("GET /users/:id", durations: [0.1])])
            batch.createdAt = Double(minute + 30)
            batch.logs = Self.agentLogs(minute: minute)
            batch.dropped.logs = 3
            // Sent twice (a retry): stored once (the retry is answered as a duplicate).
            for expected in [HTTPResponse.Status.accepted, .ok] {
                let answer = try await Support.post(batch, key: key, client: client)
                #expect(answer.status == expected, "\(answer.body)")
            }

            // The real Python SDK's export (protobuf), twice: stored once.
            let fixture = try Data(
                contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("Fixtures/otlp-python-logs.binpb")
            )
            for _ in 0..<2 {
                let answer = try await Self.postLogs(fixture, key: key, client: client, type: "application/x-protobuf")
                #expect(answer.status == .ok)
                #expect(answer.body.isEmpty)
            }

            func get<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
                try await Support.get(type, "/api/v1/apps\(path)", key: key, client: client)
            }
            let apps = try await get(AppsResponse.self, "?from=\(minute - 3600)&to=\(minute + 600)").apps
            let shop = try #require(apps.first { $0.name == "shop" }?.id)
            let python = try #require(apps.first { $0.name == "python-sdk" }?.id)
            let range = "from=\(minute - 3600)&to=\(minute + 600)"

            // Every agent line once, newest first, exactly as sent but for the repairs.
            let all = try await get(Page.self, "/\(shop)/logs?\(range)")
            #expect(all.logs.count == 7)
            #expect(all.logs.map(\.timeUnixNano) == Self.agentLogs(minute: minute).map(\.timeUnixNano).reversed())
            let byTime = Dictionary(uniqueKeysWithValues: all.logs.map { ($0.timeUnixNano, $0) })
            let sent = Self.agentLogs(minute: minute)
            #expect(byTime[sent[1].timeUnixNano]?.traceID == Self.trace)
            #expect(byTime[sent[1].timeUnixNano]?.transaction == "GET /users/:id")
            #expect(byTime[sent[1].timeUnixNano]?.attributes == ["user.id": "7", "logger": "shop"])
            #expect(byTime[sent[1].timeUnixNano]?.host == "test-host")
            #expect(byTime[sent[0].timeUnixNano]?.traceID == nil)
            // Secrets replaced before storing; a NUL repaired; a long line cut at 16 KiB on a character boundary.
            #expect(byTime[sent[3].timeUnixNano]?.attributes["password"] == "[Filtered]")
            let debug = try #require(byTime[sent[4].timeUnixNano]?.message)
            #expect(!debug.contains("abc.def.ghi") && !debug.contains("0123456789abcdef0123456789abcdef"))
            #expect(byTime[sent[5].timeUnixNano]?.message == "out of memory\u{FFFD} while declining")
            let long = try #require(byTime[sent[6].timeUnixNano]?.message)
            #expect(long.utf8.count == LogRecord.maxMessageBytes - 1)
            #expect(all.next_cursor == nil)

            // Search: words (any case), level at or above, trace, transaction, host; and their combinations.
            func messages(_ query: String, app: Int64? = nil) async throws -> [String] {
                try await get(Page.self, "/\(app ?? shop)/logs?\(range)&\(query)").logs.map(\.message)
            }
            #expect(
                try await messages("q=DECLINED")
                    == ["out of memory\u{FFFD} while declining", "payment declined for order 12 (card expired)"].filter
                { $0.contains("declined") }
            )
            #expect(try await messages("q=declining") == ["out of memory\u{FFFD} while declining"])
            #expect(try await messages("q=user%207") == ["user 7 has no address", "looking up user 7"])
            #expect(try await messages("q=user%20address") == ["user 7 has no address"])
            #expect(try await messages("q=nothing-like-this").isEmpty)
            #expect(try await messages("level=warn").count == 3)
            #expect(
                try await messages("level=error") == [
                    "out of memory\u{FFFD} while declining", "payment declined for order 12 (card expired)",
                ]
            )
            #expect(
                try await messages("trace_id=\(Self.trace.uppercased())") == [
                    "user 7 has no address", "looking up user 7",
                ]
            )
            #expect(
                try await messages("transaction=POST%20%2Fcheckout") == ["payment declined for order 12 (card expired)"]
            )
            #expect(try await messages("q=user&level=warn") == ["user 7 has no address"])
            #expect(try await messages("host=other").isEmpty)

            // Pages of two go through every line once, in order.
            var cursor: String?
            var paged: [Int64] = []
            repeat {
                let page = try await get(
                    Page.self,
                    "/\(shop)/logs?\(range)&limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                )
                paged += page.logs.map(\.id)
                cursor = page.next_cursor
            } while cursor != nil
            #expect(paged == all.logs.map(\.id))

            // The histogram: per level, from the per-minute counts (no filter) and from the lines (a filter).
            let histogram = try await get(APILogHistogram.self, "/\(shop)/logs/histogram?\(range)")
            #expect(histogram.totals == [.info: 3, .warn: 1, .error: 1, .debug: 1, .fatal: 1])
            #expect(histogram.buckets.map(\.start) == [minute - minute % histogram.bucketSeconds])
            #expect(histogram.volume.stored == 7)
            #expect(histogram.volume.cut == 1)
            #expect(histogram.volume.droppedByAgent == 3)
            let filtered = try await get(APILogHistogram.self, "/\(shop)/logs/histogram?\(range)&q=user")
            #expect(filtered.totals == [.info: 1, .warn: 1])

            // The OTLP lines: the SDK's levels, trace and span ids, resource host, the secret replaced.
            let otlp = try await get(Page.self, "/\(python)/logs?\(range)")
            #expect(
                otlp.logs.map(\.message).reversed() == [
                    "starting worker 7", "GET /orders/7 received", "slow query on orders took 812 ms",
                    "payment declined for order 7", "password=[Filtered] leaked in config dump",
                ]
            )
            #expect(otlp.logs.map(\.level).reversed() == [.info, .info, .warn, .error, .fatal])
            #expect(otlp.logs.allSatisfy { $0.host == "py-host" })
            let inTrace = try await get(Page.self, "/\(python)/logs?\(range)&trace_id=\(Self.trace)").logs
            #expect(inTrace.count == 3)
            #expect(inTrace.allSatisfy { $0.spanID == "00f067aa0ba902b7" })
            #expect(inTrace.first { $0.level == .error }?.attributes["order.id"] == "7")
            #expect(try await messages("q=declined", app: python) == ["payment declined for order 7"])

            // Bad parameters get clear answers.
            for (query, field) in [
                ("level=loud", "level"), ("trace_id=xyz", "trace_id"), ("cursor=abc", "cursor"), ("limit=0", "limit"),
            ] {
                let status = try await client.execute(
                    uri: "/api/v1/apps/\(shop)/logs?\(query)",
                    method: .get,
                    headers: [.authorization: "Bearer \(Support.token(for: key))"]
                ) { ($0.status, String(buffer: $0.body)) }
                #expect(status.0 == .badRequest)
                #expect(status.1.contains(field), "\(status.1)")
            }
            _ = collector
        }
    }

    @Test(arguments: StoreBackend.available)
    func anOTLPJSONExportGetsPartialSuccessForImpossibleTimes(backend: StoreBackend) async throws {
        let now = Double(Support.currentMinute())
        try await Support.withCollector(backend: backend) { _, client, key in
            let nano = UInt64(now - 30) * 1_000_000_000
            let json = """
                {"resourceLogs": [{"resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": "node-shop"}},
                    {"key": "host.name", "value": {"stringValue": "node-1"}}]},
                  "scopeLogs": [{"logRecords": [
                    {"timeUnixNano": "\(nano)", "severityNumber": "SEVERITY_NUMBER_WARN", "body": {"stringValue": "disk 91% full"},
                     "traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "APBnqgupArc="},
                    {"timeUnixNano": \(nano + 1), "severityText": "ERROR", "body": {"stringValue": "write failed"}},
                    {"observedTimeUnixNano": "\(nano + 2)", "body": {"intValue": "42"}},
                    {"timeUnixNano": "1000", "severityNumber": 9, "body": {"stringValue": "from 1970"}}
                  ]}]}]}
                """
            let answer = try await Self.postLogs(Data(json.utf8), key: key, client: client, type: "application/json")
            #expect(answer.status == .ok)
            #expect(answer.body.contains(#""rejectedLogRecords":"1""#), "\(answer.body)")
            #expect(answer.body.contains("1 of 4 log records were not used"))
            let apps = try await Support.get(AppsResponse.self, "/api/v1/apps?since=1h", key: key, client: client)
            let app = try #require(apps.apps.first { $0.name == "node-shop" }?.id)
            let page = try await Support.get(Page.self, "/api/v1/apps/\(app)/logs?since=1h", key: key, client: client)
            #expect(page.logs.map(\.message) == ["42", "write failed", "disk 91% full"])
            #expect(page.logs.map(\.level) == [.info, .error, .warn])
            #expect(page.logs.last?.traceID == Self.trace)
            #expect(page.logs.last?.spanID == "00f067aa0ba902b7")
            // Malformed: a clear 400.
            let malformed = try await Self.postLogs(
                Data(#"{"resourceLogs": 3}"#.utf8),
                key: key,
                client: client,
                type: "application/json"
            )
            #expect(malformed.status == .badRequest)
        }
    }

    @Test(arguments: StoreBackend.available)
    func theDailyCapCountsWhatItRefusesAndRetentionDeletesOldLines(backend: StoreBackend) async throws {
        let now = Double(Support.currentMinute())
        let configuration = Support.configuration {
            $0.limits.cardinality.maxLogRecordsPerDay = 5
            $0.retention.logRetention = .seconds(86_400)
        }
        try await Support.withCollector(configuration, backend: backend) { collector, client, key in
            let minute = Int64(now) - 120
            func lines(_ count: Int, at second: Int64) -> [LogRecord] {
                (0..<count).map {
                    LogRecord(timeUnixNano: (second * 1_000_000_000) + Int64($0), level: .info, message: "line \($0)")
                }
            }
            var first = Support.batch(minute: minute, metrics: [])
            first.intervals = []
            first.logs = lines(3, at: minute)
            var second = Support.batch(minute: minute, metrics: [])
            second.intervals = []
            // Two days old: kept by the cap's count, deleted by retention (1 day).
            second.logs = lines(4, at: Int64(now) - 2 * 86_400)
            #expect(try await Support.post(first, key: key, client: client).status == .accepted)
            #expect(try await Support.post(second, key: key, client: client).status == .accepted)
            let app = try #require(
                try await Support.get(AppsResponse.self, "/api/v1/apps?since=1h", key: key, client: client).apps.first?
                    .id
            )
            let histogram = try await Support.get(
                APILogHistogram.self,
                "/api/v1/apps/\(app)/logs/histogram?since=3d",
                key: key,
                client: client
            )
            #expect(histogram.volume.stored == 5)
            #expect(histogram.volume.droppedByCap == 2)
            let report = try await collector.applyRetention()
            #expect(report.logRecordsDeleted == 2)
            let left = try await Support.get(Page.self, "/api/v1/apps/\(app)/logs?since=3d", key: key, client: client)
            #expect(left.logs.map(\.message) == ["line 2", "line 1", "line 0"])
        }
    }

    /// The attributes' JSON, written by hand, reads back as it was (quotes, backslashes, control characters,
    /// non-ASCII), with keys sorted, at most 32 kept, secrets replaced.
    @Test func attributesRoundTripThroughTheirStoredJSON() {
        var attributes = ["quote": "say \"hi\"", "slash": "a\\b/c", "control": "tab\there\u{1}", "unicode": "é 漢字 🎉"]
        let json = WritePlanner.attributesJSON(attributes)
        #expect(LogAttributesCoding.decode(json) == attributes)
        #expect(json.hasPrefix(#"{"control":"#))
        for index in 0..<40 { attributes["k\(index)"] = "\(index)" }
        attributes["api_key"] = "secret"
        let capped = LogAttributesCoding.decode(WritePlanner.attributesJSON(attributes))
        #expect(capped.count == LogRecord.maxAttributes)
        #expect(capped["api_key"] == "[Filtered]")
    }

    static func postLogs(
        _ body: Data,
        key: String,
        client: any TestClientProtocol,
        type: String
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        try await client.execute(
            uri: "/v1/logs",
            method: .post,
            headers: [.contentType: type, HTTPField.Name("x-apm-license-key")!: key],
            body: ByteBuffer(bytes: body)
        ) { ($0.status, String(buffer: $0.body)) }
    }
}
