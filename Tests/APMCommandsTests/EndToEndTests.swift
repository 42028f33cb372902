import APMCollector
import APMCore
import APMTestSupport
import APMTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A long-running `apm` process whose output is collected.
@Suite(.serialized, .tags(.slow)) struct EndToEndTests {
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

    /// SQLite with one collector; PostgreSQL with two collector processes, each with an example service whose agent
    /// sends to it (agents spread over both), one truth for the whole load. One case at a time: run together, their
    /// four services and three servers on 2 cores pushed the agent's spans past the p95 check's 2 ms margin.
    @Test(.serialized, arguments: EndToEndStorage.available)
    func realBinariesUnderLoadMatchTheGroundTruth(storage: EndToEndStorage) async throws {
        try await HeavyTestGate.run { try await runUnderLoad(storage: storage) }
    }

    private func runUnderLoad(storage: EndToEndStorage) async throws {
        let directory = try CLI.temporaryDirectory()
        // Every server here listens on port 0 and the test reads the port it prints.
        let collectors: [APMProcess]
        var database: PostgresTestDatabase?
        switch storage {
        case .sqlite:
            collectors = [try APMProcess(arguments: ["collector", "--data-dir", "data", "--port", "0"], in: directory)]
        case .postgresql:
            let created = try PostgresTestDatabase()
            database = created
            collectors = try (0..<2).map { _ in
                try APMProcess(arguments: ["collector", "--postgres-url", created.url, "--port", "0"], in: directory)
            }
        }
        defer { database?.drop() }
        var collectorPorts: [Int] = []
        for collector in collectors {
            let port = await collector.waitForPort(after: APMProcess.collectorAnnouncement)
            collectorPorts.append(try #require(port, "the collector did not start: \(collector.output)"))
        }
        let setUp = collectors.filter { $0.output.contains("license key:") }
        #expect(setUp.count == 1, "exactly one collector set up the store")
        let first = try #require(setUp.first)
        // The license key goes to the agents; the API token reads the figures.
        let key = try #require(first.licenseKey)
        let token = try #require(first.apiToken)

        // One example service per collector, each under `apm run-program` with its agent sending to that collector.
        struct Instance {
            var directory: String
            var app: APMProcess
            var durationLog: String
            var warmUpBytes: Int
            var appPort: Int
        }
        var instances: [Instance] = []
        for collectorPort in collectorPorts {
            let instanceDirectory = (directory as NSString).appendingPathComponent("service-\(instances.count)")
            try FileManager.default.createDirectory(atPath: instanceDirectory, withIntermediateDirectories: true)
            let config = try CLI.writeConfig(in: instanceDirectory, key: key, port: collectorPort, app: "e2e")
            var text = try String(contentsOfFile: config, encoding: .utf8)
            text = text.replacingOccurrences(of: "\nharvest_interval = 10\n", with: "\nharvest_interval = 1\n")
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let durationLog = (instanceDirectory as NSString).appendingPathComponent("durations.jsonl")
            let app = try APMProcess(
                arguments: [
                    "run-program", "--config", config, "--sample-interval", "1", "--", CLI.binary, "example-service",
                    "--port", "0", "--downstream-port", "0", "--database", "example.sqlite",
                    "--duration-log", durationLog, "--job-interval", "2",
                ],
                in: instanceDirectory
            )
            let appPort = try #require(
                await app.waitForPort(after: "example service listening on "),
                "the example service did not start: \(app.output.suffix(2000))"
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
            instances.append(
                Instance(
                    directory: instanceDirectory,
                    app: app,
                    durationLog: durationLog,
                    warmUpBytes: warmUpBytes,
                    appPort: appPort
                )
            )
        }

        // The loads run together; their truths add up. The total rate is the same with one service or two, so
        // that two services (and two collectors, and PostgreSQL) on 2 cores see no more load than one: the p95
        // check below allows 2 ms between the app's stopwatch and the agent's span.
        let rate = String(15 / Double(instances.count))
        let truths = try await withThrowingTaskGroup(of: TruthFile.self) { group in
            for (number, instance) in instances.enumerated() {
                group.addTask {
                    let load = try await CLI.run(
                        [
                            "loadgen", "--url", "http://127.0.0.1:\(instance.appPort)", "--rate", rate, "--duration",
                            "20", "--output", "truth.json",
                        ],
                        in: instance.directory
                    )
                    #expect(load.status == 0, "\(load.stderr)")
                    var truth = try JSONDecoder().decode(
                        TruthFile.self,
                        from: Data(
                            contentsOf: URL(
                                fileURLWithPath: (instance.directory as NSString).appendingPathComponent("truth.json")
                            )
                        )
                    )
                    // Request ids are per load generator: the service's number makes them unique.
                    for index in truth.timed.indices { truth.timed[index].id = "\(number)/\(truth.timed[index].id)" }
                    return truth
                }
            }
            return try await group.reduce(into: [TruthFile]()) { $0.append($1) }
        }
        let truth = TruthFile.merged(truths)
        #expect(truth.skipped == 0)
        let collectorPort = collectorPorts[0]

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
                    + Int(rows["GET /fast"]?.figures.count ?? 0) - instances.count
                if web >= expectedWeb { break }
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        for instance in instances { #expect(await instance.app.stop() == 0) }

        // Server-side truth: the apps' own stopwatches, the outer one around everything and the inner one inside
        // the tracing middleware (the agent's span lasts at least the inner duration and at most the outer one).
        var server: [String: (count: Int, errors: Int, apdex: ApdexCounts, durations: [Double])] = [:]
        var inner: [String: (count: Int, errors: Int, apdex: ApdexCounts, durations: [Double])] = [:]
        // Each request's inner duration by its id (the load generator's X-Request-ID), to match the client's.
        var innerByID: [String: Double] = [:]
        let logs = try instances.map {
            Data(try Data(contentsOf: URL(fileURLWithPath: $0.durationLog)).dropFirst($0.warmUpBytes))
        }
        for (number, log) in logs.enumerated() {
            for line in String(decoding: log, as: UTF8.self).split(separator: "\n") {
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    object["stopwatch"] as? String == "inner", let id = object["id"] as? String, !id.isEmpty,
                    let seconds = object["seconds"] as? Double
                else { continue }
                innerByID["\(number)/\(id)"] = seconds
            }
        }
        for line in logs.flatMap({ String(decoding: $0, as: UTF8.self).split(separator: "\n") }) {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let path = object["path"] as? String, let status = object["status"] as? Int,
                let seconds = object["seconds"] as? Double
            else { continue }
            let name = Self.route(of: path)
            let isInner = object["stopwatch"] as? String == "inner"
            var entry = (isInner ? inner[name] : server[name]) ?? (0, 0, ApdexCounts(), [])
            entry.count += 1
            if status >= 500 { entry.errors += 1 }
            entry.apdex.record(ApdexThreshold.default.zone(seconds: seconds, isError: status >= 500))
            entry.durations.append(seconds)
            if isInner { inner[name] = entry } else { server[name] = entry }
        }

        for (name, expected) in truth.routes {
            let row = try #require(rows[name], "the collector has no \(name)")
            var figures = row.figures
            if name == "GET /fast" {
                // The one warm-up request per app that found it ready (fast, so satisfied) is not in the truth.
                figures.count -= UInt64(instances.count)
                figures.apdex.satisfied -= UInt64(instances.count)
            }
            // Counts and errors: exactly what the client sent and saw.
            #expect(figures.count == UInt64(expected.count), "\(name) count")
            #expect(figures.errors == UInt64(expected.errors), "\(name) errors")
            // S/T/F: between those of the app's two stopwatches. Per request, the inner duration <= the agent's
            // span <= the outer duration, so the agent counts at most the inner stopwatch's satisfied and at
            // least the outer one's (and the reverse for frustrated), whatever the load on the machine.
            let own = try #require(server[name])
            let ownInner = try #require(inner[name], "the app's inner stopwatch has no \(name)")
            #expect(ownInner.count == own.count && ownInner.errors == own.errors, "\(name): both stopwatches")
            #expect(
                figures.apdex.satisfied >= own.apdex.satisfied
                    && figures.apdex.satisfied <= ownInner.apdex.satisfied,
                "\(name) satisfied \(figures.apdex.satisfied) vs the app's \(own.apdex.satisfied) (outer) to \(ownInner.apdex.satisfied) (inner)"
            )
            #expect(
                figures.apdex.frustrated <= own.apdex.frustrated
                    && figures.apdex.frustrated >= ownInner.apdex.frustrated,
                "\(name) frustrated \(figures.apdex.frustrated) vs the app's \(own.apdex.frustrated) (outer) to \(ownInner.apdex.frustrated) (inner)"
            )
            #expect(
                figures.apdex.satisfied + figures.apdex.tolerating + figures.apdex.frustrated
                    == own.apdex.satisfied + own.apdex.tolerating + own.apdex.frustrated,
                "\(name) S + T + F"
            )
            // ...and those of the client's stopwatch, which encloses the app's and adds the network and the
            // scheduling of a loaded machine: the agent may only be more generous, and only for requests whose
            // client time crossed a threshold that their time inside the app (the inner stopwatch, which the
            // agent's span encloses) did not. Those are counted request by request, matched by the id the load
            // generator sends; a request the app did not log under its id counts as one that may have crossed.
            let timed = truth.timed.filter { $0.route == name }
            let nearTForClient = UInt64(
                timed.filter { request in
                    guard let inner = innerByID[request.id] else { return true }
                    return request.seconds > 0.5 && inner <= 0.5
                }.count
            )
            let near4TForClient = UInt64(
                timed.filter { request in
                    guard let inner = innerByID[request.id] else { return true }
                    return request.seconds > 2.0 && inner <= 2.0
                }.count
            )
            #expect(timed.count == expected.count, "\(name): every request of the truth is listed with its id")
            let unmatched = timed.filter { innerByID[$0.id] == nil && $0.status != 0 }.count
            #expect(unmatched == 0, "\(name): \(unmatched) answered requests are not in the app's log under their id")
            #expect(
                figures.apdex.satisfied >= UInt64(expected.satisfied)
                    && figures.apdex.satisfied <= UInt64(expected.satisfied) + nearTForClient,
                "\(name) satisfied \(figures.apdex.satisfied) vs the client's \(expected.satisfied) (\(nearTForClient) over T for the client only)"
            )
            #expect(
                figures.apdex.frustrated <= UInt64(expected.frustrated)
                    && figures.apdex.frustrated + near4TForClient >= UInt64(expected.frustrated),
                "\(name) frustrated \(figures.apdex.frustrated) vs the client's \(expected.frustrated) (\(near4TForClient) over 4T for the client only)"
            )
            // p95 at least the inner stopwatch's p95 (the order statistics of per-request bounds are bounds), give
            // or take the histogram's 1 %; and at most the outer one's plus 2 ms: on the 5 ms route the agent's p95
            // came out up to ≈ 0.2 ms above the outer stopwatch's in busy runs (why is not established: the outer
            // stopwatch should enclose the span), so the outer bound keeps the margin it always had.
            let appSorted = own.durations.sorted()
            let p95 = appSorted[max(0, Int((0.95 * Double(appSorted.count)).rounded(.up)) - 1)]
            let innerSorted = ownInner.durations.sorted()
            let innerP95 = innerSorted[max(0, Int((0.95 * Double(innerSorted.count)).rounded(.up)) - 1)]
            let reported = try #require(figures.p95)
            #expect(
                reported >= innerP95 * 0.99 * (1 - 1e-9) && reported <= p95 * 1.01 + 0.002,
                "\(name) p95 \(reported) vs the app's \(innerP95) (inner) to \(p95) (outer)"
            )
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
                // Its breakdown leads with that query: ≥ 90 % of the time, one call per request; and the query's
                // callers name the route.
                let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                let breakdown = try await Self.get(
                    APITransactionBreakdown.self,
                    "\(base)/apps/\(appID)/transactions/breakdown?from=\(from)&to=\(to)&transaction=\(encoded)",
                    key: token
                )
                let lead = try #require(breakdown.rows.first)
                #expect(lead.category == "database" && lead.share >= 0.9, "\(breakdown.rows)")
                #expect(lead.callsPerTransaction == 1, "\(lead)")
                struct Callers: Decodable { var callers: [APISegmentCaller] }
                let callers = try await Self.get(
                    Callers.self,
                    "\(base)/apps/\(appID)/databases/callers?from=\(from)&to=\(to)",
                    key: token
                )
                #expect(callers.callers.filter { $0.name == lead.name }.map(\.transaction) == [name])
            case "GET /inventory/{sku}":
                #expect(externals.map(\.host) == ["127.0.0.1"] && externals.first?.calls == figures.count, "\(name)")
                // The downstream sleeps 30 ms per call.
                #expect(figures.breakdown.external >= 0.03 && figures.breakdown.database == 0, "\(name)")
            default:
                #expect(databases.isEmpty && externals.isEmpty, "\(name)")
                #expect(figures.breakdown.database == 0 && figures.breakdown.external == 0, "\(name)")
            }
        }

        // The error /fail makes three calls deep reads as those three functions, with file and line, the app's
        // own code first (symbolicated by the agent at harvest from Swift's Runtime backtrace). Samples harvested
        // before the app's symbol tables were parsed (seconds for this debug binary on a busy machine) carry their
        // return addresses instead, as documented: either way, never a stack that reads otherwise.
        struct Errors: Decodable { var errors: [APIErrorGroup] }
        let failures = try await Self.get(Errors.self, "\(base)/apps/\(appID)/errors?from=\(from)&to=\(to)", key: token)
            .errors.filter { $0.transaction == "GET /fail" }
        #expect(!failures.isEmpty)
        for failure in failures {
            guard let frames = failure.sample.frames else {
                #expect(failure.sample.stack.allSatisfy { $0.hasPrefix("0x") }, "\(failure.sample.stack)")
                continue
            }
            let appFrames = frames.filter(\.inApp).prefix(3)
            #expect(
                appFrames.map(\.function).map { $0.components(separatedBy: "(").first ?? "" } == [
                    "static Checkout.authorize", "static Checkout.chargeCard", "static Checkout.placeOrder",
                ],
                "\(frames)"
            )
            #expect(appFrames.allSatisfy { $0.file.hasSuffix("ExampleService.swift") && $0.line > 0 }, "\(appFrames)")
        }
        // The example service logs through the agent's handler: /fail's error line arrived with its transaction and
        // trace, and each /fail issue sample shows the lines of its own trace (logs in context).
        struct Logs: Decodable { var logs: [APILogRecord] }
        let failLines = try await Self.get(
            Logs.self,
            "\(base)/apps/\(appID)/logs?from=\(from)&to=\(to)&q=placing%20order%20failed&level=error&limit=1000",
            key: token
        ).logs
        #expect(!failLines.isEmpty)
        #expect(
            failLines.allSatisfy { $0.transaction == "GET /fail" && $0.traceID?.utf8.count == 32 },
            "\(failLines.prefix(3))"
        )
        if let issue = failures.first {
            let detail = try await Self.get(
                APIIssueDetail.self,
                "\(base)/apps/\(appID)/issues/\(issue.id)?from=\(from)&to=\(to)",
                key: token
            )
            for sample in detail.samples where !sample.sample.traceID.isEmpty {
                #expect(
                    sample.logs.contains { $0.level == .error && $0.traceID == sample.sample.traceID },
                    "\(sample.logs)"
                )
            }
        }
        struct Process: Decodable { var events: [StoredProcessEventLite] }
        struct StoredProcessEventLite: Decodable { var kind: String }
        let process = try await Self.get(Process.self, "\(base)/apps/\(appID)/process?since=1h", key: token)
        #expect(process.events.map(\.kind).contains("start"))
        if collectors.count > 1 {
            // Every collector answers from the same store.
            let other = try await Self.get(
                Transactions.self,
                "http://127.0.0.1:\(collectorPorts[1])/api/v1/apps/\(appID)/transactions?from=\(from)&to=\(to)&limit=100",
                key: token
            )
            // The web routes (final once the loads ended; the background job still runs until the apps stop).
            let web = Set(truth.routes.keys)
            #expect(
                Dictionary(uniqueKeysWithValues: other.transactions.map { ($0.name, $0.figures.count) })
                    .filter { web.contains($0.key) } == rows.mapValues(\.figures.count).filter { web.contains($0.key) }
            )
        }
        for collector in collectors { #expect(await collector.stop() == 0) }
    }
}

