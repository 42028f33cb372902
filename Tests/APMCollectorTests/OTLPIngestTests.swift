import APMCollector
import APMCore
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// OTLP/HTTP JSON exports from an app in another language: spans become the same transactions, breakdown,
/// Apdex, databases, externals, traces and errors as the agent's, with known answers.
@Suite struct OTLPIngestTests {
    typealias Support = CollectorTestSupport

    /// A span as an OpenTelemetry SDK exports it (OTLP/JSON: hex ids, nanoseconds as strings, integer kinds).
    static func span(
        trace: Int,
        id: Int,
        parent: Int? = nil,
        name: String,
        kind: Int,
        start: Double,
        seconds: Double,
        attributes: [String: String] = [:],
        error: Bool = false,
        exception: (type: String, message: String)? = nil
    ) -> [String: Any] {
        func nanos(_ value: Double) -> String { String(UInt64((value * 1e9).rounded())) }
        var span: [String: Any] = [
            "traceId": String(format: "%032x", trace), "spanId": String(format: "%016x", id), "name": name,
            "kind": kind, "startTimeUnixNano": nanos(start), "endTimeUnixNano": nanos(start + seconds),
            "attributes": attributes.sorted { $0.key < $1.key }.map {
                ["key": $0.key, "value": ["stringValue": $0.value]]
            },
        ]
        if let parent { span["parentSpanId"] = String(format: "%016x", parent) }
        if error { span["status"] = ["code": 2] }
        if let exception {
            span["events"] = [
                [
                    "name": "exception", "timeUnixNano": nanos(start + seconds),
                    "attributes": [
                        ["key": "exception.type", "value": ["stringValue": exception.type]],
                        ["key": "exception.message", "value": ["stringValue": exception.message]],
                        ["key": "exception.stacktrace", "value": ["stringValue": "at orders.py:12\nat app.py:3"]],
                    ],
                ]
            ]
        }
        return span
    }

    /// Four GET /orders/{id} requests (0.3 s with a 0.1 s query and a 0.05 s call, 0.2 s, 0.7 s, and 2.5 s
    /// failing with an exception), one consumer span, one span whose parent was exported elsewhere, one span
    /// without an end.
    static func export(at start: Double) throws -> Data {
        try body(spans(at: start))
    }

    /// The spans of ``export(at:)``, in the order an SDK would list them.
    static func spans(at start: Double) -> [[String: Any]] {
        let route = ["http.request.method": "GET", "http.route": "/orders/{id}", "url.path": "/orders/7"]
        let spans: [[String: Any]] = [
            span(trace: 1, id: 1, name: "GET /orders/{id}", kind: 2, start: start, seconds: 0.3, attributes: route),
            span(
                trace: 1,
                id: 2,
                parent: 1,
                name: "SELECT shop",
                kind: 3,
                start: start + 0.05,
                seconds: 0.1,
                attributes: ["db.system.name": "postgresql", "db.query.text": "SELECT * FROM orders WHERE id = 42"]
            ),
            span(
                trace: 1,
                id: 3,
                parent: 1,
                name: "GET",
                kind: 3,
                start: start + 0.2,
                seconds: 0.05,
                attributes: [
                    "http.request.method": "GET", "server.address": "payments.example",
                    "url.full": "https://payments.example/charge?card=4111",
                ]
            ),
            span(trace: 2, id: 4, name: "GET /orders/{id}", kind: 2, start: start + 1, seconds: 0.2, attributes: route),
            span(trace: 3, id: 5, name: "GET /orders/{id}", kind: 2, start: start + 2, seconds: 0.7, attributes: route),
            span(
                trace: 4,
                id: 6,
                name: "GET /orders/{id}",
                kind: 2,
                start: start + 3,
                seconds: 2.5,
                attributes: route.merging(["http.response.status_code": "500"]) { a, _ in a },
                error: true,
                exception: ("OrderNotFound", "<b>no order 7</b>")
            ),
            span(trace: 5, id: 7, name: "process payment", kind: 5, start: start + 4, seconds: 0.2),
            span(trace: 6, id: 8, parent: 99, name: "orphan", kind: 1, start: start + 5, seconds: 0.1),
            // Ended 30 days ago: rejected alone, without costing the rest of the export.
            span(trace: 8, id: 10, name: "GET /old", kind: 2, start: start - 30 * 86_400, seconds: 0.1),
            ["traceId": String(format: "%032x", 7), "spanId": String(format: "%016x", 9), "name": "no end"],
        ]
        return spans
    }

