// Application logs (issue 27), three figures in one run:
//  1. ingest, durable, on SQLite: agent batches of 1,000 lines (gzip JSON) posted over loopback by CLIENTS
//     clients to an in-process collector (synchronous = FULL), lines per second and per CPU-second of the process;
//  2. search over LOG_RECORDS stored lines (10 million by default) spread over 7 days, on SQLite and, when
//     APM_TEST_POSTGRES_URL is set (scripts/with-postgres), on PostgreSQL: a word plus a one-hour range, p50/p99;
//  3. the agent's log handler against swift-log's StreamLogHandler, p50 cost per call on the caller's thread.
// Run: cd Benchmarks && swift build -c release --product LogBenchmark &&
//      ../scripts/with-postgres .build/release/LogBenchmark > /dev/null   (the table goes to stderr)
import APMAgent
import APMCollector
import APMCore
import APMPostgres
import APMSQLite
import APMStorage
import APMTesting
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

let environment = ProcessInfo.processInfo.environment
let clients = Int(environment["CLIENTS"] ?? "") ?? 8
let seconds = Double(environment["SECONDS_PER_RUN"] ?? "") ?? 15
let storedRecords = Int(environment["LOG_RECORDS"] ?? "") ?? 10_000_000
let linesPerBatch = 1_000
let quiet: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()

func report(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func elapsedSeconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func percentile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
}

/// 5,000 made-up words: each stored line carries three of them, so a word is in about 0.06 % of the lines.
let vocabulary = (0..<5_000).map { "w\(String($0, radix: 36))q" }

