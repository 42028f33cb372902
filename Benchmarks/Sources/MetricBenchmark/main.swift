// Server and runtime metrics (issue 29), in one run:
//  1. OTLP metric ingest, durable, on SQLite (synchronous = FULL) and, when APM_TEST_POSTGRES_URL is set
//     (scripts/with-postgres, APM_POSTGRES_DURABLE=1 for PostgreSQL's durable defaults), on PostgreSQL: CLIENTS
//     clients, each an app on its own host exporting protobuf every "10 s" (the timestamps advance; the clock does
//     not wait) with SERIES series (gauges, cumulative counters, cumulative histograms), posted over loopback to an
//     in-process collector; data points per second, and per CPU-second of the whole process;
//  2. the hosts list and one host over 7 days of 20 hosts (25 host series each, a reading every 10 minutes, loaded
//     through the store's commit): p50/p95 of the API answer, which is what the Hosts page computes.
// Run: cd Benchmarks && swift build -c release --product MetricBenchmark &&
//      APM_POSTGRES_DURABLE=1 ../scripts/with-postgres .build/release/MetricBenchmark   (the table goes to stderr)
//      APM_BINARY=path/to/apm (a release build) adds a run into an `apm collector` process: its CPU alone.
import APMCollector
import APMCore
import APMPostgres
import APMSQLite
import APMStorage
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

let environment = ProcessInfo.processInfo.environment
let clients = Int(environment["CLIENTS"] ?? "") ?? 8
let seconds = Double(environment["SECONDS_PER_RUN"] ?? "") ?? 15
let seriesPerExport = Int(environment["SERIES"] ?? "") ?? 1_000
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

/// Protobuf fields, as the OTLP messages need them.
struct Protobuf {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
    mutating func varint(_ field: UInt64, _ value: UInt64) {
        varint(field << 3)
        varint(value)
    }
    mutating func fixed64(_ field: UInt64, _ value: UInt64) {
        varint(field << 3 | 1)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xff)) }
    }
    mutating func message(_ field: UInt64, _ value: [UInt8]) {
        varint(field << 3 | 2)
        varint(UInt64(value.count))
        bytes += value
    }
    mutating func string(_ field: UInt64, _ value: String) { message(field, Array(value.utf8)) }
    mutating func packed(_ field: UInt64, _ values: [UInt64]) {
        var inner = Protobuf()
        for value in values {
            for shift in stride(from: 0, to: 64, by: 8) { inner.bytes.append(UInt8((value >> UInt64(shift)) & 0xff)) }
        }
        message(field, inner.bytes)
    }
    static func keyValue(_ key: String, _ value: String) -> [UInt8] {
        var any = Protobuf()
        any.string(1, value)
        var pair = Protobuf()
        pair.string(1, key)
        pair.message(2, any.bytes)
        return pair.bytes
    }
}

/// One export of `seriesPerExport` series at step `step` (10 s apart): 60 % gauges, 30 % cumulative counters,
/// 10 % cumulative histograms of 16 buckets, 40 metric names with attribute sets.
func export(client: Int, step: Int, start: Int64) -> [UInt8] {
    let time = UInt64(start + Int64(step) * 10_000_000_000)
    var metrics: [[UInt8]] = []
    let names = 40
    for name in 0..<names {
        let kind = name % 10 < 6 ? 0 : name % 10 < 9 ? 1 : 2
        var data = Protobuf()
        for series in stride(from: name, to: seriesPerExport, by: names) {
            var point = Protobuf()
            point.message(kind == 2 ? 9 : 7, Protobuf.keyValue("instance", "i\(series)"))
            point.fixed64(2, UInt64(start))
            point.fixed64(3, time)
            switch kind {
            case 0: point.fixed64(4, (Double(series % 97) + Double(step % 7) / 8).bitPattern)
            case 1: point.fixed64(6, UInt64(1_000 * (step + 1) + series))
            default:
                let count = UInt64(17 * (step + 1))
                point.fixed64(4, count)
                point.fixed64(5, (Double(count) * 0.125).bitPattern)
                point.packed(
                    6,
                    (0..<16).map { bucket in bucket == 15 ? count - 15 * UInt64(step + 1) : UInt64(step + 1) }
                )
                point.packed(7, (1...15).map { (Double($0) * 0.01).bitPattern })
            }
            data.message(1, point.bytes)
        }
        if kind != 0 { data.varint(2, 2) }
        if kind == 1 { data.varint(3, 1) }
        var metric = Protobuf()
        metric.string(1, "bench.metric.\(name)")
        metric.string(3, kind == 2 ? "s" : "1")
        metric.message(kind == 0 ? 5 : kind == 1 ? 7 : 9, data.bytes)
        metrics.append(metric.bytes)
    }
    var resource = Protobuf()
    resource.message(1, Protobuf.keyValue("service.name", "app-\(client)"))
    resource.message(1, Protobuf.keyValue("host.name", "host-\(client)"))
    var scope = Protobuf()
    for metric in metrics { scope.message(2, metric) }
    var resourceMetrics = Protobuf()
    resourceMetrics.message(1, resource.bytes)
    resourceMetrics.message(2, scope.bytes)
    var request = Protobuf()
    request.message(1, resourceMetrics.bytes)
    return request.bytes
}

