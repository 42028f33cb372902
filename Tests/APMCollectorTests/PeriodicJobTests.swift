import APMSQLite
import APMStorage
import APMTestSupport
import Logging
import Testing

@testable import APMCollector

/// The collector's periodic jobs (retention, alerts, settling OTLP spans) wait on the collector's job clock: on a
/// manual clock a job runs once at the start, then once each time the clock passes its interval, and not before.
@Suite struct PeriodicJobTests {
    @Test func aLeasedJobRunsOncePerIntervalOfTheJobClock() async throws {
        let clock = ManualClock()
        var logger = Logger(label: "periodic-job-test")
        logger.logLevel = .critical
        let collector = Collector(
            configuration: CollectorConfiguration(),
            logger: logger,
            store: try SQLiteStore(),
            jobClock: clock
        )
        let runs = Locked(0)
        let job = LeasedJob(
            name: "test-job",
            activity: "testing",
            interval: .seconds(60),
            leaseSeconds: 180,
            collector: collector
        ) {
            runs.withLock { $0 += 1 }
        }
        let running = Task { try await job.run() }
        defer { running.cancel() }

        /// Waits (at most 10 s of real time) until the job has run `count` times and sleeps on the clock again.
        func ranAndSleeps(_ count: Int) async throws -> Bool {
            for _ in 0..<1000 {
                if runs.withLock({ $0 }) == count && clock.sleeping == 1 { return true }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }
        #expect(try await ranAndSleeps(1), "the job runs at the start")
        clock.advance(by: .seconds(59))
        try await Task.sleep(for: .milliseconds(100))
        #expect(runs.withLock { $0 } == 1, "not before its interval")
        clock.advance(by: .seconds(1))
        #expect(try await ranAndSleeps(2), "again at its interval")
        clock.advance(by: .seconds(60))
        #expect(try await ranAndSleeps(3))
        running.cancel()
        _ = await running.result
        #expect(clock.sleeping == 0, "cancelled, the job stops sleeping on the clock")
    }
}
