// Ingest into real `apm collector` processes, with this process as the load generator: SQLite with one
// collector, PostgreSQL with one, PostgreSQL with two (agents spread over both), in one run on the same batches;
// per variant batches/s, p50/p99, and CPU seconds per 1,000 batches of the collectors and of PostgreSQL's
// processes (from /proc). Then the 7-day × 200-name app overview on SQLite and on PostgreSQL.
//
// Run: Benchmarks/scale-out.sh (builds the apm binary, starts a throwaway PostgreSQL, runs this).
// Settings: APM_BINARY, APM_TEST_POSTGRES_URL (a server whose maintenance database may create databases),
// AGENTS (32), SECONDS_PER_RUN (15), SKIP_OVERVIEW (1: the ingest table only).
import APMCollector
import APMCore
import APMPostgres
import APMSQLite
import APMStorage
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

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

let environment = ProcessInfo.processInfo.environment
guard let binary = environment["APM_BINARY"], let serverURL = environment["APM_TEST_POSTGRES_URL"] else {
    print("Set APM_BINARY and APM_TEST_POSTGRES_URL, or run Benchmarks/scale-out.sh")
    exit(2)
}
let agents = Int(environment["AGENTS"] ?? "") ?? 32
let seconds = Double(environment["SECONDS_PER_RUN"] ?? "") ?? 15
let namesPerBatch = 50
let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()

/// CPU seconds (user + system) a process has used, from /proc.
func cpuSeconds(pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // utime and stime are fields 14 and 15 of the line; after the command's ")" they are the 12th and 13th.
    let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
    return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU seconds of every PostgreSQL server process on this machine.
func postgresCPUSeconds() -> Double {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).reduce(0) { total, pid in
        let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        return name.hasPrefix("postgres") ? total + cpuSeconds(pid: pid) : total
    }
}

func freePort() -> Int { Int.random(in: 20_000...29_999) }

