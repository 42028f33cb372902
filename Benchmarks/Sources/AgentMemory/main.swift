// Resident memory of a process recording many spans and many names through the agent.
// Run: swift run -c release AgentMemory
import APMAgent
import Foundation
import Tracing

struct DiscardingTransport: CollectorTransport {
    func send(_ request: CollectorRequest) async throws -> CollectorResponse { CollectorResponse(status: 202) }
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

func makeAgent(_ transport: any CollectorTransport) -> APMAgent {
    var configuration = AgentConfiguration()
    configuration.licenseKey = "apm_0000000000000000000000000000000000000000"
    configuration.harvestInterval = .seconds(1)
    configuration.logLevel = .critical
    let agent = APMAgent(configuration: configuration, transport: transport)
    agent.start()
    return agent
}

func run(_ label: String, transport: any CollectorTransport, spans: Int, names: Int) async {
    let agent = makeAgent(transport)
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
            format: "| %@ | %d | %d | %.1f | %.1f | %.1f | %.0f |",
            label, requests * 11, names, before, samples.max() ?? 0, after, perSpan
        )
    )
}

let spans = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 10_000_000
print("| scenario | spans | distinct names | RSS before (MiB) | RSS peak (MiB) | RSS after (MiB) | ns/span |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
await run("collector up, 1 name", transport: DiscardingTransport(), spans: spans, names: 1)
await run("collector up, 1,000 names", transport: DiscardingTransport(), spans: spans, names: 1_000)
await run("collector down, 1,000 names", transport: DownTransport(), spans: spans, names: 1_000)
