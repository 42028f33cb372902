import APMAgent
import APMCore
import Foundation
import Synchronization
import Testing

@testable import APMCommands

/// A collector that records every process report and answers from a script.
final class ScriptedProcessCollector: CollectorTransport {
    enum Reply: Sendable {
        case accept
        /// The request reached the collector, but the reply did not reach the client in time.
        case timeOutAfterReceiving
        case hang
    }

    private let state = Mutex<(script: [Reply], received: [ProcessReport])>(([], []))

    init(_ script: [Reply]) {
        state.withLock { $0.script = script }
    }

    var received: [ProcessReport] { state.withLock { $0.received } }

    func send(_ request: CollectorRequest) async throws -> CollectorResponse {
        let report = try WireCoding.makeDecoder().decode(
            ProcessReport.self,
            from: try Gzip.decompress(request.body, maxOutputSize: 1 << 24)
        )
        let reply: Reply = state.withLock { state in
            state.received.append(report)
            return state.script.isEmpty ? .accept : state.script.removeFirst()
        }
        switch reply {
        case .accept: return CollectorResponse(status: 202)
        case .timeOutAfterReceiving: throw URLError(.timedOut)
        case .hang:
            try await Task.sleep(for: request.timeout)
            throw URLError(.timedOut)
        }
    }
}

@Suite struct ProcessReporterTests {
    static func configuration() throws -> AgentConfiguration {
        try AgentConfiguration.check(environment: [
            "APM_LICENSE_KEY": "apm_0123456789abcdef0123", "APM_APP_NAME": "shop",
            "APM_COLLECTOR_URL": "http://127.0.0.1:9",
        ]).configuration
    }

    static func sample(_ second: Double) -> ProcessSample {
        ProcessSample(
            timestamp: Date().timeIntervalSince1970 + second,
            cpuPercent: 1,
            residentBytes: 1,
            threads: 1,
            openFiles: 1
        )
    }

    /// A report whose reply was lost is sent again with the same id and the same samples (so the collector counts
    /// it once); samples taken meanwhile go in the next report, not into the retry.
    @Test func aRetriedReportKeepsItsIdAndContent() async throws {
        let collector = ScriptedProcessCollector([.timeOutAfterReceiving, .accept])
        let reporter = ProcessReporter(
            configuration: try Self.configuration(),
            pid: 42,
            command: "./shop",
            transport: collector
        )
        await reporter.started()
        await reporter.record(Self.sample(0))
        await reporter.record(Self.sample(1))
        await reporter.finished(ChildStatus(exitStatus: 0, signal: nil, stopRequested: nil), within: .seconds(5))
        let reports = collector.received
        #expect(reports.count >= 2)
        let ids = reports.map(\.reportID)
        #expect(ids.allSatisfy { $0 != nil })
        // The first report was sent twice, unchanged.
        #expect(reports[0].reportID == reports[1].reportID)
        #expect(reports[0].samples == reports[1].samples)
        #expect(reports[0].events == reports[1].events)
        // Every sample and event reached the collector once, counting each report id once.
        var unique: [String: ProcessReport] = [:]
        for report in reports { unique[report.reportID!] = report }
        #expect(unique.values.reduce(0) { $0 + $1.samples.count } == 2)
        #expect(unique.values.flatMap(\.events).map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.exit, .start])
    }

    /// With the collector blackholed, the final report gives up at its deadline (before: 5 s of a periodic
    /// attempt and then 10 s more, past a container runtime's grace period).
    @Test func theFinalReportRespectsItsDeadline() async throws {
        let collector = ScriptedProcessCollector(Array(repeating: .hang, count: 10))
        let reporter = ProcessReporter(
            configuration: try Self.configuration(),
            pid: 42,
            command: "./shop",
            transport: collector
        )
        await reporter.started()
        let started = ContinuousClock.now
        await reporter.finished(
            ChildStatus(exitStatus: nil, signal: SIGTERM, stopRequested: SIGTERM),
            within: .milliseconds(500)
        )
        // Before, the final report waited for the periodic attempt in flight (5 s) and then took up to 10 s of its
        // own; the bound tells the two apart with room for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(12))
    }

    @Test func stopsAskedForAreStopsAndTheRestCrashes() {
        let stopped = ProcessReporter.event(for: ChildStatus(exitStatus: nil, signal: SIGTERM, stopRequested: SIGTERM))
        #expect(stopped.kind == .stop)
        #expect(stopped.detail.contains("SIGTERM"))
        #expect(
            ProcessReporter.event(for: ChildStatus(exitStatus: 1, signal: nil, stopRequested: SIGINT)).kind == .stop
        )
        #expect(
            ProcessReporter.event(for: ChildStatus(exitStatus: nil, signal: SIGSEGV, stopRequested: nil)).kind == .crash
        )
        #expect(
            ProcessReporter.event(for: ChildStatus(exitStatus: nil, signal: SIGTERM, stopRequested: nil)).kind == .crash
        )
        #expect(ProcessReporter.event(for: ChildStatus(exitStatus: 3, signal: nil, stopRequested: nil)).kind == .crash)
        #expect(ProcessReporter.event(for: ChildStatus(exitStatus: 0, signal: nil, stopRequested: nil)).kind == .exit)
    }
}