/// Where the end-to-end test's collectors keep their data.
enum EndToEndStorage: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    var testDescription: String { self == .sqlite ? "SQLite, one collector" : "PostgreSQL, two collectors" }

    /// PostgreSQL when `APM_TEST_POSTGRES_URL` names a server (`scripts/with-postgres`), or required by
    /// `APM_REQUIRE_POSTGRES=1`.
    static var available: [EndToEndStorage] {
        let environment = ProcessInfo.processInfo.environment
        return environment["APM_TEST_POSTGRES_URL"] != nil || environment["APM_REQUIRE_POSTGRES"] == "1"
            ? allCases : [.sqlite]
    }
}

/// A database of its own on the test server, created and dropped with `psql`.
struct PostgresTestDatabase: Sendable {
    let name = "apm_e2e_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
    let server: String
    let url: String

    init() throws {
        guard let server = ProcessInfo.processInfo.environment["APM_TEST_POSTGRES_URL"] else {
            Issue.record(
                "APM_REQUIRE_POSTGRES=1 but APM_TEST_POSTGRES_URL is not set: run the tests through scripts/with-postgres"
            )
            throw CancellationError()
        }
        self.server = server
        var components = try #require(URLComponents(string: server))
        components.path = "/\(name)"
        url = try #require(components.string)
        try Self.psql(server, "CREATE DATABASE \(name)")
    }

