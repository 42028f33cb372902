import APMAgent
import APMCore
import APMTesting
import Foundation
import Logging
import Synchronization
import Testing

enum TestSupport {
    static let licenseKey = "apm_0123456789abcdef0123456789abcdef01234567"

    static func configuration(_ adjust: (inout AgentConfiguration) -> Void = { _ in }) -> AgentConfiguration {
        var configuration = AgentConfiguration()
        configuration.licenseKey = licenseKey
        configuration.appName = "test-app"
        configuration.harvestInterval = .seconds(60)
        configuration.retryInitialBackoff = .milliseconds(20)
        configuration.retryMaxBackoff = .milliseconds(100)
        configuration.requestTimeout = .seconds(2)
        configuration.logLevel = .critical
        adjust(&configuration)
        return configuration
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "apm.test")
        logger.logLevel = .critical
        return logger
    }

    /// Polls a condition until it holds or the time limit passes.
    static func waitUntil(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return condition()
    }

    /// Lets the delivery loop go to sleep on the manual clock, then moves the clock: each step starts from a
    /// known reading, and nobody waits for real time to pass.
    static func step(_ clock: ManualAgentClock, milliseconds: UInt64) async {
        #expect(await TestSupport.waitUntil { clock.waitingSleepers > 0 }, "the delivery loop never went to sleep")
        clock.advance(nanoseconds: milliseconds * 1_000_000)
    }

    /// Sums the accepted transaction metrics per name.
    static func totals(_ metrics: [TransactionMetric]) -> [String: (count: UInt64, errors: UInt64, apdex: ApdexCounts)]
    {
        var result: [String: (count: UInt64, errors: UInt64, apdex: ApdexCounts)] = [:]
        for metric in metrics {
            var entry = result[metric.name] ?? (0, 0, ApdexCounts())
            entry.count += metric.count
            entry.errors += metric.errorCount
            entry.apdex.add(metric.apdex)
            result[metric.name] = entry
        }
        return result
    }
}

/// Keeps what is logged at warning level and above, to check that a condition is logged once.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var messages: [String] { lines.withLock { $0 } }

    var logger: Logger {
        Logger(label: "apm.agent.test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.lines.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }
}
