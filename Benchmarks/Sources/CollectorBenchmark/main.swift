// The collector's sustained ingest rate and p99 ingest latency over loopback, the app-overview query over
// 7 days of data with 200 transaction names, and the dashboard's pages over that data, rendered and served
// (HTTP over loopback, signed in). Run: swift run -c release CollectorBenchmark
import APMCollector
import APMCore
import APMSQLite
import APMStorage
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

func percentile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
}

func metric(_ name: String, count: Int, seed: Int) -> TransactionMetric {
    var histogram = LatencyHistogram()
    var apdex = ApdexCounts()
    var total = 0.0
    for i in 0..<count {
        let duration = 0.005 + Double((seed * 31 + i * 17) % 1000) / 400
        histogram.record(seconds: duration)
        apdex.record(ApdexThreshold.default.zone(seconds: duration, isError: false))
        total += duration
    }
    return TransactionMetric(
        name: name,
        kind: .web,
        count: UInt64(count),
        errorCount: 0,
        apdexT: 0.5,
        satisfied: apdex.satisfied,
        tolerating: apdex.tolerating,
        frustrated: apdex.frustrated,
        totalDuration: total,
        minDuration: 0.005,
        maxDuration: 2.5,
        sumOfSquares: total * 2.5,
        breakdown: TimeBreakdown(database: total / 4, external: total / 8, application: total * 5 / 8),
        histogram: histogram
    )
}

var logger = Logger(label: "bench")
logger.logLevel = .error
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-bench-\(UUID().uuidString)").path
defer { try? FileManager.default.removeItem(atPath: directory) }

// MARK: Ingest

var configuration = CollectorConfiguration()
configuration.server.port = 0
configuration.dataDirectory = directory
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let collector = Collector(
    configuration: configuration,
    logger: logger,
    store: try SQLiteStore(path: configuration.databasePath)
)
let key = try await collector.bootstrapIfNeeded()!.licenseKey
let server = ServiceGroup(services: [collector.application], gracefulShutdownSignals: [], logger: logger)
let serverTask = Task { try await server.run() }
while collector.boundPort == nil { try await Task.sleep(for: .milliseconds(10)) }
let port = collector.boundPort!

let agents = Int(ProcessInfo.processInfo.environment["AGENTS"] ?? "") ?? 32
let seconds = Double(ProcessInfo.processInfo.environment["SECONDS_PER_RUN"] ?? "") ?? 15
let namesPerBatch = 50
let client = HTTPClient(
    eventLoopGroupProvider: .singleton,
    configuration: .init(connectionPool: .init(idleTimeout: .seconds(60)))
)
let minute = Int64(Date().timeIntervalSince1970) / 60 * 60
// Each body is split around its batch id, so that a request costs the load generator a concatenation and a
// compression rather than a search through the JSON text (which took 16 % of the machine's CPU).
let bodies: [(prefix: [UInt8], suffix: [UInt8])] = try (0..<agents).map { agent in
    // Each simulated agent is its own app with 50 names, like one service's harvest.
    let batch = AgentBatch(
        batchID: "template",
        agent: AgentIdentity(appName: "service-\(agent % 8)", host: "h\(agent)", pid: agent, agentVersion: "bench"),
        createdAt: Double(minute),
        apdexT: 0.5,
        intervals: [
            MetricInterval(
                start: minute,
                transactions: (0..<namesPerBatch).map { metric("GET /route/\($0)", count: 20, seed: $0 + agent) }
            )
        ]
    )
    let json = String(decoding: try WireCoding.makeEncoder().encode(batch), as: UTF8.self)
    let marker = json.range(of: "\"batch_id\":\"template\"")!
    return (
        Array(json[..<marker.lowerBound].utf8) + Array("\"batch_id\":\"".utf8),
        Array("\"".utf8) + Array(json[marker.upperBound...].utf8)
    )
}

actor Results {
    var latencies: [Double] = []
    var failures = 0
    func add(_ latency: Double) { latencies.append(latency) }
    func fail() { failures += 1 }
}
let results = Results()
let started = ContinuousClock.now
let deadline = started + .milliseconds(Int64(seconds * 1000))
await withTaskGroup(of: Void.self) { group in
    for agent in 0..<agents {
        group.addTask {
            var sequence = 0
            while ContinuousClock.now < deadline {
                sequence += 1
                // A fresh batch id each time.
                let body =
                    bodies[agent].prefix + Array("a\(agent)-\(sequence)-\(UUID().uuidString)".utf8)
                    + bodies[agent].suffix
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/agent/batches")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "Content-Encoding", value: "gzip")
                request.headers.add(name: "X-APM-License-Key", value: key)
                request.body = .bytes(ByteBuffer(bytes: try! Gzip.compress(Data(body), level: 1)))
                let sent = ContinuousClock.now
                do {
                    let response = try await client.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    let elapsed = ContinuousClock.now - sent
                    if response.status == .accepted {
                        await results.add(
                            Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
                        )
                    } else {
                        await results.fail()
                    }
                } catch {
                    await results.fail()
                }
            }
        }
    }
}
let elapsed = ContinuousClock.now - started
let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let latencies = await results.latencies
let failures = await results.failures
print(
    "## Ingest (\(agents) concurrent agents, \(namesPerBatch) transaction names per batch, \(Int(seconds)) s, SQLite synchronous=FULL)"
)
print("| batches/s | transactions/s represented | p50 ingest (ms) | p99 ingest (ms) | failures |")
print("| ---: | ---: | ---: | ---: | ---: |")
print(
    String(
        format: "| %.0f | %.0f | %.1f | %.1f | %d |",
        Double(latencies.count) / wall,
        Double(latencies.count * namesPerBatch * 20) / wall,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        failures
    )
)