    func drop() {
        try? Self.psql(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    private static func psql(_ server: String, _ statement: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // psql takes a libpq URL; sslmode=disable is one of its parameters too.
        process.arguments = ["psql", server, "-qc", statement]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "psql \(statement)")
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
        /// The client's percentiles (seconds); for loads merged, the largest of theirs.
        var p50: Double?
        var p95: Double?
        var p99: Double?
    }
    var startedAt: Double
    var endedAt: Double
    var requests: Int
    var skipped: Int
    var routes: [String: Route]
    /// Every request as the client timed it, with the id it sent.
    var timed: [Timed] = []

    struct Timed: Decodable {
        var id: String
        var route: String
        var seconds: Double
        var status: Int
    }

    /// The truths of loads that ran together, as one.
    static func merged(_ truths: [TruthFile]) -> TruthFile {
        var routes: [String: Route] = [:]
        for truth in truths {
            for (name, route) in truth.routes {
                var sum = routes[name] ?? Route(count: 0, errors: 0, satisfied: 0, tolerating: 0, frustrated: 0)
                sum.count += route.count
                sum.errors += route.errors
                sum.satisfied += route.satisfied
                sum.tolerating += route.tolerating
                sum.frustrated += route.frustrated
                sum.p50 = [sum.p50, route.p50].compactMap { $0 }.max()
                sum.p95 = [sum.p95, route.p95].compactMap { $0 }.max()
                sum.p99 = [sum.p99, route.p99].compactMap { $0 }.max()
                routes[name] = sum
            }
        }
        return TruthFile(
            startedAt: truths.map(\.startedAt).min() ?? 0,
            endedAt: truths.map(\.endedAt).max() ?? 0,
            requests: truths.reduce(0) { $0 + $1.requests },
            skipped: truths.reduce(0) { $0 + $1.skipped },
            routes: routes,
            timed: truths.flatMap(\.timed)
        )
    }

    enum CodingKeys: String, CodingKey {
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case requests, skipped, routes
        case timed = "timed_requests"
    }
}
