import APMCore
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Drives the example service with a fixed mix of routes at a target rate, measures every request on the client
/// side, and writes the ground truth: per route (named as the agent names the transaction) and per minute, the
/// count, errors, Apdex S/T/F at T and percentiles.
struct LoadGenerator: Sendable {
    struct Configuration: Sendable {
        var baseURL: String
        var rate: Double = 20
        var duration: Double = 30
        var apdexT: Double = 0.5
        var maxInFlight = 64
        var seed: UInt64 = 1
        /// Seconds after the start during which every request goes to `/variable?ms=1500` (frustrated at the
        /// default T): the demo's bad deploy, which its Apdex alert catches. `nil`: the mix throughout.
        var slowdown: Range<Double>?
    }

    /// One route of the mix: the URL path, the transaction name the agent gives it, and its weight.
    struct Route: Sendable {
        var name: String
        var weight: Int
        var path: @Sendable (inout UInt64) -> String
    }

    static let mix: [Route] = [
        Route(name: "GET /fast", weight: 40) { _ in "/fast" },
        Route(name: "GET /variable", weight: 30) { state in
            "/variable?ms=\([100, 300, 700, 1500][Int(next(&state) % 4)])"
        },
        Route(name: "GET /users/{id}", weight: 10) { state in "/users/\(next(&state) % 1_000 + 1)" },
        Route(name: "GET /inventory/{sku}", weight: 8) { state in "/inventory/sku-\(next(&state) % 50)" },
        Route(name: "GET /fail", weight: 5) { _ in "/fail" },
        Route(name: "GET /slow", weight: 4) { _ in "/slow" },
        Route(name: "GET /report", weight: 3) { _ in "/report" },
    ]

