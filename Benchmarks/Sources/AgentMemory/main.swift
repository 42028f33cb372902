// Resident memory of a process recording many spans and many names through the agent.
// Run: swift run -c release AgentMemory
import APMAgent
import Foundation
import Tracing

import Synchronization

/// The largest request body sent (a gzipped batch), across runs of one scenario.
let largestBatch = Mutex(0)

struct DiscardingTransport: CollectorTransport {
    func send(_ request: CollectorRequest) async throws -> CollectorResponse {
        largestBatch.withLock { $0 = max($0, request.body.count) }
        return CollectorResponse(status: 202)
    }
}

/// Returns the collector's refusal, as when it is down.
struct DownTransport: CollectorTransport {
    func send(_ request: CollectorRequest) async throws -> CollectorResponse { throw URLError(.cannotConnectToHost) }
}

func residentMiB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    let kib = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    return kib / 1024
}

func makeAgent(_ transport: any CollectorTransport, nameTraces: Int = 50) -> APMAgent {
    var configuration = AgentConfiguration()
    configuration.transactionTracer.maxNameTraces = nameTraces
    configuration.licenseKey = "apm_0000000000000000000000000000000000000000"
    configuration.harvestInterval = .seconds(1)
    configuration.logLevel = .critical
    let agent = APMAgent(configuration: configuration, transport: transport)
    agent.start()
    return agent
}

func run(_ label: String, transport: any CollectorTransport, spans: Int, names: Int, nameTraces: Int = 50) async {
    largestBatch.withLock { $0 = 0 }
    let agent = makeAgent(transport, nameTraces: nameTraces)
    let tracer = agent.tracer
    let before = residentMiB()
    var samples: [Double] = []
    let started = ContinuousClock.now
    let requests = spans / 11
    for i in 0..<requests {
        let name = "/route-\(i % names)"
        let root = tracer.startSpan("GET", context: .topLevel, ofKind: .server)
        for _ in 0..<10 {
            let child = tracer.startSpan("SELECT", context: root.context, ofKind: .client)
            child.attributes["db.system.name"] = "postgresql"
            child.attributes["db.query.text"] = "SELECT * FROM users WHERE id = $1"
            child.end()
        }
        root.attributes["http.route"] = name
        root.end()
        if i % (requests / 10) == 0 {
            samples.append(residentMiB())
            await Task.yield()
        }
    }
    let elapsed = ContinuousClock.now - started
    await agent.shutdown()
    let after = residentMiB()
    let perSpan = Double(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000) / Double(requests * 11)
    print(
        String(
            format: "| %@ | %d | %d | %.1f | %.1f | %.1f | %.0f | %@ |",
            label, requests * 11, names, before, samples.max() ?? 0, after, perSpan,
            largestBatch.withLock { $0 } > 0 ? "\(largestBatch.withLock { $0 } / 1024) KiB" : "–"
        )
    )
}

let spans = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 10_000_000
print(
    "| scenario | spans | distinct names | RSS before (MiB) | RSS peak (MiB) | RSS after (MiB) | ns/span | largest batch |"
)
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
await run("collector up, 1 name", transport: DiscardingTransport(), spans: spans, names: 1)
await run("collector up, 1,000 names", transport: DiscardingTransport(), spans: spans, names: 1_000)
// The same without the per-name traces, in the same run: what they cost.
await run(
    "collector up, 1,000 names, max_name_traces = 0",
    transport: DiscardingTransport(),
    spans: spans,
    names: 1_000,
    nameTraces: 0
)
await run("collector down, 1,000 names", transport: DownTransport(), spans: spans, names: 1_000)
// Each name has its slowest trace kept per harvest (transaction_tracer.max_name_traces, 50 names).
await run("collector up, 2,000 names", transport: DiscardingTransport(), spans: spans, names: 2_000)
await run("collector down, 2,000 names", transport: DownTransport(), spans: spans, names: 2_000)