/// A line like an app's: a template, a few numbers, three words of the vocabulary, 80 to 120 bytes.
func line(_ index: Int, timeUnixNano: Int64) -> LogRecord {
    var generator = SplitMix(seed: UInt64(index))
    let words = (0..<3).map { _ in vocabulary[Int(generator.next() % UInt64(vocabulary.count))] }
    let templates = [
        "GET /orders/\(index % 9973) answered 200 in \(index % 300) ms for \(words[0]) \(words[1]) \(words[2])",
        "payment declined for order \(index % 7919): card \(words[0]) expired, retry \(words[1]) \(words[2])",
        "cache miss on key \(words[0]):\(index % 1000), loading \(words[1]) from \(words[2]) took \(index % 90) ms",
        "user \(index % 100_000) signed in from \(words[0]) with \(words[1]) session \(words[2])",
    ]
    let level: LogLevel = index % 50 == 0 ? .error : index % 10 == 0 ? .warn : .info
    return LogRecord(
        timeUnixNano: timeUnixNano,
        level: level,
        message: templates[index % templates.count],
        attributes: ["logger": "shop", "request.id": String(index, radix: 16)],
        traceID: index % 3 == 0 ? String(repeating: "0", count: 16) + String(format: "%016llx", UInt64(index)) : nil,
        transaction: index % 3 == 0 ? "GET /orders/:id" : nil
    )
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: 1. Ingest over HTTP, durable, SQLite

func ingest() async throws -> (linesPerSecond: Double, linesPerCPUSecond: Double, p99: Double, failures: Int) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-log-bench-\(UUID().uuidString)")
        .path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var configuration = CollectorConfiguration()
    configuration.server.port = 0
    configuration.dataDirectory = directory
    configuration.limits.cardinality.maxLogRecordsPerDay = 1_000_000_000
    let collector = Collector(
        configuration: configuration,
        logger: quiet,
        store: try SQLiteStore(path: configuration.databasePath)
    )
    let key = try await collector.bootstrapIfNeeded()!.licenseKey
    let group = ServiceGroup(services: [collector.application], gracefulShutdownSignals: [], logger: quiet)
    let server = Task { try await group.run() }
    while collector.boundPort == nil { try await Task.sleep(for: .milliseconds(10)) }
    let port = collector.boundPort!
    // The bodies are made before the clock starts, so the load generator's own work is not counted.
    let bodiesPerClient = Int(seconds * 40 / Double(clients)) + 20
    let now = Int64(Date().timeIntervalSince1970) * 1_000_000_000
    var bodies: [[ByteBuffer]] = []
    for client in 0..<clients {
        bodies.append(
            try (0..<bodiesPerClient).map { sequence in
                let first = (client * bodiesPerClient + sequence) * linesPerBatch
                let batch = AgentBatch(
                    batchID: UUID().uuidString,
                    agent: AgentIdentity(appName: "shop-\(client % 4)", host: "bench", pid: 1, agentVersion: "bench"),
                    createdAt: Double(now / 1_000_000_000),
                    apdexT: 0.5,
                    logs: (0..<linesPerBatch).map { line(first + $0, timeUnixNano: now - Int64($0) * 1_000_000) }
                )
                return ByteBuffer(bytes: try Gzip.compress(try WireCoding.makeEncoder().encode(batch), level: 1))
            }
        )
    }
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    let cpuBefore = cpuSeconds()
    let started = ContinuousClock.now
    let deadline = started + .milliseconds(Int64(seconds * 1000))
    let (latencies, failures) = await withTaskGroup(of: ([Double], Int).self) { tasks in
        for client in 0..<clients {
            let mine = bodies[client]
            tasks.addTask {
                var latencies: [Double] = []
                var failures = 0
                for body in mine where ContinuousClock.now < deadline {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/agent/batches")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.headers.add(name: "Content-Encoding", value: "gzip")
                    request.headers.add(name: "X-APM-License-Key", value: key)
                    request.body = .bytes(body)
                    let sent = ContinuousClock.now
                    do {
                        let response = try await http.execute(request, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        if response.status == .accepted {
                            latencies.append(elapsedSeconds(since: sent) * 1000)
                        } else {
                            failures += 1
                        }
                    } catch {
                        failures += 1
                    }
                }
                return (latencies, failures)
            }
        }
        var all: ([Double], Int) = ([], 0)
        for await part in tasks {
            all.0 += part.0
            all.1 += part.1
        }
        return all
    }
    let wall = elapsedSeconds(since: started)
    let cpu = cpuSeconds() - cpuBefore
    try await http.shutdown()
    server.cancel()
    _ = try? await server.value
    try await collector.close()
    let lines = Double(latencies.count * linesPerBatch)
    return (lines / wall, lines / cpu, percentile(latencies, 0.99), failures)
}

// MARK: 2. Search over many stored lines

/// Fills a store with `count` lines over the 7 days before `end` (through the store's commit, as ingest writes
/// them), then times searches: a word of the vocabulary plus a one-hour range, and the same with a level.
func search(_ store: any APMStore, name: String, end: Int64, loaded: Bool = false) async throws -> [String] {
    let account = loaded ? try await store.accounts().first! : try await store.createAccount(name: "bench")
    let span: Int64 = 7 * 86_400 * 1_000_000_000
    let start = end * 1_000_000_000 - span
    let perBatch = 10_000
    let loadStarted = ContinuousClock.now
    var written = loaded ? storedRecords : 0
    while written < storedRecords {
        let count = min(perBatch, storedRecords - written)
        let batch = AgentBatch(
            batchID: UUID().uuidString,
            agent: AgentIdentity(appName: "shop", host: "bench", pid: 1, agentVersion: "bench"),
            createdAt: Double(end),
            apdexT: 0.5,
            logs: (0..<count).map { offset in
                let index = written + offset
                return line(index, timeUnixNano: start + Int64(index) * (span / Int64(storedRecords)))
            }
        )
        _ = try await store.commit(
            [IngestItem(accountID: account.id, batch: batch, receivedAt: Double(end))],
            limits: CardinalityLimits(maxLogRecordsPerDay: Int.max)
        )
        written += count
        if written % 1_000_000 == 0 {
            report(
                String(
                    format: "  %@: %d lines stored, %.0f lines/s",
                    name,
                    written,
                    Double(written) / elapsedSeconds(since: loadStarted)
                )
            )
        }
    }
    let loadSeconds = elapsedSeconds(since: loadStarted)
    let app = try await store.apps(accountID: account.id).first!
    var generator = SplitMix(seed: 42)
    var rows: [String] = []
    for (title, level) in [
        ("a word, 1 h", LogLevel?.none), ("a word and level ≥ warn, 1 h", .warn),
        ("a common word (\"payment\"), 1 h", nil),
    ] {
        var latencies: [Double] = []
        var found = 0
        for round in 0..<41 {
            let word =
                title.contains("common") ? "payment" : vocabulary[Int(generator.next() % UInt64(vocabulary.count))]
            let hourStart = start + Int64(generator.next() % UInt64(span - 3_600_000_000_000))
            let filter = LogFilter(range: hourStart..<(hourStart + 3_600_000_000_000), minimumLevel: level, text: word)
            let began = ContinuousClock.now
            let page = try await store.logs(appID: app.id, filter: filter, after: nil, limit: 100)
            if round > 0 { latencies.append(elapsedSeconds(since: began) * 1000) }
            found += page.count
        }
        rows.append(
            String(
                format: "| %@ | %@ | %.1f | %.1f | %.1f |",
                name,
                title,
                percentile(latencies, 0.5),
                percentile(latencies, 0.99),
                Double(found) / 41
            )
        )
    }
    if loaded {
        rows.append("| \(name) | (searched a store loaded by an earlier run) | | | |")
        return rows
    }
    rows.append(
        String(
            format: "| %@ | (loading %d lines took %.0f s: %.0f lines/s) | | | |",
            name,
            storedRecords,
            loadSeconds,
            Double(storedRecords) / loadSeconds
        )
    )
    return rows
}

// MARK: 3. The agent's handler on the caller's thread

func handlerCost() async -> [String] {
    var configuration = AgentConfiguration()
    configuration.licenseKey = "apm_0123456789abcdef0123456789abcdef01234567"
    configuration.appName = "bench"
    configuration.harvestInterval = .seconds(3600)
    configuration.logForwarding.maxPerHarvest = 15_000
    let agent = APMAgent(configuration: configuration, logger: quiet, transport: InMemoryCollectorTransport())
    let apm = Logger(label: "shop") { agent.logHandler(label: $0) }
    // stdout goes to /dev/null when run as documented: StreamLogHandler formats and writes as it would in production.
    let stream = Logger(label: "shop") { StreamLogHandler.standardOutput(label: $0) }
    var costs: [String: [Double]] = ["APMLogHandler": [], "StreamLogHandler (stdout)": []]
    let clock = ContinuousClock()
    for round in 0..<200 {
        for (name, logger) in [("APMLogHandler", apm), ("StreamLogHandler (stdout)", stream)] {
            for call in 0..<50 {
                let began = clock.now
                logger.info("order \(round * 50 + call) placed", metadata: ["user.id": "42"])
                let elapsed = clock.now - began
                costs[name]!.append(Double(elapsed.components.attoseconds) / 1e9)
            }
        }
        // Each harvest's buffer stays under its cap: empty it as the delivery loop would.
        if round % 100 == 99 { agent.flush() }
    }
    let apmP50 = percentile(costs["APMLogHandler"]!, 0.5)
    let streamP50 = percentile(costs["StreamLogHandler (stdout)"]!, 0.5)
    return [
        String(format: "| APMLogHandler | %.0f | %.0f |", apmP50, percentile(costs["APMLogHandler"]!, 0.99)),
        String(
            format: "| StreamLogHandler (stdout) | %.0f | %.0f |",
            streamP50,
            percentile(costs["StreamLogHandler (stdout)"]!, 0.99)
        ),
        String(format: "\nAPMLogHandler's p50 is %.2f× StreamLogHandler's", apmP50 / streamP50),
    ]
}

report("## Logs: ingest (\(clients) clients, \(linesPerBatch) lines per batch, \(Int(seconds)) s, SQLite, durable)")
let ingested = try await ingest()
report("| lines/s | lines per CPU-second (collector and load generator) | p99 batch (ms) | failures |")
report("| ---: | ---: | ---: | ---: |")
report(
    String(
        format: "| %.0f | %.0f | %.1f | %d |",
        ingested.linesPerSecond,
        ingested.linesPerCPUSecond,
        ingested.p99,
        ingested.failures
    )
)

report("\n## Logs: the agent's handler, ns per call on the caller's thread (10,000 calls each, interleaved)")
report("| handler | p50 | p99 |")
report("| --- | ---: | ---: |")
for row in await handlerCost() { report(row) }

report("\n## Logs: search over \(storedRecords) lines in 7 days (41 searches each, the first not counted)")
// LOG_SEARCH_SQLITE=FILE LOG_SEARCH_END=UNIX: search a store an earlier run loaded (its path and end are printed).
let reusedSQLite = environment["LOG_SEARCH_SQLITE"]
let end =
    reusedSQLite.flatMap { _ in environment["LOG_SEARCH_END"].flatMap(Int64.init) }
    ?? Int64(Date().timeIntervalSince1970)
let sqlitePath =
    reusedSQLite
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("apm-log-search-\(UUID().uuidString).sqlite").path
report("  SQLite store: LOG_SEARCH_SQLITE=\(sqlitePath) LOG_SEARCH_END=\(end)")
var searchRows: [String] = []
searchRows += try await search(try SQLiteStore(path: sqlitePath), name: "SQLite", end: end, loaded: reusedSQLite != nil)
if let url = environment["APM_TEST_POSTGRES_URL"], environment["LOG_SEARCH_SKIP_POSTGRES"] != "1" {
    var configuration = try PostgresStoreConfiguration(url: url)
    configuration.operationTimeout = .seconds(600)
    let store = PostgresStore(configuration: configuration, logger: quiet)
    searchRows += try await store.withRunning { try await search($0, name: "PostgreSQL", end: end) }
}
report("| backend | search | p50 (ms) | p99 (ms) | lines found (of at most 100) |")
report("| --- | --- | ---: | ---: | ---: |")
for row in searchRows { report(row) }
