// OTLP/HTTP trace ingest over loopback, with spans counted on arrival (otlp_trace_wait = 0) against spans kept
// in the store until their trace is settled (the default), in one run so that the ratio holds on a noisy
// machine. Each export is 20 requests of 5 spans (a server span, two database calls, an HTTP call, a custom
// span), JSON, gzip. Run: swift run -c release OTLPBenchmark
import APMCollector
import APMCore
import APMSQLite
import APMStorage
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

let clients = Int(ProcessInfo.processInfo.environment["CLIENTS"] ?? "") ?? 8
let seconds = Double(ProcessInfo.processInfo.environment["SECONDS_PER_RUN"] ?? "") ?? 10
let requestsPerExport = 20
let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()
let http = HTTPClient(eventLoopGroupProvider: .singleton)

func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

/// One export with ids of its own (`sequence` keeps exports apart).
func export(client: Int, sequence: Int) -> Data {
    let now = Date().timeIntervalSince1970 - 5
    var spans: [[String: Any]] = []
    for request in 0..<requestsPerExport {
        let trace = UInt64(client) << 40 | UInt64(sequence) << 8 | UInt64(request)
        let start = now + Double(request) / 100
        func span(
            _ id: UInt64,
            parent: UInt64?,
            name: String,
            kind: Int,
            offset: Double,
            seconds: Double,
            _ attributes: [String: String]
        ) {
            var span: [String: Any] = [
                "traceId": hex(trace, digits: 32), "spanId": hex(trace << 4 | id, digits: 16), "name": name,
                "kind": kind,
                "startTimeUnixNano": String(UInt64((start + offset) * 1e9)),
                "endTimeUnixNano": String(UInt64((start + offset + seconds) * 1e9)),
                "attributes": attributes.map { ["key": $0.key, "value": ["stringValue": $0.value]] },
            ]
            if let parent { span["parentSpanId"] = hex(trace << 4 | parent, digits: 16) }
            spans.append(span)
        }
        span(
            1,
            parent: nil,
            name: "GET /orders/{id}",
            kind: 2,
            offset: 0,
            seconds: 0.3,
            ["http.request.method": "GET", "http.route": "/orders/{id}"]
        )
        span(
            2,
            parent: 1,
            name: "SELECT",
            kind: 3,
            offset: 0.01,
            seconds: 0.05,
            ["db.system.name": "postgresql", "db.query.text": "SELECT * FROM orders WHERE id = 7"]
        )
        span(
            3,
            parent: 1,
            name: "UPDATE",
            kind: 3,
            offset: 0.07,
            seconds: 0.02,
            ["db.system.name": "postgresql", "db.query.text": "UPDATE stock SET n = n - 1 WHERE sku = 'a'"]
        )
        span(
            4,
            parent: 1,
            name: "GET",
            kind: 3,
            offset: 0.1,
            seconds: 0.08,
            ["http.request.method": "GET", "url.full": "https://payments.example/charge"]
        )
        span(5, parent: 1, name: "render", kind: 1, offset: 0.2, seconds: 0.05, [:])
    }
    let body: [String: Any] = [
        "resourceSpans": [
            [
                "resource": ["attributes": [["key": "service.name", "value": ["stringValue": "bench-\(client % 4)"]]]],
                "scopeSpans": [["spans": spans]],
            ]
        ]
    ]
    return try! JSONSerialization.data(withJSONObject: body)
}

struct Outcome {
    var exportsPerSecond: Double
    var p99: Double
    var failures: Int
    var settleSeconds: Double
    var transactions: Int
}

@MainActor func run(wait: Int) async throws -> Outcome {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apm-otlp-bench-\(UUID().uuidString)")
        .path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var configuration = CollectorConfiguration()
    configuration.server.port = 0
    configuration.dataDirectory = directory
    configuration.otlp.traceWait = .seconds(wait)
    let clock = Clock()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let collector = Collector(
        configuration: configuration,
        logger: logger,
        store: try SQLiteStore(path: configuration.databasePath),
        now: { clock.now }
    )
    let key = try await collector.bootstrapIfNeeded()!.licenseKey
    let group = ServiceGroup(services: [collector.application], gracefulShutdownSignals: [], logger: logger)
    let server = Task { try await group.run() }
    while collector.boundPort == nil { try await Task.sleep(for: .milliseconds(10)) }
    let port = collector.boundPort!
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    let started = ContinuousClock.now
    let (latencies, failures) = await withTaskGroup(of: ([Double], Int).self) { tasks in
        for client in 0..<clients {
            tasks.addTask {
                var latencies: [Double] = []
                var failures = 0
                var sequence = 0
                while ContinuousClock.now < deadline {
                    sequence += 1
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/traces")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.headers.add(name: "Content-Encoding", value: "gzip")
                    request.headers.add(name: "x-apm-license-key", value: key)
                    request.body = .bytes(
                        ByteBuffer(bytes: try! Gzip.compress(export(client: client, sequence: sequence), level: 1))
                    )
                    let sent = ContinuousClock.now
                    do {
                        let response = try await http.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        let elapsed = ContinuousClock.now - sent
                        if response.status == .ok {
                            latencies.append(
                                Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds)
                                    / 1e15
                            )
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
        for await (latencies, failures) in tasks {
            all.0 += latencies
            all.1 += failures
        }
        return all
    }
    let elapsed = ContinuousClock.now - started
    let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    // The settler's work, timed on its own: the clock jumps past the wait and everything kept is counted.
    clock.advance(by: Double(wait) + 1)
    let settleStarted = ContinuousClock.now
    let settled = try await collector.settlePendingSpans()
    let settleElapsed = ContinuousClock.now - settleStarted
    server.cancel()
    _ = try? await server.value
    try await collector.close()
    let sorted = latencies.sorted()
    return Outcome(
        exportsPerSecond: Double(latencies.count) / wall,
        p99: sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))],
        failures: failures,
        settleSeconds: Double(settleElapsed.components.seconds) + Double(settleElapsed.components.attoseconds) / 1e18,
        transactions: settled.transactions
    )
}

/// A clock the benchmark moves forward once, past the wait.
final class Clock: @unchecked Sendable {
    private let lock = NSLock()
    private var offset = 0.0
    var now: Double { lock.withLock { Date().timeIntervalSince1970 + offset } }
    func advance(by seconds: Double) { lock.withLock { offset += seconds } }
}

print("## OTLP ingest (\(clients) clients, \(requestsPerExport) requests × 5 spans per export, \(Int(seconds)) s each)")
print(
    "| otlp_trace_wait | exports/s | spans/s | p99 export (ms) | failures | settle after the run (s) | spans settled/s |"
)
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
var rates: [Double] = []
for wait in [0, 30] {
    let outcome = try await run(wait: wait)
    rates.append(outcome.exportsPerSecond)
    let spansPerSecond = outcome.exportsPerSecond * Double(requestsPerExport * 5)
    let settledRate =
        wait == 0 ? "–" : String(format: "%.0f", Double(outcome.transactions * 5) / max(outcome.settleSeconds, 1e-9))
    print(
        String(
            format: "| %d s | %.0f | %.0f | %.1f | %d | %@ | %@ |",
            wait,
            outcome.exportsPerSecond,
            spansPerSecond,
            outcome.p99,
            outcome.failures,
            wait == 0 ? "–" : String(format: "%.2f", outcome.settleSeconds),
            settledRate
        )
    )
}
print(
    String(
        format: "\nKeeping spans for their trace: %.2f× the exports per second of counting them on arrival",
        rates[1] / rates[0]
    )
)
try await http.shutdown()
