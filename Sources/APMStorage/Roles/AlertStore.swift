/// Alert channels, conditions, incidents, deliveries and the issue events they notify.
public protocol AlertStore: Sendable {
    /// Stores a notification channel.
    ///
    /// - Parameter channel: The channel (its id is ignored).
    /// - Returns: The channel with its id.
    func createAlertChannel(_ channel: AlertChannelRecord) async throws -> AlertChannelRecord

    /// An account's channels, oldest first.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: The channels.
    func alertChannels(accountID: Int64) async throws -> [AlertChannelRecord]

    /// Deletes a channel with its pending notifications; conditions stop naming it.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The channel.
    /// - Returns: Whether it existed.
    func deleteAlertChannel(accountID: Int64, id: Int64) async throws -> Bool

    /// Stores a condition.
    ///
    /// - Parameter condition: The condition (its id is ignored).
    /// - Returns: The condition with its id.
    func createAlertCondition(_ condition: AlertConditionRecord) async throws -> AlertConditionRecord

    /// Conditions, oldest first.
    ///
    /// - Parameter accountID: One account's, or every account's (`nil`, for the evaluator).
    /// - Returns: The conditions with their evaluation state.
    func alertConditions(accountID: Int64?) async throws -> [AlertConditionRecord]

    /// Deletes a condition; its open incident resolves at `now` (without a figure) and its history stays.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The condition.
    ///   - now: Unix seconds.
    /// - Returns: Whether it existed.
    func deleteAlertCondition(accountID: Int64, id: Int64, now: Int64) async throws -> Bool

    /// Applies one evaluation at once (state, incident, notifications to each of the condition's channels), if
    /// the condition is still where the evaluation started.
    ///
    /// - Parameter write: The evaluation's outcome.
    /// - Returns: Whether it was applied (`false`: another evaluation got there first, or the condition is gone).
    func applyAlertEvaluation(_ write: AlertEvaluationWrite) async throws -> Bool

    /// Incidents, newest first.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - openOnly: Only unresolved ones.
    ///   - limit: At most this many.
    /// - Returns: The incidents.
    func alertIncidents(accountID: Int64, openOnly: Bool, limit: Int) async throws -> [AlertIncidentRecord]

    /// One incident.
    ///
    /// - Parameter id: The incident.
    /// - Returns: It, or `nil`.
    func alertIncident(id: Int64) async throws -> AlertIncidentRecord?

    /// Marks an incident acknowledged (once: a second acknowledgement keeps the first).
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The incident.
    ///   - by: Who.
    ///   - at: Unix seconds.
    /// - Returns: Whether the incident exists.
    func acknowledgeAlertIncident(accountID: Int64, id: Int64, by: String, at: Double) async throws -> Bool

    /// Queues a notification (a test; evaluations queue theirs in ``applyAlertEvaluation(_:)``).
    ///
    /// - Parameter delivery: The notification (its id is ignored).
    /// - Returns: It with its id.
    func enqueueAlertDelivery(_ delivery: AlertDeliveryRecord) async throws -> AlertDeliveryRecord

    /// Notifications due now: neither delivered nor given up, next attempt at or before `now`.
    ///
    /// - Parameters:
    ///   - now: Unix seconds.
    ///   - limit: At most this many.
    /// - Returns: The notifications, oldest first.
    func dueAlertDeliveries(now: Double, limit: Int) async throws -> [AlertDeliveryRecord]

    /// Records an attempt: delivered, retried later, or given up.
    ///
    /// - Parameter delivery: The notification with its new attempts, times and error.
    func updateAlertDelivery(_ delivery: AlertDeliveryRecord) async throws

    /// The latest notifications, newest first.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - limit: At most this many.
    /// - Returns: The notifications.
    func alertDeliveries(accountID: Int64, limit: Int) async throws -> [AlertDeliveryRecord]

    /// Issue events (an issue's first occurrence, a regression) no notification step has handled yet, oldest first.
    ///
    /// - Parameter limit: At most this many.
    /// - Returns: The events.
    func pendingIssueEvents(limit: Int) async throws -> [IssueEventRecord]

    /// Handles one issue event at once: marks it handled and queues a notification to each channel of each
    /// matching condition, except where the same issue notified that channel for that condition less than
    /// `renotifyAfter` seconds ago. Applied only if the event is still pending, so it is notified once whichever
    /// collectors try.
    ///
    /// - Parameter notification: The event, its conditions and the rate limit.
    /// - Returns: The notifications queued; `nil` when the event was handled already.
    func applyIssueEventNotification(_ notification: IssueEventNotification) async throws -> Int?
}