// MARK: Overview query over 7 days of minute data, 200 names

let store = collector.store
let account = try await store.accounts()[0]
let now = Int64(Date().timeIntervalSince1970) / 60 * 60
let days: Int64 = 7
let fillStarted = ContinuousClock.now
var hourStart = now - days * 86_400
while hourStart < now {
    var intervals: [MetricInterval] = []
    for m in stride(from: hourStart, to: min(hourStart + 3600, now), by: 60) {
        intervals.append(
            MetricInterval(
                start: m,
                transactions: (0..<200).map { metric("GET /endpoint/\($0)", count: 3, seed: Int(m / 60) + $0) }
            )
        )
    }
    let batch = AgentBatch(
        batchID: "fill-\(hourStart)",
        agent: AgentIdentity(appName: "overview-app", host: "h", pid: 1, agentVersion: "bench"),
        createdAt: Double(now),
        apdexT: 0.5,
        intervals: intervals
    )
    _ = try await store.commit(
        [IngestItem(accountID: account.id, batch: batch, receivedAt: Double(now))],
        limits: CardinalityLimits()
    )
    hourStart += 3600
}
let fill = ContinuousClock.now - fillStarted
let app = try await store.apps(accountID: account.id).first { $0.name == "overview-app" }!
var timings: [Double] = []
var rows = 0
for _ in 0..<30 {
    let range = collector.queries.range(from: nil, to: nil, since: days * 86_400)
    let t0 = ContinuousClock.now
    let overview = try await collector.queries.overview(app: app, range: range)
    let t = ContinuousClock.now - t0
    rows = overview.transactions.count
    timings.append(Double(t.components.seconds) * 1000 + Double(t.components.attoseconds) / 1e15)
}
print("")
print("## App overview over 7 days (200 transaction names, 1 row per name per minute; filled in \(fill))")
print("| transactions listed | p50 (ms) | p99 (ms) | max (ms) |")
print("| ---: | ---: | ---: | ---: |")
print(
    String(
        format: "| %d | %.1f | %.1f | %.1f |",
        rows,
        percentile(timings, 0.5),
        percentile(timings, 0.99),
        timings.max() ?? 0
    )
)

// MARK: Dashboard pages over the same data, as a signed-in browser asks for them

/// The session cookie, after signing in through the form as a browser does.
func signIn() async throws -> String {
    let password = try await collector.resetPassword(user: "admin", accountID: account.id)!
    let form = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/login"), timeout: .seconds(10))
    let loginCookie = String(form.headers["Set-Cookie"].first!.split(separator: ";")[0])
    let page = String(buffer: try await form.body.collect(upTo: 1 << 20))
    let token = page.components(separatedBy: "name=\"csrf\" value=\"")[1].prefix { $0 != "\"" }
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/login")
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
    request.headers.add(name: "Cookie", value: loginCookie)
    let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    request.body = .bytes(ByteBuffer(string: "name=admin&password=\(encoded)&csrf=\(token)"))
    // Without following the redirect: its Set-Cookie is what we want.
    let noRedirects = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(redirectConfiguration: .disallow)
    )
    defer { _ = noRedirects.shutdown() }
    let response = try await noRedirects.execute(request, timeout: .seconds(30))
    return String(response.headers["Set-Cookie"].first { $0.hasPrefix("apm_session=") }!.split(separator: ";")[0])
}
let session = try await signIn()
print("")
print("## Dashboard pages over 7 days (200 transaction names), request to last byte over loopback, 30 requests each")
print("| page | HTML size (KiB) | p50 (ms) | p99 (ms) | max (ms) |")
print("| --- | ---: | ---: | ---: | ---: |")
for (label, path) in [
    ("app overview, 7 d", "/apps/\(app.id)?range=7d"),
    ("app overview, 24 h", "/apps/\(app.id)?range=24h"),
    ("apps, 7 d", "/apps?range=7d"),
    ("transaction, 7 d", "/apps/\(app.id)/transaction?name=GET%20%2Fendpoint%2F7&range=7d"),
    ("errors, 7 d", "/apps/\(app.id)/errors?range=7d"),
] {
    var timings: [Double] = []
    var size = 0
    for _ in 0..<31 {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.headers.add(name: "Cookie", value: session)
        let t0 = ContinuousClock.now
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        let t = ContinuousClock.now - t0
        precondition(response.status == .ok, "\(path): \(response.status)")
        size = body.readableBytes
        timings.append(Double(t.components.seconds) * 1000 + Double(t.components.attoseconds) / 1e15)
    }
    timings.removeFirst()  // the first request warms the SQLite page cache
    print(
        String(
            format: "| %@ | %.0f | %.1f | %.1f | %.1f |",
            label,
            Double(size) / 1024,
            percentile(timings, 0.5),
            percentile(timings, 0.99),
            timings.max() ?? 0
        )
    )
}

try await client.shutdown()
await server.triggerGracefulShutdown()
_ = try? await serverTask.value
try await collector.close()
