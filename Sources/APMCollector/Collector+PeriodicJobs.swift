import APMStorage
import Logging
import ServiceLifecycle
import Synchronization

extension Collector {
    /// Retention; alerts; and settling pending OTLP spans every second, one collector at a time (another takes
    /// over within 10 s when it stops: two would read the same traces and all but one would find their spans
    /// gone), saying once a minute how many were given up on.
    var periodicJobs: [LeasedJob] {
        let (retention, alerts) = (configuration.retention.interval, configuration.alerts.interval)
        let unmatched = UnmatchedSpanReport()
        return [
            LeasedJob(
                name: "retention",
                activity: "retention",
                interval: retention,
                leaseSeconds: 2 * Double(retention.components.seconds) + 60,
                collector: self,
                work: runRetention
            ),
            LeasedJob(
                name: "alerts",
                activity: "alerting",
                interval: alerts,
                leaseSeconds: 4 * Double(alerts.components.seconds) + 30,
                collector: self,
                work: runAlerts
            ),
            LeasedJob(
                name: "otlp-settler",
                activity: "settling OTLP spans",
                interval: .seconds(1),
                leaseSeconds: 10,
                collector: self
            ) {
                [self] in
                if let count = unmatched.add(try await settlePendingSpans().unmatchedSpans) {
                    logger.warning(
                        "\(count) OTLP spans were not counted: their server, consumer or root span did not arrive within otlp_trace_wait (\(configuration.otlp.traceWait)); see apm_otlp_spans_unmatched_total"
                    )
                }
            },
        ]
    }

    /// Whether this collector runs a periodic job now: it takes or renews the job's lease in the store, so that
    /// with several collectors on one database each job runs on one of them, and moves to another when that one
    /// stops. A store error counts as not holding it.
    ///
    /// - Parameters:
    ///   - job: The job's name.
    ///   - seconds: How long the lease lasts unless renewed (longer than the job's interval).
    /// - Returns: Whether to run the job now.
    func holdsLease(_ job: String, seconds: Double) async -> Bool {
        let held: Bool
        do {
            held = try await store.holdLease(job, holder: instanceID, seconds: seconds, now: now())
        } catch {
            logger.warning("cannot take the \(job) lease: \(error)")
            held = false
        }
        let changed = heldLeases.withLock { leases in
            held ? leases.insert(job).inserted : leases.remove(job) != nil
        }
        if changed {
            logger.info(held ? "this collector now runs \(job)" : "another collector runs \(job) now")
        }
        return held
    }
}

extension Collector {
    /// Deletes what is older than the retention settings, and says what it deleted.
    func runRetention() async throws {
        let report = try await applyRetention()
        if report.minuteRowsDeleted + report.hourRowsDeleted + report.otherRowsDeleted + report.logRecordsDeleted > 0 {
            logger.info(
                "retention: deleted \(report.minuteRowsDeleted) minute rows, \(report.hourRowsDeleted) hour rows, \(report.otherRowsDeleted) other rows, \(report.logRecordsDeleted) log lines"
            )
        }
    }
}

/// A periodic job of the collector: every `interval`, on the collector that holds the job's lease (with several
/// collectors on one database, the job runs on one of them and moves to another when that one stops), until
/// graceful shutdown. It waits on the collector's job clock. Retention, alerts and settling OTLP spans are each
/// one of these.
struct LeasedJob: Service {
    /// The lease's name, e.g. `retention`.
    let name: String
    /// What the job does, for the message when it fails.
    let activity: String
    let interval: Duration
    /// How long the lease lasts unless renewed: longer than the interval, so that the holder keeps it.
    let leaseSeconds: Double
    let collector: Collector
    let work: @Sendable () async throws -> Void

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if await collector.holdsLease(name, seconds: leaseSeconds) {
                do {
                    try await work()
                } catch is CancellationError {
                    return
                } catch {
                    collector.logger.error("\(activity) failed: \(error)")
                }
            }
            try? await cancelWhenGracefulShutdown { [clock = collector.jobClock, interval] in
                try await clock.sleep(for: interval)
            }
        }
    }
}
