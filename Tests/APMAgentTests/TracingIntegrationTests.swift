import APMAgent
import APMCore
import APMTesting
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Instrumentation
import Logging
import NIOCore
import Synchronization
import Testing
import Tracing

/// The agent bootstrapped as the process's tracer, once: swift-distributed-tracing allows one bootstrap.
enum GlobalTracing {
    static let collector = InMemoryCollectorTransport()
    static let agent: APMAgent = {
        let agent = APMAgent(
            configuration: TestSupport.configuration { $0.harvestInterval = .milliseconds(50) },
            logger: TestSupport.quietLogger,
            transport: collector
        )
        InstrumentationSystem.bootstrap(agent.tracer)
        agent.start()
        return agent
    }()
}

@Suite(.serialized) struct TracingIntegrationTests {
    @Test func hummingbirdAppWithTracingMiddlewareIsRecordedByRouteTemplate() async throws {
        let agent = GlobalTracing.agent
        let collector = GlobalTracing.collector
        let seenTraceparent = Mutex<String?>(nil)
        let logTraceIDs = Mutex<[String]>([])

        // A downstream service the app calls through AsyncHTTPClient.
        let downstream = Router()
        downstream.get("/profile") { request, _ -> String in
            seenTraceparent.withLock { $0 = request.headers[HTTPField.Name("traceparent")!] }
            return "{}"
        }
        let downstreamApp = Application(
            router: downstream,
            configuration: .init(address: .hostname("127.0.0.1", port: 0))
        )
        try await downstreamApp.test(.live) { downstreamClient in
            let port = downstreamClient.port!
            // Bootstrap happened before the HTTPClient is created, so it picks up the agent's tracer.
            let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)

            let router = Router()
            router.middlewares.add(TracingMiddleware())
            router.get("/users/:id") { _, context -> String in
                let id = context.parameters.get("id") ?? ""
                try await withSpan("query users", ofKind: .client) { span in
                    span.attributes["db.system.name"] = "postgresql"
                    span.attributes["db.query.text"] = "SELECT * FROM users WHERE id = '\(id)'"
                    try await Task.sleep(for: .milliseconds(5))
                }
                withSpan("render") { _ in }
                // The agent's own API inside a transaction the tracer started (before: `current` was nil there,
                // so the example service's query was silently not recorded).
                let lookup = Transaction.current?.startDatastoreSegment(
                    system: "postgresql",
                    statement: "SELECT * FROM accounts WHERE user_id = 1"
                )
                try await Task.sleep(for: .milliseconds(2))
                lookup?.end()
                let ids = AgentLogging.traceMetadataProvider.get()
                if case .string(let traceID) = ids["trace_id"] { logTraceIDs.withLock { $0.append(traceID) } }
                let response = try await httpClient.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/profile?secret=1"),
                    timeout: .seconds(5)
                )
                _ = try await response.body.collect(upTo: 1 << 20)
                return "user \(id)"
            }
            router.get("/fail") { _, _ -> String in throw HTTPError(.internalServerError) }
            router.get("/missing") { _, _ -> String in throw HTTPError(.notFound) }
            let app = Application(router: router)
            try await app.test(.router) { client in
                for id in ["42", "7", "123456"] {
                    try await client.execute(uri: "/users/\(id)", method: .get) { #expect($0.status == .ok) }
                }
                try await client.execute(uri: "/fail", method: .get) { #expect($0.status == .internalServerError) }
                try await client.execute(uri: "/missing", method: .get) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/no/such/route/99", method: .get) { #expect($0.status == .notFound) }
            }
            try await httpClient.shutdown()
        }
        agent.flush()
        #expect(
            await TestSupport.waitUntil {
                // The requests' transactions may land in different harvests (every 50 ms): wait for all of them.
                let totals = TestSupport.totals(collector.acceptedTransactions)
                return totals["GET /users/{id}"]?.count == 3 && totals["GET /fail"] != nil
                    && totals["GET /missing"] != nil && totals["GET NotFound"] != nil
            }
        )
        let totals = TestSupport.totals(collector.acceptedTransactions)
        #expect(totals["GET /fail"]?.errors == 1)
        #expect(totals["GET /missing"]?.errors == 0)
        #expect(!totals.keys.contains { $0.contains("42") || $0.contains("123456") || $0.contains("/no/such") })
        // An unknown URL: one name per method, whatever the path. Hummingbird routes it to its not-found
        // responder, whose route is "NotFound"; a framework that sets no route gets "GET (unrouted)".
        #expect(totals["GET NotFound"]?.count == 1, "\(totals.keys.sorted())")

        // Harvests run every 50 ms, so the figures may be split over several batches: sum them.
        let segments = collector.acceptedBatches.flatMap { $0.intervals.flatMap(\.segments) }.filter {
            $0.transaction == "GET /users/{id}"
        }
        var calls: [String: UInt64] = [:]
        var categories: [String: SegmentCategory] = [:]
        for segment in segments {
            calls[segment.name, default: 0] += segment.count
            categories[segment.name] = segment.category
        }
        #expect(calls["Postgres SELECT users"] == 3)
        #expect(categories["Postgres SELECT users"] == .datastore)
        #expect(calls["External 127.0.0.1"] == 3)
        #expect(categories["External 127.0.0.1"] == .external)
        #expect(calls["render"] == 3)
        #expect(calls["Postgres SELECT accounts"] == 3)
        #expect(categories["Postgres SELECT accounts"] == .datastore)
        #expect(categories["render"] == .custom)

