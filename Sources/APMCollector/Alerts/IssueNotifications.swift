public import APMStorage
public import Logging

/// Turns issue events into notifications: each event the ingest wrote (an issue's first occurrence, a
/// regression) is matched once against the `new_error` and `regressed_error` conditions of its app (and
/// transaction, when a condition names one), and a notification is queued to each of their channels, at most one
/// per issue, condition and channel within ``AlertSettings/issueRenotify``. Runs on the collector holding the
/// `alerts` lease; the store applies each event only if it is still pending, so none is notified twice.
public struct IssueNotifications: Sendable {
    let store: any AlertStore
    let renotifyAfter: Double
    let logger: Logger
    /// Events handled per round at most; the rest wait for the next round.
    static let maxPerRound = 2_000

    /// Creates the step.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - renotifyAfter: Seconds in which an issue notifies a channel of a condition at most once.
    ///   - logger: The logger.
    public init(store: any AlertStore, renotifyAfter: Double, logger: Logger) {
        self.store = store
        self.renotifyAfter = renotifyAfter
        self.logger = logger
    }

    /// Handles the pending events.
    ///
    /// - Parameter now: Unix seconds.
    /// - Returns: The notifications queued.
    /// - Throws: Store errors.
    @discardableResult
    public func notify(now: Double) async throws -> Int {
        var queued = 0
        var handled = 0
        var conditions: [AlertConditionRecord]?
        while handled < Self.maxPerRound {
            let events = try await store.pendingIssueEvents(limit: 500)
            guard !events.isEmpty else { break }
            // Read once per round, and only when there is something to match.
            if conditions == nil {
                conditions = try await store.alertConditions(accountID: nil).filter { $0.metric.issueEvent != nil }
            }
            let watching = conditions ?? []
            for event in events {
                let matching = watching.filter {
                    $0.appID == event.appID && $0.metric.issueEvent == event.kind
                        && ($0.transaction == nil || $0.transaction == event.transaction)
                }
                let notification = IssueEventNotification(
                    eventID: event.id,
                    conditions: matching,
                    groupID: event.groupID,
                    event: event.kind.alertEvent,
                    renotifyAfter: renotifyAfter,
                    now: now
                )
                if let count = try await store.applyIssueEventNotification(notification), count > 0 {
                    queued += count
                    logger.info(
                        "issue \(event.groupID) of app \(event.appID): \(event.kind.alertEvent.rawValue), \(count) notifications queued"
                    )
                }
            }
            handled += events.count
            if events.count < 500 { break }
        }
        return queued
    }
}