/// A collector on `store`, serving on a free loopback port, until `body` returns.
func withCollector<T>(
    _ store: any APMStore,
    directory: String,
    _ body: (_ port: Int, _ credentials: Collector.FirstStartCredentials) async throws -> T
) async throws -> T {
    var configuration = CollectorConfiguration()
    configuration.server.port = 0
    configuration.dataDirectory = directory
    configuration.limits.cardinality.maxMetricSeries = 1_000_000
    let collector = Collector(configuration: configuration, logger: quiet, store: store)
    let credentials = try await collector.bootstrapIfNeeded()!
    let group = ServiceGroup(services: [collector.application], gracefulShutdownSignals: [], logger: quiet)
    let server = Task { try await group.run() }
    while collector.boundPort == nil { try await Task.sleep(for: .milliseconds(10)) }
    defer { server.cancel() }
    return try await body(collector.boundPort!, credentials)
}

// MARK: 1. Ingest

func ingest(_ store: any APMStore, name: String) async throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "apm-metric-bench-\(UUID().uuidString)"
    )
    .path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await withCollector(store, directory: directory) { port, credentials in
        try await load(name: name, port: port, key: credentials.licenseKey) { cpuSeconds() }
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
func cpuSeconds(pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The same load into an `apm collector` process (APM_BINARY) on SQLite: its own CPU, without the load generator's.
func ingestIntoProcess(binary: String) async throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "apm-metric-proc-\(UUID().uuidString)"
    )
    .path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let port = Int.random(in: 20_000...29_999)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["collector", "--port", "\(port)", "--data-dir", directory]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    defer {
        process.terminate()
        process.waitUntilExit()
    }
    var text = ""
    while !text.contains("apm collector listening on") {
        let data = output.fileHandleForReading.availableData
        guard !data.isEmpty else { throw CancellationError() }
        text += String(decoding: data, as: UTF8.self)
    }
    guard
        let key = text.split(separator: "\n").first(where: { $0.contains("license key:") })?.split(separator: " ").last
    else { throw CancellationError() }
    let pid = process.processIdentifier
    return try await load(name: "SQLite, apm collector process", port: port, key: String(key)) { cpuSeconds(pid: pid) }
}