        let users = collector.acceptedTransactions.filter { $0.name == "GET /users/{id}" }
        #expect(users.reduce(0) { $0 + $1.breakdown.database } >= 3 * (0.005 + 0.002))
        #expect(users.reduce(0) { $0 + $1.breakdown.external } > 0)

        // W3C propagation: the downstream call carried the transaction's trace id; log lines carry it too.
        let traceparent = try #require(seenTraceparent.withLock { $0 })
        let parsed = try #require(TraceContext(traceparent: traceparent))
        #expect(logTraceIDs.withLock { $0 }.contains(parsed.traceID.description))
    }

    /// Spans through swift-distributed-tracing inside a transaction of the agent's API are its segments (before:
    /// each became a transaction of its own), nested under the span they run in, in both directions.
    @Test func theAgentsAPIAndTheTracerSeeEachOthersTransactions() async throws {
        let agent = GlobalTracing.agent
        let collector = GlobalTracing.collector
        try await agent.withWebTransaction(method: "GET", route: "/mixed/{id}") { transaction in
            #expect(Transaction.current?.traceID == transaction.traceID)
            try await withSpan("SELECT", ofKind: .client) { span in
                span.attributes["db.system.name"] = "postgresql"
                span.attributes["db.query.text"] = "SELECT * FROM carts WHERE id = 3"
                try await Task.sleep(for: .milliseconds(2))
            }
            try await withSpan("render page") { _ in
                // Started through `current` inside the tracer's span: a child of "render page".
                let inner = Transaction.current?.startSegment("format prices")
                try await Task.sleep(for: .milliseconds(20))
                inner?.end()
            }
        }
        agent.withBackgroundTransaction(name: "sync-job") { _ in
            withSpan("GET", ofKind: .client) { span in
                span.attributes["http.request.method"] = "GET"
                span.attributes["url.full"] = "https://partner.example/feed"
            }
        }
        agent.flush()
        #expect(
            await TestSupport.waitUntil {
                let totals = TestSupport.totals(collector.acceptedTransactions)
                return totals["GET /mixed/{id}"] != nil && totals["sync-job"] != nil
            }
        )
        let totals = TestSupport.totals(collector.acceptedTransactions)
        #expect(totals["GET /mixed/{id}"]?.count == 1)
        #expect(totals["SELECT"] == nil && totals["render page"] == nil && totals["GET"] == nil)
        let segments = collector.acceptedBatches.flatMap { $0.intervals.flatMap(\.segments) }
        let mixed = Dictionary(
            segments.filter { $0.transaction == "GET /mixed/{id}" }.map { ($0.name, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        #expect(mixed["Postgres SELECT carts"]?.category == .datastore)
        let render = try #require(mixed["render page"])
        let inner = try #require(mixed["format prices"])
        // Nested: the outer segment's own time excludes the inner one's 20 ms.
        #expect(render.totalDuration >= inner.totalDuration)
        #expect(render.exclusiveDuration < render.totalDuration - inner.totalDuration + 1e-6)
        let metric = try #require(collector.acceptedTransactions.first { $0.name == "GET /mixed/{id}" })
        #expect(metric.breakdown.database >= 0.002)
        #expect(segments.contains { $0.transaction == "sync-job" && $0.name == "External partner.example" })
    }

    @Test func incomingTraceparentIsContinued() async throws {
        let agent = GlobalTracing.agent
        let inside = Mutex<String?>(nil)
        let router = Router()
        router.middlewares.add(TracingMiddleware())
        router.get("/continue") { _, _ -> String in
            var headers: [String: String] = [:]
            InstrumentationSystem.instrument.inject(
                InstrumentationContext.current ?? .topLevel,
                into: &headers,
                using: DictionaryInjector()
            )
            inside.withLock { $0 = headers["traceparent"] }
            return "ok"
        }
        let app = Application(router: router)
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/continue",
                method: .get,
                headers: [HTTPField.Name("traceparent")!: incoming]
            ) { _ in }
        }
        let outgoing = try #require(inside.withLock { $0 })
        #expect(outgoing.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        #expect(!outgoing.contains("00f067aa0ba902b7"))
        _ = agent
    }

    @Test func backgroundRootSpansAreBackgroundTransactions() async throws {
        let agent = GlobalTracing.agent
        let collector = GlobalTracing.collector
        withSpan("nightly-cleanup", ofKind: .internal) { span in
            withSpan("DELETE FROM sessions", ofKind: .client) { child in
                child.attributes["db.system"] = "sqlite"
                child.attributes["db.statement"] = "DELETE FROM sessions WHERE expires < 1764000000"
            }
            span.setStatus(.init(code: .error))
        }
        agent.flush()
        #expect(
            await TestSupport.waitUntil { TestSupport.totals(collector.acceptedTransactions)["nightly-cleanup"] != nil }
        )
        let metric = try #require(collector.acceptedTransactions.first { $0.name == "nightly-cleanup" })
        #expect(metric.kind == .background)
        #expect(metric.errorCount == 1)
        let segment = collector.acceptedBatches.flatMap { $0.intervals.flatMap(\.segments) }.first {
            $0.transaction == "nightly-cleanup"
        }
        #expect(segment?.name == "SQLite DELETE sessions")
    }

    @Test func traceparentParsing() {
        #expect(
            TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.spanID.description
                == "00f067aa0ba902b7"
        )
        #expect(TraceContext(traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01") == nil)
        #expect(TraceContext(traceparent: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == nil)
        #expect(TraceContext(traceparent: "garbage") == nil)
        #expect(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01") == nil)
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}
