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

/// OTLP metrics: a known export (JSON, then protobuf) gives exact minute and hour figures on both backends —
/// gauges, cumulative and delta counters (a counter's increase across exports, a reset, a restart), an up-down
/// counter as a level, histograms (cumulative ones as increases); what is not read is named in a partial success;
/// a retried export counts once; series past `max_metric_series` are counted, not stored; hostile exports get
/// clear answers.
@Suite struct OTLPMetricsTests {
    typealias Support = CollectorTestSupport

    /// An hour's first second; the collector's clock is two hours on.
    static let hour: Int64 = 1_796_313_600
    static func nano(_ seconds: Int64) -> Int64 { (hour + seconds) * 1_000_000_000 }

    static let resource = """
        {"attributes": [
            {"key": "service.name", "value": {"stringValue": "py-shop"}},
            {"key": "host.name", "value": {"stringValue": "web-1"}},
            {"key": "process.pid", "value": {"intValue": "4242"}}]}
        """

    /// Export 1 (JSON): every kind, and three points that are not read (NaN, an exponential histogram, a
    /// non-monotonic delta sum).
    static var firstExport: String {
        """
        {"resourceMetrics": [{"resource": \(resource), "scopeMetrics": [{"metrics": [
          {"name": "process.memory.usage", "unit": "By", "gauge": {"dataPoints": [
            {"timeUnixNano": "\(nano(10))", "asInt": "100"},
            {"timeUnixNano": "\(nano(40))", "asDouble": 300},
            {"timeUnixNano": "\(nano(70))", "asInt": 200},
            {"timeUnixNano": "\(nano(75))", "asDouble": "NaN"}]}},
          {"name": "http.server.requests", "unit": "{request}", "sum": {"aggregationTemporality": 2, "isMonotonic": true,
            "dataPoints": [
            {"attributes": [{"key": "route", "value": {"stringValue": "/a"}}], "startTimeUnixNano": "\(nano(-30))",
             "timeUnixNano": "\(nano(10))", "asInt": "5"},
            {"attributes": [{"key": "route", "value": {"stringValue": "/a"}}], "startTimeUnixNano": "\(nano(-30))",
             "timeUnixNano": "\(nano(40))", "asInt": "12"},
            {"attributes": [{"key": "route", "value": {"stringValue": "/a"}}], "startTimeUnixNano": "\(nano(-30))",
             "timeUnixNano": "\(nano(70))", "asInt": "20"}]}},
          {"name": "jobs.done", "sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA", "isMonotonic": true,
            "dataPoints": [
            {"attributes": [{"key": "queue", "value": {"stringValue": "mail"}}], "timeUnixNano": "\(nano(10))", "asInt": "3"},
            {"attributes": [{"key": "queue", "value": {"stringValue": "mail"}}], "timeUnixNano": "\(nano(70))", "asInt": "4"}]}},
          {"name": "queue.length", "sum": {"aggregationTemporality": 2, "isMonotonic": false, "dataPoints": [
            {"timeUnixNano": "\(nano(10))", "asInt": "4"}]}},
          {"name": "queue.change", "sum": {"aggregationTemporality": 1, "isMonotonic": false, "dataPoints": [
            {"timeUnixNano": "\(nano(10))", "asInt": "-1"}]}},
          {"name": "http.server.duration", "unit": "s", "histogram": {"aggregationTemporality": 2, "dataPoints": [
            {"startTimeUnixNano": "\(nano(-30))", "timeUnixNano": "\(nano(10))", "count": "3", "sum": 0.5,
             "min": 0.05, "max": 0.25, "bucketCounts": ["1", "2", "0"], "explicitBounds": [0.1, 0.5]},
            {"startTimeUnixNano": "\(nano(-30))", "timeUnixNano": "\(nano(70))", "count": "5", "sum": 1.5,
             "min": 0.05, "max": 0.75, "bucketCounts": ["1", "3", "1"], "explicitBounds": [0.1, 0.5]}]}},
          {"name": "rpc.duration", "exponentialHistogram": {"dataPoints": [{"timeUnixNano": "\(nano(10))"}]}}
        ]}]}]}
        """
    }

