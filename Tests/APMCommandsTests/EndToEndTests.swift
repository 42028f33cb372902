import APMCollector
import APMCore
import APMTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A long-running `apm` process whose output is collected.
final class BackgroundAPM: @unchecked Sendable {
    // `output` is only touched under `lock`; the Process is configured before it is shared.
    let process = Process()
    private let lock = NSLock()
    private var text = ""

    init(_ arguments: [String], in directory: String) throws {
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("APM_") && !$0.key.hasPrefix("OTEL_")
        }
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

    func waitFor(_ fragment: String, seconds: Double = 60) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if output.contains(fragment) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    func stop() async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }
}

@Suite(.serialized) struct EndToEndTests {
    static func get<T: Decodable>(_ type: T.Type, _ url: String, key: String) async throws -> T {
        var request = URLRequest(url: URL(string: url)!)
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONDecoder().decode(T.self, from: data)
    }

    /// The route an example-service path belongs to, named as the agent names the transaction.
    static func route(of path: String) -> String {
        let parts = path.split(separator: "/")
        switch parts.first {
        case "users": return "GET /users/{id}"
        case "inventory": return "GET /inventory/{sku}"
        default: return "GET /\(parts.first ?? "")"
        }
    }

    @Test func realBinariesUnderLoadMatchTheGroundTruth() async throws {
        let directory = try CLI.temporaryDirectory()
        let collectorPort = LoopbackPort.free()
        let appPort = LoopbackPort.free()
        let downstreamPort = LoopbackPort.free()

        let collector = try BackgroundAPM(
            ["collector", "--data-dir", "data", "--port", "\(collectorPort)"],
            in: directory
        )
        #expect(await collector.waitFor("apm collector listening on"))
        let key = try #require(
            collector.output.split(separator: "\n").first { $0.contains("license key:") }?.split(separator: " ").last
                .map(String.init)
        )
        // The license key goes to the agent; the API token reads the figures.
        let token = try #require(
            collector.output.split(separator: " ").first { $0.hasPrefix("apt_") }.map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        )
        let config = try CLI.writeConfig(in: directory, key: key, port: collectorPort, app: "e2e")
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "\nharvest_interval = 10\n", with: "\nharvest_interval = 1\n")
        try text.write(toFile: config, atomically: true, encoding: .utf8)

        let durationLog = (directory as NSString).appendingPathComponent("durations.jsonl")
        let app = try BackgroundAPM(
            [
                "run-program", "--config", config, "--sample-interval", "1", "--", CLI.binary, "example-service",
                "--port", "\(appPort)", "--downstream-port", "\(downstreamPort)", "--database", "example.sqlite",
                "--duration-log", durationLog, "--job-interval", "2",
            ],
            in: directory
        )
        var ready = false
        for _ in 0..<300 where !ready {
            if let (_, response) = try? await URLSession.shared.data(
                from: URL(string: "http://127.0.0.1:\(appPort)/fast")!
            ) {
                ready = (response as? HTTPURLResponse)?.statusCode == 200
            }
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ready, "the example service did not answer: \(app.output.suffix(2000))")
        // The warm-up requests above are in the server log, not in the load generator's truth: skip them.
        try await Task.sleep(for: .milliseconds(200))
        let warmUpBytes = (try? Data(contentsOf: URL(fileURLWithPath: durationLog)).count) ?? 0

        let load = try await CLI.run(
            [
                "loadgen", "--url", "http://127.0.0.1:\(appPort)", "--rate", "15", "--duration", "20", "--output",
                "truth.json",
            ],
            in: directory
        )
        #expect(load.status == 0, "\(load.stderr)")
        let truth = try JSONDecoder().decode(
            TruthFile.self,
            from: Data(contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("truth.json")))
        )
        #expect(truth.skipped == 0)

        // Wait for the agent's harvests to reach the collector.
        struct Apps: Decodable { var apps: [APIAppSummary] }
        struct Transactions: Decodable { var transactions: [APITransactionRow] }
        let base = "http://127.0.0.1:\(collectorPort)/api/v1"
        let from = Int64(truth.startedAt) - 120
        let to = Int64(truth.endedAt) + 120
        var rows: [String: APITransactionRow] = [:]
        var appID: Int64 = 0
        let expectedWeb = truth.routes.values.reduce(0) { $0 + $1.count }
        for _ in 0..<100 {
            if let e2e = try? await Self.get(Apps.self, "\(base)/apps", key: token).apps.first(where: {
                $0.name == "e2e"
            }
            ) {
                appID = e2e.id
                let list = try await Self.get(
                    Transactions.self,
                    "\(base)/apps/\(e2e.id)/transactions?from=\(from)&to=\(to)&limit=100",
                    key: token
                )
                rows = Dictionary(uniqueKeysWithValues: list.transactions.map { ($0.name, $0) })
                let web =
                    rows.values.filter { $0.kind == "web" && $0.name != "GET /fast" }.reduce(0) {
                        $0 + Int($1.figures.count)
                    }
                    + Int(rows["GET /fast"]?.figures.count ?? 0)
                if web >= expectedWeb { break }
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(await app.stop() == 0)

        // Server-side truth: the app's own stopwatch, around everything.
        var server: [String: (count: Int, errors: Int, apdex: ApdexCounts, durations: [Double])] = [:]
        let log = try Data(contentsOf: URL(fileURLWithPath: durationLog)).dropFirst(warmUpBytes)
        for line in String(decoding: log, as: UTF8.self).split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let path = object["path"] as? String, let status = object["status"] as? Int,
                let seconds = object["seconds"] as? Double
            else { continue }
            let name = Self.route(of: path)
            var entry = server[name] ?? (0, 0, ApdexCounts(), [])
            entry.count += 1
            if status >= 500 { entry.errors += 1 }
            entry.apdex.record(ApdexThreshold.default.zone(seconds: seconds, isError: status >= 500))
            entry.durations.append(seconds)
            server[name] = entry
        }

        for (name, expected) in truth.routes {
            let row = try #require(rows[name], "the collector has no \(name)")
            var figures = row.figures
            if name == "GET /fast" {
                // The one warm-up request that found the app ready (fast, so satisfied) is not in the truth.
                figures.count -= 1
                figures.apdex.satisfied -= 1
            }
            // Counts and errors: exactly what the client sent and saw.
            #expect(figures.count == UInt64(expected.count), "\(name) count")
            #expect(figures.errors == UInt64(expected.errors), "\(name) errors")
            // S/T/F: those of the durations the app itself measured. The app's stopwatch encloses the agent's
            // span (it starts before the tracing middleware and stops after the body is written), so a request
            // the app timed just above T (or 4T) may be just below it for the agent: those, within 5 ms above a
            // threshold, may move down one zone; every other request must be in the same zone.
            let own = try #require(server[name])
            let nearT = UInt64(own.durations.filter { $0 > 0.5 && $0 <= 0.505 }.count)
            let near4T = UInt64(own.durations.filter { $0 > 2.0 && $0 <= 2.005 }.count)
            #expect(
                figures.apdex.satisfied >= own.apdex.satisfied
                    && figures.apdex.satisfied <= own.apdex.satisfied + nearT,
                "\(name) satisfied \(figures.apdex.satisfied) vs the app's \(own.apdex.satisfied) (\(nearT) just above T)"
            )
            #expect(
                figures.apdex.frustrated <= own.apdex.frustrated
                    && figures.apdex.frustrated + near4T >= own.apdex.frustrated,
                "\(name) frustrated \(figures.apdex.frustrated) vs the app's \(own.apdex.frustrated) (\(near4T) just above 4T)"
            )
            #expect(
                figures.apdex.satisfied + figures.apdex.tolerating + figures.apdex.frustrated
                    == own.apdex.satisfied + own.apdex.tolerating + own.apdex.frustrated,
                "\(name) S + T + F"
            )
            // ...and those of the client's stopwatch, which encloses the app's and adds the network: the agent
            // may only be more generous, and only for requests the app timed within 25 ms of a threshold.
            let nearTForClient = UInt64(own.durations.filter { abs($0 - 0.5) <= 0.025 }.count)
            let near4TForClient = UInt64(own.durations.filter { abs($0 - 2.0) <= 0.025 }.count)
            #expect(
                figures.apdex.satisfied >= UInt64(expected.satisfied)
                    && figures.apdex.satisfied <= UInt64(expected.satisfied) + nearTForClient,
                "\(name) satisfied \(figures.apdex.satisfied) vs the client's \(expected.satisfied)"
            )
            #expect(
                figures.apdex.frustrated <= UInt64(expected.frustrated)
                    && figures.apdex.frustrated + near4TForClient >= UInt64(expected.frustrated),
                "\(name) frustrated \(figures.apdex.frustrated) vs the client's \(expected.frustrated)"
            )
            // p95 within the histogram's 1 % of the app's own p95 (plus 2 ms: the span starts after the app's stopwatch).
            let sorted = own.durations.sorted()
            let p95 = sorted[max(0, Int((0.95 * Double(sorted.count)).rounded(.up)) - 1)]
            let reported = try #require(figures.p95)
            #expect(abs(reported - p95) <= 0.01 * p95 + 0.002, "\(name) p95 \(reported) vs \(p95)")
        }
        #expect((rows["cleanup-sessions"]?.figures.count ?? 0) >= 1)

        // Each route's breakdown and calls, from what its handler does. (Before, /users/{id} showed no database
        // time: its query is recorded through `Transaction.current` inside the tracer's transaction, which did
        // not see it.)
        struct Databases: Decodable { var databases: [APIDatabaseRow] }
        struct Externals: Decodable { var externals: [APIExternalRow] }
        func calls<T: Decodable>(_ type: T.Type, _ kind: String, transaction: String) async throws -> T {
            let name = transaction.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            return try await Self.get(
                type,
                "\(base)/apps/\(appID)/\(kind)?from=\(from)&to=\(to)&transaction=\(name)",
                key: token
            )
        }
        for name in truth.routes.keys {
            let figures = try #require(rows[name]).figures
            let databases = try await calls(Databases.self, "databases", transaction: name).databases
            let externals = try await calls(Externals.self, "externals", transaction: name).externals
            switch name {
            case "GET /users/{id}":
                #expect(databases.map(\.name) == ["SQLite SELECT users"], "\(name)")
                #expect(databases.first?.calls == figures.count, "every request ran one query")
                #expect(
                    figures.breakdown.database > 0 && figures.breakdown.external == 0,
                    "\(name) \(figures.breakdown)"
                )
            case "GET /report":
                #expect(databases.first?.calls == figures.count, "\(name)")
                // The recursive query is most of the request.
                #expect(figures.breakdown.database > 0.5 * (figures.average ?? 0), "\(name) \(figures.breakdown)")
            case "GET /inventory/{sku}":
                #expect(externals.map(\.host) == ["127.0.0.1"] && externals.first?.calls == figures.count, "\(name)")
                // The downstream sleeps 30 ms per call.
                #expect(figures.breakdown.external >= 0.03 && figures.breakdown.database == 0, "\(name)")
            default:
                #expect(databases.isEmpty && externals.isEmpty, "\(name)")
                #expect(figures.breakdown.database == 0 && figures.breakdown.external == 0, "\(name)")
            }
        }

        struct Process: Decodable { var events: [StoredProcessEventLite] }
        struct StoredProcessEventLite: Decodable { var kind: String }
        let process = try await Self.get(Process.self, "\(base)/apps/\(appID)/process?since=1h", key: token)
        #expect(process.events.map(\.kind).contains("start"))
        #expect(await collector.stop() == 0)
    }
}

/// The load generator's ground truth file.
struct TruthFile: Decodable {
    struct Route: Decodable {
        var count: Int
        var errors: Int
        var satisfied: Int
        var tolerating: Int
        var frustrated: Int
    }
    var startedAt: Double
    var endedAt: Double
    var requests: Int
    var skipped: Int
    var routes: [String: Route]

    enum CodingKeys: String, CodingKey {
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case requests, skipped, routes
    }
}
