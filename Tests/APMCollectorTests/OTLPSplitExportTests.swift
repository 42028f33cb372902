import APMCollector
import APMCollectorTestSupport
import APMCore
import APMSQLite
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// OpenTelemetry SDKs export spans in batches as they end, so a request's spans are split across exports in
/// either order. Spans of one trace that arrive within `otlp_trace_wait` count exactly as if they had come
/// together; what is still unmatched after it is counted, never silently dropped.
@Suite struct OTLPSplitExportTests {
    typealias Support = CollectorTestSupport
    typealias OTLP = OTLPIngestTests

    static func spanID(_ span: [String: Any]) -> Int {
        Int(span["spanId"] as? String ?? "", radix: 16) ?? 0
    }

    /// The spans with their trace ids moved by `offset`: another service's requests, with ids of their own.
    static func retraced(_ spans: [[String: Any]], by offset: Int) -> [[String: Any]] {
        spans.map { span in
            var span = span
            let trace = Int(span["traceId"] as? String ?? "", radix: 16) ?? 0
            span["traceId"] = String(format: "%032x", trace + offset)
            return span
        }
    }

    /// Before: the database and HTTP client spans of trace 1 exported apart from their server span were dropped
    /// (3 to 5 % of database calls with a real Flask app), their time shown as the app's own.
    @Test(arguments: StoreBackend.available) func spansSplitAcrossExportsInEitherOrderCountAsIfTheyCameTogether(
        backend: StoreBackend
    ) async throws {
        let clock = Locked(Date().timeIntervalSince1970)
        try await Support.withCollector(backend: backend, now: clock.reader) { collector, client, key in
            let minute = Support.currentMinute(offset: -3)
            func split(_ offset: Int) -> (children: [[String: Any]], others: [[String: Any]]) {
                let spans = Self.retraced(OTLP.spans(at: Double(minute) + 1), by: offset)
                return (
                    spans.filter { [2, 3].contains(Self.spanID($0)) },
                    spans.filter { ![2, 3].contains(Self.spanID($0)) }
                )
            }
            var (children, others) = split(100)
            // Children first (the usual case: they end first), 10 s apart.
            #expect(
                try await OTLP.post(try OTLP.body(children, service: "children-first"), key: key, client: client).status
                    == .ok
            )
            clock.withLock { $0 += 10 }
            #expect(
                try await OTLP.post(try OTLP.body(others, service: "children-first"), key: key, client: client).status
                    == .ok
            )
            // Server span first (a child that ended after it), 20 s apart.
            (children, others) = split(200)
            #expect(
                try await OTLP.post(try OTLP.body(others, service: "server-first"), key: key, client: client).status
                    == .ok
            )
            clock.withLock { $0 += 20 }
            #expect(
                try await OTLP.post(try OTLP.body(children, service: "server-first"), key: key, client: client).status
                    == .ok
            )
            // A child that came after the wait: its transaction was counted without it.
            let late = split(300)
            #expect(
                try await OTLP.post(try OTLP.body(late.others, service: "too-late"), key: key, client: client).status
                    == .ok
            )
            clock.withLock { $0 += 31 }
            #expect(
                try await collector.settlePendingSpans()
                    == SpanSettlement(transactions: 15, unmatchedSpans: 3, pendingSpans: 0)
            )
            #expect(
                try await OTLP.post(try OTLP.body(late.children, service: "too-late"), key: key, client: client).status
                    == .ok
            )
            clock.withLock { $0 += 31 }
            #expect(try await collector.settlePendingSpans() == SpanSettlement(unmatchedSpans: 2))

            for app in ["children-first", "server-first"] {
                _ = try await OTLP.expectTheWorkloadsAnswers(app: app, key: key, client: client)
            }
            let tooLate = try #require(try await collector.store.apps(accountID: 1).first { $0.name == "too-late" })
            let summary = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/\(tooLate.id)/summary?since=1h&transaction=GET+%2Forders%2F%7Bid%7D",
                key: key,
                client: client
            )
            #expect(summary.count == 4 && summary.breakdown.database == 0)
            // Counted where an operator looks: /metrics.
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("apm_otlp_spans_unmatched_total 5"), "\(metrics)")
            #expect(metrics.contains("apm_otlp_spans_pending 0"))
        }
    }

    /// Before: a scanner's paths each became a transaction (`GET /wp-login.php`, `GET /.env`, ...).
    @Test(arguments: StoreBackend.available) func serverSpansWithoutARouteAreOneNamePerMethod(
        backend: StoreBackend
    ) async throws {
        let configuration = Support.configuration { $0.otlp.traceWait = .zero }
        try await Support.withCollector(configuration, backend: backend) { collector, client, key in
            let start = Double(Support.currentMinute(offset: -2)) + 1
            let spans = ["/wp-login.php", "/.env", "/admin/config.bak"].enumerated().map { index, path in
                OTLP.span(
                    trace: 40 + index,
                    id: 40 + index,
                    name: "GET \(path)",
                    kind: 2,
                    start: start + Double(index),
                    seconds: 0.01,
                    attributes: ["http.request.method": "GET", "url.path": path, "http.response.status_code": "404"]
                )
            }
            #expect(
                try await OTLP.post(try OTLP.body(spans, service: "scanned"), key: key, client: client).status == .ok
            )
            let app = try #require(try await collector.store.apps(accountID: 1).first { $0.name == "scanned" })
            struct Rows: Decodable { var transactions: [APITransactionRow] }
            let rows = try await Support.get(
                Rows.self,
                "/api/v1/apps/\(app.id)/transactions?since=1h",
                key: key,
                client: client
            ).transactions
            #expect(rows.map(\.name) == ["GET (unrouted)"])
            #expect(rows.first?.figures.count == 3)
        }
    }

    /// Before: batch ids were unique across accounts, so the second of two byte-identical exports was dropped.
    @Test(arguments: StoreBackend.available) func twoAccountsSendingTheSameExportAreBothCounted(
        backend: StoreBackend
    ) async throws {
        let clock = Locked(Date().timeIntervalSince1970)
        try await Support.withCollector(backend: backend, now: clock.reader) { collector, client, key in
            let other = try await collector.store.createAccount(name: "other")
            let otherKey = try await collector.createCredential(.licenseKey, accountID: other.id, name: "agents").secret
            let otherToken = try await collector.createCredential(
                .apiToken,
                accountID: other.id,
                name: "read",
                scope: .read
            ).secret
            TestCollector.remember(token: otherToken, for: otherKey)
            let body = try OTLP.export(at: Double(Support.currentMinute(offset: -3)) + 1)
            for sender in [key, otherKey] {
                #expect(try await OTLP.post(body, key: sender, client: client).status == .ok)
            }
            clock.withLock { $0 += 31 }
            #expect(try await collector.settlePendingSpans().transactions == 10)
            for reader in [key, otherKey] {
                _ = try await OTLP.expectTheWorkloadsAnswers(app: "flask-shop", key: reader, client: client)
            }
        }
    }

    /// Spans kept for their trace are in the store before the export is answered: a restart loses none.
    @Test func waitingSpansSurviveARestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-pending-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("apm.sqlite").path
        let clock = Locked(Date().timeIntervalSince1970)
        let start = Double(Support.currentMinute(offset: -3)) + 1
        let key = try await Support.withCollector(store: try SQLiteStore(path: path), now: clock.reader) {
            collector,
            client,
            key in
            #expect(try await OTLP.post(try OTLP.export(at: start), key: key, client: client).status == .ok)
            try await collector.close()
            return key
        }
        clock.withLock { $0 += 31 }
        let restarted = Collector(
            configuration: Support.configuration(),
            logger: Support.quietLogger,
            store: try SQLiteStore(path: path),
            now: clock.reader
        )
        #expect(try await restarted.settlePendingSpans().transactions == 5)
        let token = Support.token(for: key)
        try await restarted.application.test(.live) { client in
            TestCollector.remember(token: token, for: key)
            _ = try await OTLP.expectTheWorkloadsAnswers(app: "flask-shop", key: key, client: client)
        }
        try await restarted.close()
    }

    /// The spans waiting are bounded: past `max_pending_spans`, exports get 503 with Retry-After and lose nothing.
    @Test(arguments: StoreBackend.available) func waitingSpansAreBounded(backend: StoreBackend) async throws {
        let configuration = Support.configuration { $0.otlp.maxPendingSpans = 1000 }
        let clock = Locked(Date().timeIntervalSince1970)
        try await Support.withCollector(configuration, backend: backend, now: clock.reader) { collector, client, key in
            let start = Double(Support.currentMinute(offset: -2)) + 1
            func export(_ range: Range<Int>) throws -> Data {
                try OTLP.body(
                    range.map {
                        OTLP.span(
                            trace: $0,
                            id: $0,
                            name: "job",
                            kind: 5,
                            start: start + Double($0) / 1000,
                            seconds: 0.01
                        )
                    },
                    service: "busy"
                )
            }
            #expect(try await OTLP.post(try export(1..<801), key: key, client: client).status == .ok)
            let full = try await client.execute(
                uri: "/v1/traces",
                method: .post,
                headers: [.contentType: "application/json", HTTPField.Name("x-apm-license-key")!: key],
                body: ByteBuffer(bytes: try export(801..<1201))
            ) { ($0.status, $0.headers[.retryAfter], String(buffer: $0.body)) }
            #expect(full.0 == .serviceUnavailable && full.1 == "5")
            #expect(full.2.contains("max_pending_spans"))
            clock.withLock { $0 += 31 }
            #expect(try await collector.settlePendingSpans().transactions == 800)
            // The refused export, sent again, is accepted and counted once.
            #expect(try await OTLP.post(try export(801..<1201), key: key, client: client).status == .ok)
            clock.withLock { $0 += 31 }
            #expect(try await collector.settlePendingSpans().transactions == 400)
        }
    }
}