    static func next(_ state: inout UInt64) -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }

    struct Sample: Sendable {
        var route: String
        var startedAt: Double
        var seconds: Double
        var status: Int
        /// The request's id, sent as `X-Request-ID` (`lg-<index>`), so that a server's log can be matched to it.
        var id: String = ""
    }

    /// One request as the client timed it, for matching against a server's own log by id.
    struct RequestTruth: Codable, Sendable {
        var id: String
        var route: String
        var seconds: Double
        var status: Int
    }

    struct RouteTruth: Codable, Sendable {
        var count = 0
        var errors = 0
        var satisfied = 0
        var tolerating = 0
        var frustrated = 0
        var p50: Double?
        var p95: Double?
        var p99: Double?
        var minutes: [String: MinuteTruth] = [:]
    }

    struct MinuteTruth: Codable, Sendable {
        var count = 0
        var errors = 0
        var satisfied = 0
        var tolerating = 0
        var frustrated = 0
    }

    struct Truth: Codable, Sendable {
        var apdexT: Double
        var startedAt: Double
        var endedAt: Double
        var requests: Int
        var skipped: Int
        var routes: [String: RouteTruth]
        /// Every request, in the order they ended.
        var timed: [RequestTruth] = []

        enum CodingKeys: String, CodingKey {
            case apdexT = "apdex_t"
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case requests, skipped, routes
            case timed = "timed_requests"
        }
    }

    let configuration: Configuration

    /// Runs the load; `stop` ends it early.
    func run(stop: @escaping @Sendable () -> Bool = { false }) async -> Truth {
        let session: URLSession = {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.timeoutIntervalForRequest = 30
            configuration.httpMaximumConnectionsPerHost = 64
            return URLSession(configuration: configuration)
        }()
        let state = LoadState()
        var skipped = 0
        var random = configuration.seed
        let totalWeight = Self.mix.reduce(0) { $0 + $1.weight }
        let interval = 1 / configuration.rate
        let startedAt = Date().timeIntervalSince1970
        let start = ContinuousClock.now
        let count = Int(configuration.duration * configuration.rate)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                if stop() { break }
                try? await Task.sleep(until: start + .milliseconds(Int64(Double(index) * interval * 1000)))
                var pick = Int(Self.next(&random) % UInt64(totalWeight))
                var route = Self.mix[0]
                for candidate in Self.mix {
                    if pick < candidate.weight {
                        route = candidate
                        break
                    }
                    pick -= candidate.weight
                }
                var path = route.path(&random)
                if let slowdown = configuration.slowdown, slowdown.contains(Double(index) * interval) {
                    route = Self.mix[1]
                    path = "/variable?ms=1500"
                }
                guard state.inFlight.wrappingAdd(1, ordering: .relaxed).newValue <= configuration.maxInFlight else {
                    state.inFlight.wrappingSubtract(1, ordering: .relaxed)
                    skipped += 1
                    continue
                }
                var request = URLRequest(url: URL(string: configuration.baseURL + path)!)
                let id = "lg-\(index)"
                request.setValue(id, forHTTPHeaderField: "X-Request-ID")
                let name = route.name
                group.addTask { [request] in
                    let sentAt = Date().timeIntervalSince1970
                    let started = ContinuousClock.now
                    var status = 0
                    if let (_, response) = try? await session.data(for: request) {
                        status = (response as? HTTPURLResponse)?.statusCode ?? 0
                    }
                    let elapsed = ContinuousClock.now - started
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    state.inFlight.wrappingSubtract(1, ordering: .relaxed)
                    state.samples.withLock {
                        $0.append(Sample(route: name, startedAt: sentAt, seconds: seconds, status: status, id: id))
                    }
                }
            }
            await group.waitForAll()
        }
        let all = state.samples.withLock { $0 }
        return Self.truth(all, apdexT: configuration.apdexT, startedAt: startedAt, skipped: skipped)
    }

    /// Summarises samples: a request fails with a 5xx or no answer (404 is not a failure, as in the agent).
    static func truth(_ samples: [Sample], apdexT: Double, startedAt: Double, skipped: Int) -> Truth {
        let threshold = ApdexThreshold(seconds: apdexT) ?? .default
        var routes: [String: RouteTruth] = [:]
        var durations: [String: [Double]] = [:]
        for sample in samples {
            let failed = sample.status >= 500 || sample.status == 0
            let zone = threshold.zone(seconds: sample.seconds, isError: failed)
            let end = sample.startedAt + sample.seconds
            let minute = String(Int64(end) - Int64(end) % 60)
            var route = routes[sample.route] ?? RouteTruth()
            route.count += 1
            route.minutes[minute, default: MinuteTruth()].count += 1
            if failed {
                route.errors += 1
                route.minutes[minute]!.errors += 1
            }
            switch zone {
            case .satisfied:
                route.satisfied += 1
                route.minutes[minute]!.satisfied += 1
            case .tolerating:
                route.tolerating += 1
                route.minutes[minute]!.tolerating += 1
            case .frustrated:
                route.frustrated += 1
                route.minutes[minute]!.frustrated += 1
            }
            routes[sample.route] = route
            durations[sample.route, default: []].append(sample.seconds)
        }
        for (name, values) in durations {
            let sorted = values.sorted()
            func quantile(_ q: Double) -> Double { sorted[max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)] }
            routes[name]?.p50 = quantile(0.5)
            routes[name]?.p95 = quantile(0.95)
            routes[name]?.p99 = quantile(0.99)
        }
        return Truth(
            apdexT: apdexT,
            startedAt: startedAt,
            endedAt: Date().timeIntervalSince1970,
            requests: samples.count,
            skipped: skipped,
            routes: routes,
            timed: samples.map { RequestTruth(id: $0.id, route: $0.route, seconds: $0.seconds, status: $0.status) }
        )
    }
}

/// What the load's tasks share.
final class LoadState: Sendable {
    let samples = Mutex<[LoadGenerator.Sample]>([])
    let inFlight = Atomic<Int>(0)
}