    /// Export 2 (protobuf): the counter continues (+1), is reset (counts from zero: +2), then its process
    /// restarts (a new start: +6); and the gauge gets one more reading.
    static var secondExport: [UInt8] {
        let requests = (130, 21, -30)
        let reset = (190, 2, -30)
        let restart = (250, 6, 180)
        let route = ProtobufWriter.keyValue("route", "/a")
        var sum = ProtobufWriter()
        for (time, value, start) in [requests, reset, restart] {
            var point = ProtobufWriter()
            point.fixed64(2, UInt64(nano(Int64(start))))
            point.fixed64(3, UInt64(nano(Int64(time))))
            point.fixed64(6, UInt64(bitPattern: Int64(value)))
            point.bytes(7, route)
            sum.bytes(1, point.data)
        }
        sum.varint(2, 2)
        sum.varint(3, 1)
        var counter = ProtobufWriter()
        counter.string(1, "http.server.requests")
        counter.string(3, "{request}")
        counter.bytes(7, sum.data)
        var gaugePoint = ProtobufWriter()
        gaugePoint.fixed64(3, UInt64(nano(130)))
        gaugePoint.fixed64(4, (50.0).bitPattern)
        var gaugeData = ProtobufWriter()
        gaugeData.bytes(1, gaugePoint.data)
        var gauge = ProtobufWriter()
        gauge.string(1, "process.memory.usage")
        gauge.string(3, "By")
        gauge.bytes(5, gaugeData.data)
        return ProtobufWriter.export(
            resource: ["service.name": "py-shop", "host.name": "web-1", "process.pid": "4242"],
            metrics: [counter.data, gauge.data]
        )
    }

    struct Row: Equatable, CustomStringConvertible {
        var bucket: Int64
        var count: UInt64
        var sum: Double
        var min: Double?
        var max: Double?
        var last: Double
        var counts: [UInt64] = []

        var description: String {
            "@\(bucket) n=\(count) sum=\(sum) min=\(String(describing: min)) max=\(String(describing: max)) last=\(last) \(counts)"
        }
    }

    /// Every series' rows by name (and attributes), as stored.
    static func stored(
        _ store: any APMStore,
        appID: Int64,
        resolution: SliceResolution
    ) async throws -> [String: [Row]] {
        var result: [String: [Row]] = [:]
        for series in try await store.metricSeries(appID: appID, name: nil) {
            let rows = try await store.metricRows(
                appID: appID,
                seriesIDs: [series.id],
                range: hour - 3600..<hour + 7200,
                resolution: resolution
            )
            let label =
                series.name + (series.attributes.isEmpty ? "" : " \(series.attributes.sorted { $0.key < $1.key })")
            result[label] = rows.map {
                Row(
                    bucket: $0.bucket - hour,
                    count: $0.count,
                    sum: $0.sum,
                    min: $0.min,
                    max: $0.max,
                    last: $0.last,
                    counts: $0.counts
                )
            }
        }
        return result
    }

