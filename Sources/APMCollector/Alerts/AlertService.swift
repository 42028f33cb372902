import Logging
import ServiceLifecycle

/// Evaluates alert conditions and sends notifications, on the collector that holds the `alerts` lease: with
/// several collectors on one database, each condition is evaluated once per minute in total.
struct AlertService: Service {
    let collector: Collector

    func run() async throws {
        let interval = collector.configuration.alerts.interval
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if await collector.holdsLease("alerts", seconds: 4 * Double(interval.components.seconds) + 30) {
                await collector.runAlerts()
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

extension Collector {
    /// One round of alerting: evaluate what is complete, notify new and regressed issues, then send what is due.
    /// Errors are logged; the next round tries again.
    func runAlerts() async {
        let now = now()
        do {
            try await alertEvaluator.evaluate(now: Int64(now))
        } catch is CancellationError {
            return
        } catch {
            logger.error("alert evaluation failed: \(error)")
        }
        do {
            try await issueNotifications.notify(now: now)
        } catch is CancellationError {
            return
        } catch {
            logger.error("issue notifications failed: \(error)")
        }
        do {
            try await alertNotifier.deliverDue(now: now)
        } catch is CancellationError {
            return
        } catch {
            logger.error("alert notifications failed: \(error)")
        }
    }
}