/// A `apm collector` process.
final class CollectorProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let lock = NSLock()
    private var text = ""

    init(binary: String, arguments: [String]) throws {
        port = freePort()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["collector", "--port", "\(port)"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["APM_COLLECTOR_LOG_LEVEL"] = "error"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.text += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    var output: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }

    func waitUntilListening() async throws {
        for _ in 0..<3000 where !output.contains("apm collector listening on") {
            try await Task.sleep(for: .milliseconds(10))
        }
        guard output.contains("apm collector listening on") else { throw CancellationError() }
    }

    var licenseKey: String? {
        output.split(separator: "\n").first { $0.contains("license key:") }?.split(separator: " ").last.map(String.init)
    }

    var cpu: Double { cpuSeconds(pid: process.processIdentifier) }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

func psql(_ serverURL: String, _ statement: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
    process.arguments = [serverURL.replacingOccurrences(of: "?sslmode=disable", with: ""), "-qc", statement]
    try process.run()
    process.waitUntilExit()
}

/// A fresh database on the server; its URL.
func freshDatabase(_ name: String) throws -> String {
    try psql(serverURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    try psql(serverURL, "CREATE DATABASE \(name)")
    var components = URLComponents(string: serverURL)!
    components.path = "/\(name)"
    return components.string!
}

let client = HTTPClient(
    eventLoopGroupProvider: .singleton,
    configuration: .init(
        connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
    )
)
let minute = Int64(Date().timeIntervalSince1970) / 60 * 60
let bodies: [(prefix: [UInt8], suffix: [UInt8])] = try (0..<agents).map { agent in
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

struct Outcome {
    var label: String
    var batchesPerSecond: Double
    var p50: Double
    var p99: Double
    var collectorCPU: Double
    var postgresCPU: Double
    var batches: Int
    var failures: Int
}

actor Results {
    var latencies: [Double] = []
    var failures = 0
    func add(_ latency: Double) { latencies.append(latency) }
    func fail() { failures += 1 }
}

/// Loads the collectors (agents spread over them) for `seconds`.
@MainActor func load(_ label: String, collectors: [CollectorProcess], key: String) async -> Outcome {
    let results = Results()
    let bodies = bodies
    let client = client
    let agents = agents
    let cpuBefore = collectors.map(\.cpu)
    let postgresBefore = postgresCPUSeconds()
    let started = ContinuousClock.now
    let deadline = started + .milliseconds(Int64(seconds * 1000))
    await withTaskGroup(of: Void.self) { group in
        for agent in 0..<agents {
            let port = collectors[agent % collectors.count].port
            group.addTask {
                var sequence = 0
                while ContinuousClock.now < deadline {
                    sequence += 1
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
                                Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds)
                                    * 1000
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
    let collectorCPU = zip(collectors.map(\.cpu), cpuBefore).reduce(0) { $0 + $1.0 - $1.1 }
    return Outcome(
        label: label,
        batchesPerSecond: Double(latencies.count) / wall,
        p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99),
        collectorCPU: collectorCPU,
        postgresCPU: postgresCPUSeconds() - postgresBefore,
        batches: latencies.count,
        failures: await results.failures
    )
}

// MARK: Ingest

var outcomes: [Outcome] = []
do {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-scale-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let collector = try CollectorProcess(binary: binary, arguments: ["--data-dir", directory])
    try await collector.waitUntilListening()
    outcomes.append(await load("SQLite, 1 collector", collectors: [collector], key: collector.licenseKey!))
    collector.stop()
}
do {
    let url = try freshDatabase("apm_bench_one")
    let collector = try CollectorProcess(binary: binary, arguments: ["--postgres-url", url])
    try await collector.waitUntilListening()
    outcomes.append(await load("PostgreSQL, 1 collector", collectors: [collector], key: collector.licenseKey!))
    collector.stop()
}
do {
    let url = try freshDatabase("apm_bench_two")
    let first = try CollectorProcess(binary: binary, arguments: ["--postgres-url", url])
    try await first.waitUntilListening()
    let second = try CollectorProcess(binary: binary, arguments: ["--postgres-url", url])
    try await second.waitUntilListening()
    let key = first.licenseKey ?? second.licenseKey!
    outcomes.append(await load("PostgreSQL, 2 collectors", collectors: [first, second], key: key))
    first.stop()
    second.stop()
}
print(
    "## Ingest into collector processes (\(agents) agents in the benchmark's process, \(namesPerBatch) names per batch, \(Int(seconds)) s each)"
)
print(
    "| variant | batches/s | p50 (ms) | p99 (ms) | collector CPU s / 1,000 batches | PostgreSQL CPU s / 1,000 batches | failures |"
)
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for outcome in outcomes {
    let thousands = max(1, Double(outcome.batches) / 1000)
    print(
        String(
            format: "| %@ | %.0f | %.1f | %.1f | %.2f | %.2f | %d |",
            outcome.label,
            outcome.batchesPerSecond,
            outcome.p50,
            outcome.p99,
            outcome.collectorCPU / thousands,
            outcome.postgresCPU / thousands,
            outcome.failures
        )
    )
}
print("")
print(
    "Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; the load generator, the collectors and PostgreSQL share them."
)

// MARK: The 7-day × 200-name overview on both backends (SKIP_OVERVIEW=1 leaves it out)

if environment["SKIP_OVERVIEW"] == "1" {
    try? await client.shutdown()
    exit(0)
}

@Sendable func overviewTimings(
    store: any APMStore,
    logger: Logger
) async throws -> (
    rows: Int, p50: Double, p99: Double, fill: Duration
) {
    let collector = Collector(configuration: CollectorConfiguration(), logger: logger, store: store)
    let account = try await store.createAccount(name: "bench")
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
    return (rows, percentile(timings, 0.5), percentile(timings, 0.99), fill)
}

print("")
print("## App overview over 7 days (200 transaction names, 1 row per name per minute), 30 queries")
print("| backend | transactions listed | p50 (ms) | p99 (ms) | filled in |")
print("| --- | ---: | ---: | ---: | ---: |")
do {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-overview-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteStore(path: directory.appendingPathComponent("apm.sqlite").path)
    let result = try await overviewTimings(store: store, logger: logger)
    print(String(format: "| SQLite | %d | %.1f | %.1f | %@ |", result.rows, result.p50, result.p99, "\(result.fill)"))
    try await store.close()
}
do {
    let url = try freshDatabase("apm_bench_overview")
    let store = PostgresStore(configuration: try PostgresStoreConfiguration(url: url), logger: logger)
    let result = try await store.withRunning { [logger] in try await overviewTimings(store: $0, logger: logger) }
    print(
        String(format: "| PostgreSQL | %d | %.1f | %.1f | %@ |", result.rows, result.p50, result.p99, "\(result.fill)")
    )
}
try? await client.shutdown()
