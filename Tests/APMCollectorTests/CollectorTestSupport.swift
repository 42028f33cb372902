import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

enum CollectorTestSupport {
    static var quietLogger: Logger { TestCollector.quietLogger }

    static func configuration(_ adjust: (inout CollectorConfiguration) -> Void = { _ in }) -> CollectorConfiguration {
        TestCollector.configuration(adjust)
    }

    /// Runs a collector (``TestCollector``) over the store given, or an empty store of the backend (in-memory
    /// SQLite by default). Requests go to the router in the test process (`.router`, no socket) unless a test of
    /// the connection itself asks for `.live`.
    static func withCollector<T: Sendable>(
        _ configuration: CollectorConfiguration = configuration(),
        store: (any APMStore)? = nil,
        backend: StoreBackend = .sqlite,
        now: (@Sendable () -> Double)? = nil,
        transport: TestingSetup = .router,
        _ body: @Sendable (Collector, any TestClientProtocol, String) async throws -> T
    ) async throws -> T {
        if let store {
            return try await TestCollector.run(configuration, on: store, now: now, transport: transport) {
                collector,
                client,
                key,
                _ in
                try await body(collector, client, key)
            }
        }
        return try await backend.withStore { store in
            try await TestCollector.run(configuration, on: store, now: now, transport: transport) {
                collector,
                client,
                key,
                _ in
                try await body(collector, client, key)
            }
        }
    }

    /// The API token that goes with a test collector's license key.
    static func token(for key: String) -> String { TestCollector.token(for: key) }

    /// Posts a batch as an agent would (gzip JSON, key and batch id headers).
    static func post(
        _ batch: AgentBatch,
        key: String,
        client: any TestClientProtocol,
        gzip: Bool = true
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        let json = try WireCoding.makeEncoder().encode(batch)
        return try await postRaw(
            gzip ? try Gzip.compress(json) : json,
            key: key,
            client: client,
            gzip: gzip,
            batchID: batch.batchID
        )
    }

    static func postRaw(
        _ body: Data,
        key: String,
        client: any TestClientProtocol,
        gzip: Bool,
        batchID: String? = nil
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("X-APM-License-Key")!: key]
        if gzip { headers[.contentEncoding] = "gzip" }
        if let batchID { headers[HTTPField.Name("X-APM-Batch-ID")!] = batchID }
        return try await client.execute(
            uri: "/v1/agent/batches",
            method: .post,
            headers: headers,
            body: ByteBuffer(bytes: body)
        ) { response in
            (response.status, String(buffer: response.body))
        }
    }

    /// GETs a JSON API path with the key.
    static func get<T: Decodable>(
        _ type: T.Type,
        _ path: String,
        key: String,
        client: any TestClientProtocol
    ) async throws -> T {
        try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(token(for: key))"]) {
            response in
            guard response.status == .ok else {
                Issue.record("GET \(path): \(response.status) \(String(buffer: response.body))")
                throw CancellationError()
            }
            return try JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
        }
    }

    /// A metric built from raw durations, with exact Apdex counts at `t` (errors are frustrated).
    static func metric(
        _ name: String,
        durations: [Double],
        errors: Set<Int> = [],
        t: Double = 0.5,
        kind: TransactionKind = .web
    ) -> TransactionMetric {
        var histogram = LatencyHistogram()
        var errorHistogram = LatencyHistogram()
        var apdex = ApdexCounts()
        let threshold = ApdexThreshold(seconds: t)!
        for (index, duration) in durations.enumerated() {
            histogram.record(seconds: duration)
            if errors.contains(index) { errorHistogram.record(seconds: duration) }
            apdex.record(threshold.zone(seconds: duration, isError: errors.contains(index)))
        }
        return TransactionMetric(
            name: name,
            kind: kind,
            count: UInt64(durations.count),
            errorCount: UInt64(errors.count),
            apdexT: t,
            satisfied: apdex.satisfied,
            tolerating: apdex.tolerating,
            frustrated: apdex.frustrated,
            totalDuration: durations.reduce(0, +),
            minDuration: durations.min() ?? 0,
            maxDuration: durations.max() ?? 0,
            sumOfSquares: durations.reduce(0) { $0 + $1 * $1 },
            breakdown: TimeBreakdown(database: 0, external: 0, application: durations.reduce(0, +)),
            histogram: histogram,
            errorHistogram: errorHistogram
        )
    }

    static func batch(
        app: String = "shop",
        minute: Int64,
        metrics: [TransactionMetric],
        segments: [SegmentMetric] = [],
        id: String = UUID().uuidString
    ) -> AgentBatch {
        AgentBatch(
            batchID: id,
            agent: AgentIdentity(appName: app, host: "test-host", pid: 1, agentVersion: "test"),
            createdAt: Double(minute + 30),
            apdexT: 0.5,
            intervals: [MetricInterval(start: minute, transactions: metrics, segments: segments)]
        )
    }

    static func currentMinute(offset: Int64 = 0) -> Int64 {
        let now = Int64(Date().timeIntervalSince1970)
        return now - now % 60 + offset * 60
    }

    /// Nearest-rank quantile of raw values.
    static func quantile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted[max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
    }

    /// Runs CPU-heavy test preparation (building megabytes of bodies) on a thread of its own, so that it does not
    /// hold one of the two cooperative threads that every in-process collector of the suite needs to answer.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    /// `pattern` repeated to about `count` bytes (whole repetitions, at least one), by doubling: cheap even in a
    /// debug build.
    static func repeated(_ pattern: String, toAtLeast count: Int) -> Data {
        let unit = Data(pattern.utf8)
        var data = unit
        while data.count < count { data.append(data) }
        return data.prefix(max(1, count / unit.count) * unit.count)
    }

    static func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
}

struct AppsResponse: Decodable {
    var apps: [APIAppSummary]
}