/// CLIENTS clients posting their exports for SECONDS_PER_RUN to a collector; the row of the table, CPU from
/// `cpuSeconds` (the process's, or the collector process's).
func load(name: String, port: Int, key: String, cpuSeconds: () -> Double) async throws -> String {
    // Bodies made before the clock starts; timestamps from an hour ago, 10 s apart.
    let start = (Int64(Date().timeIntervalSince1970) - 3600) * 1_000_000_000
    let exportsPerClient = Int(seconds * 10) + 20
    let bodies = (0..<clients).map { client in
        (0..<exportsPerClient).map { ByteBuffer(bytes: export(client: client, step: $0, start: start)) }
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
                // In order: a cumulative series' readings must arrive in time order.
                for body in mine where ContinuousClock.now < deadline {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/metrics")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/x-protobuf")
                    request.headers.add(name: "X-APM-License-Key", value: key)
                    request.body = .bytes(body)
                    let sent = ContinuousClock.now
                    do {
                        let response = try await http.execute(request, timeout: .seconds(60))
                        let answer = try await response.body.collect(upTo: 1 << 20)
                        if response.status == .ok && answer.readableBytes == 0 {
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
    let points = Double(latencies.count * seriesPerExport)
    return String(
        format: "| %@ | %.0f | %.0f | %.0f | %.1f | %d |",
        name,
        points / wall,
        points / cpu,
        cpu / wall * 100,
        percentile(latencies, 0.99),
        failures
    )
}

// MARK: 2. Hosts over 7 days

/// 25 series per host, as run-program sends them.
func hostReadings(host: Int, at time: Int64, step: Int) -> [MetricPoint] {
    var points: [MetricPoint] = []
    let busy = Double((host * 7 + step) % 100) / 100
    for (state, share) in [
        ("user", busy * 0.6), ("system", busy * 0.3), ("wait", busy * 0.1), ("idle", 1 - busy), ("nice", 0),
        ("interrupt", 0), ("steal", 0),
    ] {
        points.append(
            MetricPoint(
                name: "system.cpu.utilization",
                unit: "1",
                kind: .gauge,
                attributes: ["state": state],
                timeUnixNano: time,
                value: share
            )
        )
    }
    for (name, value) in [
        ("system.cpu.load_average.1m", busy * 4), ("system.cpu.load_average.5m", busy * 3),
        ("system.cpu.load_average.15m", busy * 2), ("system.memory.limit", 8e9), ("system.linux.memory.available", 4e9),
    ] {
        points.append(MetricPoint(name: name, kind: .gauge, timeUnixNano: time, value: value))
    }
    points.append(
        MetricPoint(
            name: "system.memory.usage",
            unit: "By",
            kind: .gauge,
            attributes: ["state": "used"],
            timeUnixNano: time,
            value: 4e9
        )
    )
    points.append(
        MetricPoint(
            name: "system.memory.utilization",
            unit: "1",
            kind: .gauge,
            attributes: ["state": "used"],
            timeUnixNano: time,
            value: 0.5
        )
    )
    for state in ["used", "free"] {
        points.append(
            MetricPoint(
                name: "system.filesystem.usage",
                unit: "By",
                kind: .gauge,
                attributes: ["mountpoint": "/", "state": state],
                timeUnixNano: time,
                value: 5e10
            )
        )
    }
    points.append(
        MetricPoint(
            name: "system.filesystem.utilization",
            unit: "1",
            kind: .gauge,
            attributes: ["mountpoint": "/"],
            timeUnixNano: time,
            value: 0.5
        )
    )
    for direction in ["read", "write"] {
        points.append(
            MetricPoint(
                name: "system.disk.io",
                unit: "By",
                kind: .counter,
                attributes: ["device": "sda", "direction": direction],
                timeUnixNano: time,
                value: 1e6
            )
        )
    }
    for name in ["system.network.io", "system.network.packets", "system.network.errors"] {
        for direction in ["receive", "transmit"] {
            points.append(
                MetricPoint(
                    name: name,
                    kind: .counter,
                    attributes: ["device": "eth0", "direction": direction],
                    timeUnixNano: time,
                    value: 1e3
                )
            )
        }
    }
    return points
}

func hosts(_ store: any APMStore, name: String) async throws -> [String] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "apm-hosts-bench-\(UUID().uuidString)"
    )
    .path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await withCollector(store, directory: directory) { port, credentials in
        let token = credentials.apiToken
        let account = try await store.accounts().first!
        let end = Int64(Date().timeIntervalSince1970)
        let loadStarted = ContinuousClock.now
        var points = 0
        // A reading every 10 minutes for 7 days; one commit per host and day.
        for host in 0..<20 {
            for day in 0..<7 {
                var metrics: [MetricPoint] = []
                for step in 0..<144 {
                    let second = end - 7 * 86_400 + Int64(day * 86_400 + step * 600)
                    metrics += hostReadings(host: host, at: second * 1_000_000_000, step: step)
                }
                points += metrics.count
                let batch = AgentBatch(
                    batchID: UUID().uuidString,
                    agent: AgentIdentity(appName: "app-\(host)", host: "host-\(host)", pid: 0, agentVersion: "bench"),
                    createdAt: Double(end),
                    apdexT: 0.5,
                    metrics: metrics
                )
                _ = try await store.commit(
                    [IngestItem(accountID: account.id, batch: batch, receivedAt: Double(end))],
                    limits: CardinalityLimits()
                )
            }
        }
        let loading = elapsedSeconds(since: loadStarted)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var rows: [String] = []
        // The sign-in answers a redirect, whose cookie the client must keep: a client that does not follow it.
        let signInClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
        )
        let session = try await signIn(signInClient, port: port, password: credentials.adminPassword)
        try await signInClient.shutdown()
        for (title, path) in [
            ("hosts list, 7 days", "/api/v1/hosts?since=7d"), ("one host, 7 days", "/api/v1/hosts/host-3?since=7d"),
            ("the Hosts page, 7 days", "/hosts?range=7d"), ("a host's page, 7 days", "/hosts/host-3?range=7d"),
        ] {
            var latencies: [Double] = []
            for round in 0..<21 {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                request.headers.add(name: "Cookie", value: session)
                let began = ContinuousClock.now
                let response = try await http.execute(request, timeout: .seconds(60))
                _ = try await response.body.collect(upTo: 64 << 20)
                precondition(response.status == .ok, "\(path): \(response.status)")
                if round > 0 { latencies.append(elapsedSeconds(since: began) * 1000) }
            }
            rows.append(
                String(
                    format: "| %@ | %@ | %.1f | %.1f |",
                    name,
                    title,
                    percentile(latencies, 0.5),
                    percentile(latencies, 0.95)
                )
            )
        }
        try await http.shutdown()
        rows.append(String(format: "| %@ | (loading %d points took %.0f s) | | |", name, points, loading))
        return rows
    }
}

