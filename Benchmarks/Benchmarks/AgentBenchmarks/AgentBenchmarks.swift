@_spi(Benchmarks) import APMAgent
import APMTesting
import Benchmark
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// A collector that accepts everything and keeps nothing, so delivery never backs up during a benchmark.
struct DiscardingTransport: CollectorTransport {
    func send(_ request: CollectorRequest) async throws -> CollectorResponse {
        CollectorResponse(status: 202)
    }
}

func makeAgent() -> APMAgent {
    var configuration = AgentConfiguration()
    configuration.licenseKey = "apm_0000000000000000000000000000000000000000"
    configuration.appName = "bench"
    configuration.harvestInterval = .seconds(1)
    configuration.logLevel = .critical
    let agent = APMAgent(configuration: configuration, transport: DiscardingTransport())
    agent.start()
    return agent
}

/// One request through a tracer: a `.server` root span and `children` `.client` child spans, each with the
/// two attributes a database driver sets. The same work for every tracer.
@inline(__always)
func tracedRequest<T: Tracer>(_ tracer: T, children: Int) {
    let root = tracer.startSpan("GET /users/{id}", context: .topLevel, ofKind: .server)
    for _ in 0..<children {
        let child = tracer.startSpan("SELECT users", context: root.context, ofKind: .client)
        child.attributes["db.system.name"] = "postgresql"
        child.attributes["db.query.text"] = "SELECT * FROM users WHERE id = $1"
        child.end()
    }
    root.attributes["http.route"] = "/users/{id}"
    root.end()
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 1_000,
        scalingFactor: .kilo,
        maxDuration: .seconds(4),
        maxIterations: 1_000_000
    )

    let agent = makeAgent()
    let apmTracer = agent.tracer

    var otelConfiguration = OTel.Configuration.default
    otelConfiguration.serviceName = "bench"
    otelConfiguration.metrics.enabled = false
    otelConfiguration.logs.enabled = false
    otelConfiguration.traces.exporter = .none
    var quiet = Logger(label: "otel")
    quiet.logLevel = .critical
    otelConfiguration.diagnosticLogger = .custom(quiet)
    let otel = try! OTel.makeTracingBackend(configuration: otelConfiguration)
    let otelService = otel.service
    let otelServiceTask = Task { try await otelService.run() }
    _ = otelServiceTask

    for children in [0, 10] {
        Benchmark("tracing API: request + \(children) spans / NoOpTracer") { benchmark in
            for _ in benchmark.scaledIterations { tracedRequest(NoOpTracer(), children: children) }
        }
        Benchmark("tracing API: request + \(children) spans / swift-otel (discarding exporter)") { benchmark in
            for _ in benchmark.scaledIterations { tracedRequest(otel.factory, children: children) }
        }
        Benchmark("tracing API: request + \(children) spans / APMAgent") { benchmark in
            for _ in benchmark.scaledIterations { tracedRequest(apmTracer, children: children) }
        }
        Benchmark("agent API: transaction + \(children) segments") { benchmark in
            for _ in benchmark.scaledIterations {
                let transaction = agent.startWebTransaction(method: "GET", route: "/users/{id}")
                for _ in 0..<children {
                    let segment = transaction.startDatastoreSegment(
                        system: "postgresql",
                        operation: "SELECT",
                        table: "users",
                        statement: "SELECT * FROM users WHERE id = $1"
                    )
                    segment.end()
                }
                transaction.setStatus(200)
                transaction.end()
            }
        }
    }

    var quietLogger = Logger(label: "apm")
    quietLogger.logLevel = .critical
    let disabled = APMAgent(configuration: AgentConfiguration(), logger: quietLogger)
    Benchmark("agent API: disabled agent, transaction + 10 segments") { benchmark in
        for _ in benchmark.scaledIterations {
            let transaction = disabled.startWebTransaction(method: "GET", route: "/users/{id}")
            for _ in 0..<10 {
                transaction.startDatastoreSegment(system: "postgresql", operation: "SELECT", table: "users").end()
            }
            transaction.end()
        }
    }

    // Errors: the stack captured where the error is made (on the app's path), and its symbolication (at harvest,
    // on the delivery task): for addresses never seen, and for addresses in the cache.
    Benchmark("error stack: capture (addresses only)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(ErrorStack())
        }
    }
    let stack = ErrorStack()
    Benchmark(
        "error stack: symbolication, addresses never seen",
        configuration: .init(scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 200)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(stack.framesUncached())
        }
    }
    _ = stack.frames()
    Benchmark("error stack: symbolication, addresses cached", configuration: .init(scalingFactor: .one)) {
        benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(stack.frames())
        }
    }
}
