import Logging
import ServiceLifecycle

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