/// Signs in to the dashboard as `admin`: the session cookie (`name=value`).
func signIn(_ http: HTTPClient, port: Int, password: String) async throws -> String {
    let page = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/login"), timeout: .seconds(30))
    let html = String(buffer: try await page.body.collect(upTo: 1 << 20))
    let token = html.components(separatedBy: "name=\"csrf\" value=\"")[1].prefix { $0 != "\"" }
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/login")
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
    request.headers.add(name: "Cookie", value: "apm_login_csrf=\(token)")
    let password = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
    request.body = .bytes(ByteBuffer(string: "name=admin&password=\(password)&csrf=\(token)"))
    let response = try await http.execute(request, timeout: .seconds(30))
    let cookie = response.headers["Set-Cookie"].first { !$0.hasPrefix("apm_login_csrf") } ?? ""
    return String(cookie.prefix { $0 != ";" })
}

func postgresStore(_ url: String) throws -> PostgresStore {
    var configuration = try PostgresStoreConfiguration(url: url)
    configuration.operationTimeout = .seconds(600)
    return PostgresStore(configuration: configuration, logger: quiet)
}

let sqlitePath = {
    FileManager.default.temporaryDirectory.appendingPathComponent("apm-metrics-\(UUID().uuidString).sqlite").path
}
let postgresURL = environment["APM_TEST_POSTGRES_URL"]

report("## Metrics: OTLP ingest (\(clients) clients, \(seriesPerExport) points per export, \(Int(seconds)) s, durable)")
report(
    "| backend | points/s | points per CPU-second (collector and load generator) | CPU (% of one core) | p99 export (ms) | failures |"
)
report("| --- | ---: | ---: | ---: | ---: | ---: |")
report(try await ingest(try SQLiteStore(path: sqlitePath()), name: "SQLite"))
if let binary = environment["APM_BINARY"] { report(try await ingestIntoProcess(binary: binary)) }
if let postgresURL {
    report(try await postgresStore(postgresURL).withRunning { try await ingest($0, name: "PostgreSQL") })
}

// SKIP_HOSTS=1: the ingest figures alone (for a profile of ingest).
guard environment["SKIP_HOSTS"] != "1" else { exit(0) }

report("\n## Metrics: hosts over 7 days of 20 hosts (25 series each, a reading every 10 minutes; 20 requests each)")
report("| backend | answer | p50 (ms) | p95 (ms) |")
report("| --- | --- | ---: | ---: |")
for row in try await hosts(try SQLiteStore(path: sqlitePath()), name: "SQLite") { report(row) }
if let postgresURL {
    // A second database on the same server: the first holds the ingest run's series.
    for row in try await postgresStore(postgresURL).withRunning({ store in
        try await store.deleteEverything()
        return try await hosts(store, name: "PostgreSQL")
    }) { report(row) }
}
