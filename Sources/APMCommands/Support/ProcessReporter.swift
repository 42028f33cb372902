import APMAgent
import APMCore
import Foundation

/// Sends process samples and events to the collector; never fails the run and never holds up sampling.
///
/// Like the agent's deliverer: a report, once sealed, keeps its id and content until the collector acknowledges
/// it, so a report whose reply was lost (a slow collector, a timeout) is sent again as the same report and
/// counted once; what is sampled meanwhile waits in the pending data (bounded) for the next report.
actor ProcessReporter {
    private let configuration: AgentConfiguration
    private let pid: pid_t
    private let command: String
    private let transport: any CollectorTransport
    private var pendingSamples: [ProcessSample] = []
    private var pendingEvents: [ProcessEvent] = []
    private var pendingMetrics: [MetricPoint] = []
    private var inFlight: ProcessReport?
    private var delivering = false
    private var lastSent = Date()

    /// Samples kept while the collector cannot be reached (the oldest go first).
    static let maxPendingSamples = 1_000
    /// Host readings kept while the collector cannot be reached (the oldest go first): about 300 samples' worth.
    static let maxPendingMetrics = 20_000
    /// How long one periodic attempt may take.
    static let attemptTimeout: Duration = .seconds(5)

    init(
        configuration: AgentConfiguration,
        pid: pid_t,
        command: String,
        transport: any CollectorTransport = DefaultCollectorTransport()
    ) {
        self.configuration = configuration
        self.pid = pid
        self.command = command
        self.transport = transport
    }

    func started() {
        pendingEvents.append(ProcessEvent(timestamp: Date().timeIntervalSince1970, kind: .start, detail: command))
        deliverInBackground()
    }

    /// Adds a sample and the host's readings taken with it; sends when a report is due (every 10 s, 100 samples,
    /// or at once for the first), without waiting for the collector.
    func record(_ sample: ProcessSample, host: [MetricPoint] = []) {
        pendingSamples.append(sample)
        if pendingSamples.count > Self.maxPendingSamples {
            pendingSamples.removeFirst(pendingSamples.count - Self.maxPendingSamples)
        }
        pendingMetrics += host
        if pendingMetrics.count > Self.maxPendingMetrics {
            pendingMetrics.removeFirst(pendingMetrics.count - Self.maxPendingMetrics)
        }
        if Date().timeIntervalSince(lastSent) >= 10 || pendingSamples.count >= 100 || pendingSamples.count == 1 {
            deliverInBackground()
        }
    }

    /// The last report: how the program ended, with what is still pending, within `deadline` in all (the same
    /// deadline as the agent's final flush: a container runtime kills what takes longer than its grace period).
    func finished(_ status: ChildStatus, within deadline: Duration = .seconds(3)) async {
        pendingEvents.append(Self.event(for: status))
        let end = ContinuousClock.now + deadline
        // The report in flight (if any) first, then one with the final event: two attempts at most.
        for _ in 0..<2 {
            let remaining = end - ContinuousClock.now
            guard remaining > .milliseconds(50) else { return }
            guard let report = sealIfIdle() else { return }
            guard await attempt(report, timeout: remaining) else { return }
        }
    }

    /// The event that says how the program ended: a stop run-program forwarded is a stop, whatever the status;
    /// a signal the program did not ask for, or a non-zero exit, is a crash.
    static func event(for status: ChildStatus) -> ProcessEvent {
        let now = Date().timeIntervalSince1970
        let outcome =
            status.signal.map { "killed by signal \($0) (\(signalName($0)))" }
            ?? "exited with status \(status.exitStatus ?? 0)"
        if let stop = status.stopRequested {
            return ProcessEvent(
                timestamp: now,
                kind: .stop,
                exitCode: status.exitStatus.map(Int.init),
                signal: status.signal.map(Int.init),
                detail: "stopped by \(signalName(stop)), \(outcome)"
            )
        }
        if let signal = status.signal {
            return ProcessEvent(timestamp: now, kind: .crash, signal: Int(signal), detail: outcome)
        }
        let code = Int(status.exitStatus ?? 0)
        return ProcessEvent(timestamp: now, kind: code == 0 ? .exit : .crash, exitCode: code, detail: outcome)
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
            SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV",
            SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
        ]
        return names[signal] ?? "signal \(signal)"
    }

    private func deliverInBackground() {
        guard !delivering else { return }
        delivering = true
        Task { await self.deliverDue() }
    }

    private func deliverDue() async {
        defer { delivering = false }
        while let report = sealIfIdle() {
            guard await attempt(report, timeout: Self.attemptTimeout) else { return }
        }
    }

    /// The report to send: the one in flight, else a new one sealed from what is pending (`nil` when nothing is).
    private func sealIfIdle() -> ProcessReport? {
        if let inFlight { return inFlight }
        guard !pendingSamples.isEmpty || !pendingEvents.isEmpty else { return nil }
        let report = ProcessReport(
            appName: configuration.appName,
            host: ProcessInfo.processInfo.hostName,
            pid: Int(pid),
            command: String(command.prefix(4096)),
            samples: pendingSamples,
            events: pendingEvents,
            reportID: UUID().uuidString.lowercased(),
            metrics: pendingMetrics
        )
        pendingSamples = []
        pendingEvents = []
        pendingMetrics = []
        inFlight = report
        return report
    }

    /// Sends a report; `true` when the collector acknowledged it (or refused it for good: it is dropped).
    private func attempt(_ report: ProcessReport, timeout: Duration) async -> Bool {
        guard let body = try? Gzip.compress(WireCoding.makeEncoder().encode(report)),
            let url = URL(string: configuration.collectorURL + "/v1/agent/process")
        else {
            inFlight = nil
            return true
        }
        let request = CollectorRequest(
            url: url,
            headers: [
                "Content-Type": "application/json", "Content-Encoding": "gzip",
                "X-APM-License-Key": configuration.licenseKey,
            ],
            body: body,
            timeout: timeout
        )
        guard let response = try? await transport.send(request) else { return false }
        switch response.status {
        case 200..<300, 400, 413, 415, 422:
            // Acknowledged, or a report the collector will never take: either way it is done.
            if inFlight?.reportID == report.reportID { inFlight = nil }
            lastSent = Date()
            return true
        default:
            return false
        }
    }
}