    /// An export of `spans` from the Flask app's resource.
    static func body(_ spans: [[String: Any]], service: String = "flask-shop") throws -> Data {
        let body: [String: Any] = [
            "resourceSpans": [
                [
                    "resource": [
                        "attributes": [
                            ["key": "service.name", "value": ["stringValue": service]],
                            ["key": "telemetry.sdk.language", "value": ["stringValue": "python"]],
                        ]
                    ],
                    "scopeSpans": [["scope": ["name": "opentelemetry.instrumentation.flask"], "spans": spans]],
                ]
            ]
        ]
        return try JSONSerialization.data(withJSONObject: body)
    }

    static func post(
        _ body: Data,
        key: String,
        client: any TestClientProtocol,
        contentType: String = "application/json"
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        try await client.execute(
            uri: "/v1/traces",
            method: .post,
            headers: [.contentType: contentType, HTTPField.Name("x-apm-license-key")!: key],
            body: ByteBuffer(bytes: body)
        ) { ($0.status, String(buffer: $0.body)) }
    }

    /// The known answers of the workload both exports describe (see ``export(at:)`` and the fixture): the
    /// transactions with exact Apdex and breakdown, the database call with its obfuscated statement, the
    /// external host, the 2.5 s trace and the one error group, which is returned for the caller's checks.
    static func expectTheWorkloadsAnswers(
        app name: String,
        key: String,
        client: any TestClientProtocol
    ) async throws -> [APIErrorGroup] {
        func get<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
            try await Support.get(type, "/api/v1/apps\(path)", key: key, client: client)
        }
        let app = try #require(try await get(AppsResponse.self, "?since=1h").apps.first { $0.name == name })
        #expect(app.language == "python")
        struct Rows: Decodable { var transactions: [APITransactionRow] }
        let rows = try await get(Rows.self, "/\(app.id)/transactions?since=1h").transactions
        let orders = try #require(rows.first { $0.name == "GET /orders/{id}" })
        #expect(orders.kind == "web")
        #expect(orders.figures.count == 4 && orders.figures.errors == 1)
        // S: 0.3, 0.2 ≤ 0.5; T: 0.7; F: 2.5 s (failed).
        #expect(orders.figures.apdex.satisfied == 2)
        #expect(orders.figures.apdex.tolerating == 1)
        #expect(orders.figures.apdex.frustrated == 1)
        #expect(abs(orders.figures.breakdown.database - 0.1 / 4) < 1e-6)
        #expect(abs(orders.figures.breakdown.external - 0.05 / 4) < 1e-6)
        #expect(abs((orders.figures.average ?? 0) - 3.7 / 4) < 1e-6)
        // The breakdown's calls have their percentiles: one call each, so p95 is that call.
        let breakdown = try await get(
            APITransactionBreakdown.self,
            "/\(app.id)/transactions/breakdown?since=1h&transaction=GET%20%2Forders%2F%7Bid%7D"
        )
        let query = try #require(breakdown.rows.first { $0.name == "Postgres SELECT orders" })
        #expect(query.calls == 1 && abs((query.p95 ?? 0) - 0.1) < 1e-6)
        let payment = try #require(breakdown.rows.first { $0.category == "external" })
        #expect(payment.calls == 1 && abs((payment.p95 ?? 0) - 0.05) < 1e-6)
        let background = try #require(rows.first { $0.name == "process payment" })
        #expect(background.kind == "background" && background.figures.count == 1)
        struct Databases: Decodable { var databases: [APIDatabaseRow] }
        let databases = try await get(Databases.self, "/\(app.id)/databases?since=1h").databases
        #expect(databases.map(\.name) == ["Postgres SELECT orders"])
        #expect(databases.first?.calls == 1)
        #expect(databases.first?.slowestStatement == "SELECT * FROM orders WHERE id = ?")
        struct Externals: Decodable { var externals: [APIExternalRow] }
        let externals = try await get(Externals.self, "/\(app.id)/externals?since=1h").externals
        #expect(externals.map(\.host) == ["payments.example"])
        // The databases page's charts: the time per bucket of each top operation and host adds up to its total.
        let databaseSeries = try await get(APICallTimeSeries.self, "/\(app.id)/databases/series?since=1h")
        #expect(databaseSeries.lines.map(\.name) == ["Postgres SELECT orders"])
        let databaseSeconds: Double = databaseSeries.lines.flatMap(\.seconds).compactMap { $0 }.reduce(0, +)
        #expect(abs(databaseSeconds - (databases.first?.totalTime ?? 0)) < 1e-9 && abs(databaseSeconds - 0.1) < 1e-6)
        let bucketCount = Int((databaseSeries.to - databaseSeries.from) / databaseSeries.bucketSeconds)
        #expect(databaseSeries.lines.first?.seconds.count == bucketCount)
        let externalSeries = try await get(APICallTimeSeries.self, "/\(app.id)/externals/series?since=1h&top=1")
        #expect(externalSeries.lines.map(\.name) == ["payments.example"])
        let externalSeconds: Double = externalSeries.lines.flatMap(\.seconds).compactMap { $0 }.reduce(0, +)
        // (The test's spans start at Unix times built from doubles: a duration is exact to about 0.2 µs.)
        #expect(abs(externalSeconds - (externals.first?.totalTime ?? 0)) < 1e-9 && abs(externalSeconds - 0.05) < 1e-6)
        // The transaction page's latency distribution: each of the four requests in its 1 % bucket.
        let histogram = try await get(
            APILatencyHistogram.self,
            "/\(app.id)/histogram?since=1h&transaction=GET%20%2Forders%2F%7Bid%7D"
        )
        #expect(histogram.transaction == "GET /orders/{id}" && histogram.count == 4)
        #expect(histogram.buckets.map(\.count) == [1, 1, 1, 1])
        for (bucket, duration) in zip(histogram.buckets, [0.2, 0.3, 0.7, 2.5]) {
            #expect(bucket.lower < duration && duration <= bucket.upper * (1 + 1e-12), "\(duration) in \(bucket)")
        }
        struct Traces: Decodable {
            struct Row: Decodable {
                var duration: Double
                var transaction: String
            }
            var traces: [Row]
        }
        // The 2.5 s request over 4T, and for the name without one (the consumer span) its slowest, so that every
        // transaction that ran has a trace.
        let traces = try await get(Traces.self, "/\(app.id)/traces?since=1h").traces
        #expect(traces.filter { $0.transaction == "GET /orders/{id}" }.map(\.duration) == [2.5])
        #expect(traces.filter { $0.transaction != "GET /orders/{id}" }.map(\.duration) == [0.2])
        struct Errors: Decodable { var errors: [APIErrorGroup] }
        let errors = try await get(Errors.self, "/\(app.id)/errors?since=1h").errors
        #expect(errors.count == 1 && errors.first?.count == 1)
        return errors
    }

    @Test(arguments: StoreBackend.available) func spansBecomeTransactionsSegmentsTracesAndErrorsWithExactApdex(
        backend: StoreBackend
    ) async throws {
        let clock = Locked(Date().timeIntervalSince1970)
        try await Support.withCollector(backend: backend, now: clock.reader) { collector, client, key in
            let minute = Support.currentMinute(offset: -3)
            let body = try Self.export(at: Double(minute) + 1)
            let first = try await Self.post(body, key: key, client: client)
            #expect(first.status == .ok)
            // Rejected at once: the span without an end and the one of 30 days ago. The orphan waits for its trace.
            #expect(first.body.contains(#""rejectedSpans":"2""#), "\(first.body)")
            #expect(first.body.contains("2 of 10 spans"), "\(first.body)")
            #expect(first.body.contains("more than 7 days ago"))
            // A retried export counts once.
            #expect(try await Self.post(body, key: key, client: client).status == .ok)
            // Nothing is counted before the trace had its time to arrive...
            #expect(try await collector.settlePendingSpans() == SpanSettlement(pendingSpans: 8))
            // ...then every transaction with its segments; the orphan's transaction never came.
            clock.withLock { $0 += 31 }
            #expect(
                try await collector.settlePendingSpans()
                    == SpanSettlement(transactions: 5, unmatchedSpans: 1, pendingSpans: 0)
            )
            let errors = try await Self.expectTheWorkloadsAnswers(app: "flask-shop", key: key, client: client)
            #expect(errors.first?.type == "OrderNotFound")
            #expect(errors.first?.sample.stack == ["at orders.py:12", "at app.py:3"])
            // A retry after the spans were counted still counts once.
            #expect(try await Self.post(body, key: key, client: client).status == .ok)
            clock.withLock { $0 += 31 }
            #expect(try await collector.settlePendingSpans() == SpanSettlement())
            _ = try await Self.expectTheWorkloadsAnswers(app: "flask-shop", key: key, client: client)
        }
    }

    /// With `otlp_trace_wait = 0` an export is counted on arrival, alone: a span whose transaction is not in it is
    /// rejected in the answer.
    @Test(arguments: StoreBackend.available) func withoutAWaitAnExportIsCountedAlone(backend: StoreBackend) async throws
    {
        let configuration = Support.configuration { $0.otlp.traceWait = .zero }
        try await Support.withCollector(configuration, backend: backend) { _, client, key in
            let minute = Support.currentMinute(offset: -3)
            let body = try Self.export(at: Double(minute) + 1)
            let first = try await Self.post(body, key: key, client: client)
            #expect(first.status == .ok)
            #expect(first.body.contains(#""rejectedSpans":"3""#), "\(first.body)")
            #expect(first.body.contains("not in the same export"))
            #expect(try await Self.post(body, key: key, client: client).status == .ok)
            _ = try await Self.expectTheWorkloadsAnswers(app: "flask-shop", key: key, client: client)
        }
    }

    /// Before: only spans over 4T became traces, so a route slow at 2T (tolerating: the usual bad Apdex) had none.
    @Test func aRouteSlowUnderTheThresholdHasItsSlowestTrace() async throws {
        let configuration = Support.configuration { $0.otlp.traceWait = .zero }
        try await Support.withCollector(configuration) { _, client, key in
            let start = Double(Support.currentMinute(offset: -3)) + 1
            let route = ["http.request.method": "GET", "http.route": "/report"]
            let spans = [0.8, 1.2, 0.9].enumerated().map { index, seconds in
                Self.span(
                    trace: 10 + index,
                    id: 100 + index,
                    name: "GET /report",
                    kind: 2,
                    start: start + Double(index),
                    seconds: seconds,
                    attributes: route
                )
            }
            #expect(try await Self.post(try Self.body(spans), key: key, client: client).status == .ok)
            struct Traces: Decodable {
                struct Row: Decodable { var duration: Double }
                var traces: [Row]
            }
            let traces = try await Support.get(
                Traces.self,
                "/api/v1/apps/1/traces?since=1h&transaction=GET%20%2Freport",
                key: key,
                client: client
            )
            #expect(traces.traces.map(\.duration) == [1.2])
        }
    }

    @Test(arguments: StoreBackend.available) func theProtobufExportOfARealSDKGivesTheKnownAnswers(
        backend: StoreBackend
    ) async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/otlp-python-sdk.binpb")
        let body = try Data(contentsOf: fixture)
        // The spans were recorded at a fixed time: the collector's clock is set five minutes after it.
        let clock = Locked(1_795_656_301.0 + 300)
        try await Support.withCollector(backend: backend, now: clock.reader) { collector, client, key in
            let protobuf = "application/x-protobuf"
            let first = try await Self.post(body, key: key, client: client, contentType: protobuf)
            #expect(first.status == .ok)
            #expect(first.body.isEmpty)  // an ExportTraceServiceResponse with nothing rejected
            #expect(try await Self.post(body, key: key, client: client, contentType: protobuf).status == .ok)
            clock.withLock { $0 += 31 }
            #expect(try await collector.settlePendingSpans().transactions == 5)
            let errors = try await Self.expectTheWorkloadsAnswers(app: "python-sdk", key: key, client: client)
            #expect(errors.map(\.type) == ["LookupError"])
        }
    }

    @Test func wrongTypesMalformedBodiesAndWrongKeysGetClearAnswers() async throws {
        try await Support.withCollector { _, client, key in
            let text = try await Self.post(Data("hello".utf8), key: key, client: client, contentType: "text/plain")
            #expect(text.status == .unsupportedMediaType)
            #expect(text.body.contains("application/x-protobuf or application/protobuf or application/json"))
            // A length that runs past the end of the body.
            let truncated = try await Self.post(
                Data([0x0a, 0x05, 0x0a]),
                key: key,
                client: client,
                contentType: "application/x-protobuf"
            )
            #expect(truncated.status == .badRequest)
            #expect(truncated.body.contains("the OTLP protobuf body is malformed"))
            let malformed = try await Self.post(
                Data(#"{"resourceSpans": [{"scopeSpans": 7}]}"#.utf8),
                key: key,
                client: client
            )
            #expect(malformed.status == .badRequest)
            #expect(malformed.body.contains("scopeSpans"))
            let wrongKey = try await Self.post(
                try Self.export(at: Date().timeIntervalSince1970 - 60),
                key: "apm_nope",
                client: client
            )
            #expect(wrongKey.status == .unauthorized)
            // An empty export is accepted and changes nothing.
            let empty = try await Self.post(Data("{}".utf8), key: key, client: client)
            #expect(empty.status == .ok && empty.body == "{}")
        }
    }
}