    @Test(arguments: StoreBackend.available)
    func aKnownExportGivesExactMinuteAndHourFigures(backend: StoreBackend) async throws {
        let clock = Locked(Double(Self.hour + 7200))
        try await Support.withCollector(backend: backend, now: clock.reader) { collector, client, key in
            let first = try await Self.post(
                Data(Self.firstExport.utf8),
                key: key,
                client: client,
                type: "application/json"
            )
            #expect(first.status == .ok)
            #expect(first.body.contains(#""rejectedDataPoints":"3""#), "\(first.body)")
            #expect(first.body.contains("3 of 14 data points were not used"), "\(first.body)")
            #expect(first.body.contains("exponential histograms"), "\(first.body)")
            #expect(first.body.contains("non-monotonic delta sums"), "\(first.body)")
            #expect(first.body.contains("value must be a finite number"), "\(first.body)")
            // The same body again (an SDK's retry): stored once.
            let retry = try await Self.post(
                Data(Self.firstExport.utf8),
                key: key,
                client: client,
                type: "application/json"
            )
            #expect(retry.status == .ok)
            let second = try await Self.post(
                Data(Self.secondExport),
                key: key,
                client: client,
                type: "application/x-protobuf"
            )
            #expect(second.status == .ok)
            #expect(second.body.isEmpty, "a full success is an empty protobuf answer")

            let app = try #require(try await collector.store.apps(accountID: 1).first { $0.name == "py-shop" })
            let series = try await collector.store.metricSeries(appID: app.id, name: nil)
            #expect(Set(series.map(\.host)) == ["web-1"])
            #expect(Set(series.map(\.process)) == [4242])
            #expect(series.first { $0.name == "http.server.duration" }?.bounds == [0.1, 0.5])
            #expect(series.first { $0.name == "queue.length" }?.kind == .gauge)
            #expect(series.first { $0.name == "http.server.requests" }?.kind == .counter)

            let minutes = try await Self.stored(collector.store, appID: app.id, resolution: .minute)
            #expect(
                minutes["process.memory.usage"] == [
                    Row(bucket: 0, count: 2, sum: 400, min: 100, max: 300, last: 300),
                    Row(bucket: 60, count: 1, sum: 200, min: 200, max: 200, last: 200),
                    Row(bucket: 120, count: 1, sum: 50, min: 50, max: 50, last: 50),
                ]
            )
            // 5 since the start 30 s before, +7, +8; then +1, a reset to 2 (+2), a restart at 6 (+6).
            #expect(
                minutes["http.server.requests [(key: \"route\", value: \"/a\")]"] == [
                    Row(bucket: 0, count: 2, sum: 12, min: 5, max: 7, last: 12),
                    Row(bucket: 60, count: 1, sum: 8, min: 8, max: 8, last: 20),
                    Row(bucket: 120, count: 1, sum: 1, min: 1, max: 1, last: 21),
                    Row(bucket: 180, count: 1, sum: 2, min: 2, max: 2, last: 2),
                    Row(bucket: 240, count: 1, sum: 6, min: 6, max: 6, last: 6),
                ]
            )
            #expect(
                minutes["jobs.done [(key: \"queue\", value: \"mail\")]"] == [
                    Row(bucket: 0, count: 1, sum: 3, min: 3, max: 3, last: 3),
                    Row(bucket: 60, count: 1, sum: 4, min: 4, max: 4, last: 4),
                ]
            )
            #expect(minutes["queue.length"] == [Row(bucket: 0, count: 1, sum: 4, min: 4, max: 4, last: 4)])
            #expect(minutes["queue.change"] == nil)
            // The first reading counts from the start; the second is the increase, whose extremes are unknown.
            #expect(
                minutes["http.server.duration"] == [
                    Row(bucket: 0, count: 3, sum: 0.5, min: 0.05, max: 0.25, last: 0.5, counts: [1, 2, 0]),
                    Row(bucket: 60, count: 2, sum: 1, min: nil, max: nil, last: 1.5, counts: [0, 1, 1]),
                ]
            )
            let hours = try await Self.stored(collector.store, appID: app.id, resolution: .hour)
            #expect(
                hours["process.memory.usage"] == [Row(bucket: 0, count: 4, sum: 650, min: 50, max: 300, last: 50)]
            )
            #expect(
                hours["http.server.requests [(key: \"route\", value: \"/a\")]"] == [
                    Row(bucket: 0, count: 6, sum: 29, min: 1, max: 8, last: 6)
                ]
            )
            #expect(
                hours["http.server.duration"] == [
                    Row(bucket: 0, count: 5, sum: 1.5, min: nil, max: nil, last: 1.5, counts: [1, 3, 1])
                ]
            )
        }
    }

    /// The API over the known exports: the list of metrics, a gauge's means, a counter's increase and rate, a
    /// histogram's quantiles, groups by an attribute and by host; unknown names and bad parameters answered.
    @Test(arguments: StoreBackend.available)
    func theAPIReadsTheKnownExports(backend: StoreBackend) async throws {
        let clock = Locked(Double(Self.hour + 7200))
        try await Support.withCollector(backend: backend, now: clock.reader) { collector, client, key in
            #expect(
                try await Self.post(Data(Self.firstExport.utf8), key: key, client: client, type: "application/json")
                    .status == .ok
            )
            #expect(
                try await Self.post(Data(Self.secondExport), key: key, client: client, type: "application/x-protobuf")
                    .status == .ok
            )
            let app = try #require(try await collector.store.apps(accountID: 1).first { $0.name == "py-shop" })
            let list = try await Support.get(
                APIMetricList.self,
                "/api/v1/apps/\(app.id)/metrics?since=3h",
                key: key,
                client: client
            )
            #expect(
                list.metrics.map(\.name) == [
                    "http.server.duration", "http.server.requests", "jobs.done", "process.memory.usage", "queue.length",
                ]
            )
            let requests = try #require(list.metrics.first { $0.name == "http.server.requests" })
            #expect(requests.kind == .counter && requests.unit == "{request}" && requests.hosts == ["web-1"])
            #expect(requests.attributeKeys == ["route"])

            let range = "from=\(Self.hour)&to=\(Self.hour + 300)"
            let counter = try await Support.get(
                APIMetricSeries.self,
                "/api/v1/apps/\(app.id)/metrics/http.server.requests?\(range)&group_by=route",
                key: key,
                client: client
            )
            #expect(counter.bucketSeconds == 60)
            #expect(counter.groups.map(\.label) == ["/a"])
            #expect(counter.groups.first?.points.map(\.increase) == [12, 8, 1, 2, 6])
            let rates: [Double?] = [12.0 / 60, 8.0 / 60, 1.0 / 60, 2.0 / 60, 6.0 / 60]
            #expect(counter.groups.first?.points.map(\.rate) == rates)
            // Over a week: two-hour buckets from the hour rows.
            let week = try await Support.get(
                APIMetricSeries.self,
                "/api/v1/apps/\(app.id)/metrics/http.server.requests?from=\(Self.hour - 6 * 86_400)&to=\(Self.hour + 7200)",
                key: key,
                client: client
            )
            #expect(week.bucketSeconds == 7200)
            #expect(week.groups.first?.points.map(\.time) == [Self.hour])
            #expect(week.groups.first?.points.map(\.increase) == [29])
            let gauge = try await Support.get(
                APIMetricSeries.self,
                "/api/v1/apps/\(app.id)/metrics/process.memory.usage?\(range)&group_by=host",
                key: key,
                client: client
            )
            #expect(gauge.groups.map(\.label) == ["web-1"])
            #expect(gauge.groups.first?.points.map(\.avg) == [200, 200, 50])
            #expect(gauge.groups.first?.points.map(\.max) == [300, 200, 50])
            // The histogram over the first two minutes: buckets [1, 3, 1] over (0, 0.1], (0.1, 0.5], (0.5, ∞).
            let histogram = try await Support.get(
                APIMetricSeries.self,
                "/api/v1/apps/\(app.id)/metrics/http.server.duration?from=\(Self.hour)&to=\(Self.hour + 7200)",
                key: key,
                client: client
            )
            #expect(histogram.groups.map(\.label) == ["web-1 pid 4242"])
            let firstMinute = try #require(histogram.groups.first?.points.first)
            #expect(histogram.bucketSeconds == 60)
            #expect(firstMinute.count == 3 && firstMinute.avg == 0.5 / 3)
            // p50 of [1, 2, 0]: rank 1.5 is halfway into 0.1...0.5's two → 0.1 + 0.4 × 0.25.
            #expect(firstMinute.p50 == 0.1 + 0.4 * 0.25)
            let p99: Double = 0.1 + 0.4 * (2.97 - 1) / 2
            #expect(abs((firstMinute.p99 ?? 0) - p99) < 1e-12)

            let unknown = try await client.execute(
                uri: "/api/v1/apps/\(app.id)/metrics/no.such.metric?since=1h",
                method: .get,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(unknown.0 == .notFound)
            #expect(unknown.1.contains("http.server.requests"), "\(unknown.1)")
            // A filter narrows the series: route=/b has none.
            let none = try await Support.get(
                APIMetricSeries.self,
                "/api/v1/apps/\(app.id)/metrics/http.server.requests?\(range)&filter=route%3D%2Fb",
                key: key,
                client: client
            )
            #expect(none.groups.isEmpty)
            let malformed = try await client.execute(
                uri: "/api/v1/apps/\(app.id)/metrics/jobs.done?since=1h&filter=route",
                method: .get,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(malformed.0 == .badRequest && malformed.1.contains("key=value"), "\(malformed.1)")
            let long = String(repeating: "k", count: 256)
            let bad = try await client.execute(
                uri: "/api/v1/apps/\(app.id)/metrics/jobs.done?since=1h&group_by=\(long)",
                method: .get,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(bad.0 == .badRequest && bad.1.contains("group_by"), "\(bad.1)")
        }
    }

    /// The real OpenTelemetry Python SDK's exports (protobuf, cumulative; Fixtures/README.md): a counter's increases
    /// across three exports, an up-down counter as a level, a cumulative histogram, an observable gauge, exact on
    /// both backends; a retried export counts once.
    @Test(arguments: StoreBackend.available)
    func theRealPythonSDKsExportsGiveTheKnownAnswers(backend: StoreBackend) async throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let exports = try (1...3).map {
            try Data(contentsOf: fixtures.appendingPathComponent("otlp-python-metrics-\($0).binpb"))
        }
        // Exported at 1796379432.53 s: the collector's clock is a minute on.
        let clock = Locked(1_796_379_492.0)
        try await Support.withCollector(backend: backend, now: clock.reader) { collector, client, key in
            for export in [exports[0], exports[0], exports[1], exports[2]] {
                let answer = try await Self.post(export, key: key, client: client, type: "application/x-protobuf")
                #expect(answer.status == .ok && answer.body.isEmpty, "\(answer.body)")
            }
            let app = try #require(try await collector.store.apps(accountID: 1).first { $0.name == "python-metrics" })
            let series = try await collector.store.metricSeries(appID: app.id, name: nil)
            #expect(Set(series.map(\.host)) == ["py-host"])
            #expect(series.map(\.name) == ["order.duration", "orders.placed", "pool.size", "queue.depth"])
            #expect(series.map(\.kind) == [.histogram, .counter, .gauge, .gauge])
            let minute: Int64 = 1_796_379_420
            func row(_ name: String) async throws -> MetricRowRecord {
                let id = try #require(series.first { $0.name == name }?.id)
                let rows = try await collector.store.metricRows(
                    appID: app.id,
                    seriesIDs: [id],
                    range: minute..<minute + 60,
                    resolution: .minute
                )
                return try #require(rows.count == 1 ? rows.first : nil)
            }
            // 5 counted from its start 0.3 ms before, +7, +0 (the shutdown's export repeats the total).
            let orders = try await row("orders.placed")
            #expect(orders.count == 3 && orders.sum == 12 && orders.min == 0 && orders.max == 7 && orders.last == 12)
            #expect(series.first { $0.name == "orders.placed" }?.attributes == ["region": "eu"])
            let queue = try await row("queue.depth")
            #expect(queue.count == 3 && queue.sum == 10 && queue.min == 3 && queue.max == 4 && queue.last == 3)
            let pool = try await row("pool.size")
            #expect(pool.count == 3 && pool.sum == 34 && pool.min == 10 && pool.max == 12 && pool.last == 12)
            // 3 observations counted from the start, then 2 more, then none; all in the SDK's (0, 5] bucket.
            let duration = try await row("order.duration")
            #expect(duration.count == 5 && abs(duration.sum - 4.15) < 1e-12)
            #expect(duration.counts == [0, 5] + Array(repeating: 0, count: 14))
            #expect(duration.min == nil && duration.max == nil)
        }
    }

    /// A series retention deleted (not seen for as long as hour rows are kept) is created again by its next reading,
    /// with that reading's rows (SQLite's cache of series forgets it with the delete).
    @Test(arguments: StoreBackend.available)
    func aSeriesRetentionDeletedIsCreatedAgainByItsNextReading(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let account = try await store.createAccount(name: "retention")
            func commit(at seconds: Int64, value: Double) async throws {
                let batch = AgentBatch(
                    batchID: UUID().uuidString,
                    agent: AgentIdentity(appName: "shop", host: "web-1", pid: 0, agentVersion: "test"),
                    createdAt: Double(seconds),
                    apdexT: 0.5,
                    metrics: [
                        MetricPoint(
                            name: "queue.length",
                            kind: .gauge,
                            timeUnixNano: seconds * 1_000_000_000,
                            value: value
                        )
                    ]
                )
                _ = try await store.commit(
                    [IngestItem(accountID: account.id, batch: batch, receivedAt: Double(seconds))],
                    limits: CardinalityLimits()
                )
            }
            try await commit(at: Self.hour, value: 1)
            try await commit(at: Self.hour + 60, value: 2)
            let app = try #require(try await store.apps(accountID: account.id).first)
            let before = try #require(try await store.metricSeries(appID: app.id, name: nil).first)
            _ = try await store.applyRetention(
                minuteCutoff: Self.hour + 86_400,
                cutoff: Self.hour + 86_400,
                batchIDCutoff: Self.hour
            )
            #expect(try await store.metricSeries(appID: app.id, name: nil).isEmpty)
            try await commit(at: Self.hour + 86_400 + 60, value: 3)
            let after = try #require(try await store.metricSeries(appID: app.id, name: nil).first)
            #expect(after.id != before.id)
            let rows = try await store.metricRows(
                appID: app.id,
                seriesIDs: [after.id],
                range: Self.hour..<Self.hour + 2 * 86_400,
                resolution: .minute
            )
            #expect(rows.map(\.last) == [3])
        }
    }

    @Test(arguments: StoreBackend.available)
    func seriesPastTheCapAreCountedNotStored(backend: StoreBackend) async throws {
        let configuration = Support.configuration { $0.limits.cardinality.maxMetricSeries = 2 }
        let clock = Locked(Double(Self.hour + 7200))
        try await Support.withCollector(configuration, backend: backend, now: clock.reader) { collector, client, key in
            let points = (0..<4).map { index in
                """
                {"attributes": [{"key": "cpu", "value": {"stringValue": "\(index)"}}], "timeUnixNano": "\(Self.nano(10))",
                 "asDouble": 0.5}
                """
            }
            let body = """
                {"resourceMetrics": [{"resource": \(Self.resource), "scopeMetrics": [{"metrics": [
                  {"name": "system.cpu.utilization", "unit": "1", "gauge": {"dataPoints": [\(points.joined(separator: ","))]}}
                ]}]}]}
                """
            let answer = try await Self.post(Data(body.utf8), key: key, client: client, type: "application/json")
            #expect(answer.status == .ok)
            #expect(answer.body.contains(#""rejectedDataPoints":"2""#), "\(answer.body)")
            #expect(answer.body.contains("max_metric_series"), "\(answer.body)")
            let app = try #require(try await collector.store.apps(accountID: 1).first { $0.name == "py-shop" })
            let series = try await collector.store.metricSeries(appID: app.id, name: "system.cpu.utilization")
            #expect(series.map { $0.attributes["cpu"] } == ["0", "1"])
        }
    }

    @Test func hostileExportsGetClearAnswersAndLeaveTheCollectorWell() async throws {
        let clock = Locked(Double(Self.hour + 7200))
        try await Support.withCollector(now: clock.reader) { collector, client, key in
            // 10^6 buckets in one point (packed: never read), 100,000 attributes on another, a negative count.
            var huge = ProtobufWriter()
            huge.fixed64(3, UInt64(Self.nano(10)))
            huge.fixed64(4, 1_000_000)
            huge.bytes(6, [UInt8](repeating: 0, count: 8_000_000))
            var bomb = ProtobufWriter()
            bomb.fixed64(3, UInt64(Self.nano(10)))
            bomb.fixed64(4, 1)
            for index in 0..<100_000 { bomb.bytes(9, ProtobufWriter.keyValue("k\(index)", "v")) }
            var histogramData = ProtobufWriter()
            histogramData.bytes(1, huge.data)
            histogramData.bytes(1, bomb.data)
            histogramData.varint(2, 1)
            var histogram = ProtobufWriter()
            histogram.string(1, "http.server.duration")
            histogram.bytes(9, histogramData.data)
            var negative = ProtobufWriter()
            negative.fixed64(3, UInt64(Self.nano(10)))
            negative.fixed64(4, (-3.0).bitPattern)
            var sumData = ProtobufWriter()
            sumData.bytes(1, negative.data)
            sumData.varint(2, 1)
            sumData.varint(3, 1)
            var counter = ProtobufWriter()
            counter.string(1, "jobs.done")
            counter.bytes(7, sumData.data)
            let body = ProtobufWriter.export(
                resource: ["service.name": "py-shop"],
                metrics: [histogram.data, counter.data]
            )
            // 9 MB, gzipped to a few kilobytes.
            let answer = try await Self.post(
                try Gzip.compress(Data(body)),
                key: key,
                client: client,
                type: "application/x-protobuf",
                gzip: true
            )
            #expect(answer.status == .ok)
            #expect(answer.body.contains("3 of 3 data points were not used"), "\(answer.body)")
            #expect(answer.body.contains("more than \(MetricPoint.maxBuckets) buckets"), "\(answer.body)")
            #expect(answer.body.contains("more than \(MetricPoint.maxAttributes) attributes"), "\(answer.body)")
            #expect(answer.body.contains("a counter counts up"), "\(answer.body)")
            // Malformed bodies: a clear 400 each.
            for (bad, type) in [
                (Data(#"{"resourceMetrics": 3}"#.utf8), "application/json"),
                (Data([0x0a, 0xff, 0xff, 0x01]), "application/x-protobuf"),
            ] {
                let malformed = try await Self.post(bad, key: key, client: client, type: type)
                #expect(malformed.status == .badRequest, "\(malformed.body)")
            }
            // An empty export is an empty success; without the key, 401.
            let empty = try await Self.post(Data("{}".utf8), key: key, client: client, type: "application/json")
            #expect(empty.status == .ok && empty.body == "{}", "\(empty.body)")
            let unauthorized = try await Self.post(
                Data("{}".utf8),
                key: "apm_wrong",
                client: client,
                type: "application/json"
            )
            #expect(unauthorized.status == .unauthorized)
            // Still well: a good export is stored.
            let good = try await Self.post(
                Data(Self.firstExport.utf8),
                key: key,
                client: client,
                type: "application/json"
            )
            #expect(good.status == .ok)
            let app = try #require(try await collector.store.apps(accountID: 1).first { $0.name == "py-shop" })
            #expect(try await collector.store.metricSeries(appID: app.id, name: "process.memory.usage").count == 1)
        }
    }

    static func post(
        _ body: Data,
        key: String,
        client: any TestClientProtocol,
        type: String,
        gzip: Bool = false
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        var headers: HTTPFields = [.contentType: type, HTTPField.Name("x-apm-license-key")!: key]
        if gzip { headers[.contentEncoding] = "gzip" }
        return try await client.execute(
            uri: "/v1/metrics",
            method: .post,
            headers: headers,
            body: ByteBuffer(bytes: body)
        ) {
            (
                $0.status,
                $0.headers[.contentType] == "application/x-protobuf"
                    ? Self.protobufAnswer($0.body) : String(buffer: $0.body)
            )
        }
    }

    /// An `ExportMetricsServiceResponse`'s partial success as text: `rejected: message`, empty for none.
    static func protobufAnswer(_ body: ByteBuffer) -> String {
        let bytes = Array(body.readableBytesView)
        guard !bytes.isEmpty else { return "" }
        return String(decoding: bytes.filter { $0 >= 0x20 && $0 < 0x7f }, as: UTF8.self)
    }
}

/// Writes protobuf messages for the tests (the OTLP field numbers are the caller's).
struct ProtobufWriter {
    var data: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            data.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        data.append(UInt8(value))
    }

    mutating func varint(_ field: UInt64, _ value: UInt64) {
        rawVarint(field << 3)
        rawVarint(value)
    }

    mutating func fixed64(_ field: UInt64, _ value: UInt64) {
        rawVarint(field << 3 | 1)
        for shift in stride(from: 0, to: 64, by: 8) { data.append(UInt8((value >> UInt64(shift)) & 0xff)) }
    }

    mutating func bytes(_ field: UInt64, _ value: [UInt8]) {
        rawVarint(field << 3 | 2)
        rawVarint(UInt64(value.count))
        data += value
    }

    mutating func string(_ field: UInt64, _ value: String) { bytes(field, Array(value.utf8)) }

    /// A `KeyValue` with a string value.
    static func keyValue(_ key: String, _ value: String) -> [UInt8] {
        var anyValue = ProtobufWriter()
        anyValue.string(1, value)
        var pair = ProtobufWriter()
        pair.string(1, key)
        pair.bytes(2, anyValue.data)
        return pair.data
    }

    /// An `ExportMetricsServiceRequest` of one resource and one scope.
    static func export(resource attributes: [String: String], metrics: [[UInt8]]) -> [UInt8] {
        var resource = ProtobufWriter()
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) { resource.bytes(1, keyValue(key, value)) }
        var scope = ProtobufWriter()
        for metric in metrics { scope.bytes(2, metric) }
        var resourceMetrics = ProtobufWriter()
        resourceMetrics.bytes(1, resource.data)
        resourceMetrics.bytes(2, scope.data)
        var request = ProtobufWriter()
        request.bytes(1, resourceMetrics.data)
        return request.data
    }
}
