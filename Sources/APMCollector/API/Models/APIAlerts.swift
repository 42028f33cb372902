public import APMStorage
import Foundation

/// An alert condition as the API shows it.
public struct APIAlertCondition: Codable, Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// The app watched.
    public var appID: Int64
    /// One transaction, or `nil` for the app.
    public var transaction: String?
    /// A label.
    public var name: String
    /// The figure watched (`apdex`, `error_rate`, ...).
    public var metric: String
    /// Minutes per evaluation.
    public var windowMinutes: Int
    /// The warning threshold.
    public var warning: Double?
    /// The critical threshold.
    public var critical: Double?
    /// Evaluations in a row a breach must last.
    public var forEvaluations: Int
    /// Under this many requests in the window the condition stays quiet.
    public var minRequests: Int
    /// The channels notified.
    public var channels: [Int64]
    /// Creation time (Unix seconds).
    public var createdAt: Double
    /// The end of the last window evaluated (Unix seconds), `nil` before the first evaluation.
    public var evaluatedThrough: Int64?
    /// The stored metric a `metric_above`/`metric_below` condition watches, `nil` for the others.
    public var metricName: String?
    /// Which of its series (`key=value`), `nil` for all of them.
    public var metricFilter: String?

    /// The API's view of a stored condition.
    ///
    /// - Parameter record: The stored condition.
    public init(_ record: AlertConditionRecord) {
        id = record.id
        appID = record.appID
        transaction = record.transaction
        name = record.name
        metric = record.metric.rawValue
        windowMinutes = record.windowMinutes
        warning = record.warning
        critical = record.critical
        forEvaluations = record.forEvaluations
        minRequests = record.minRequests
        channels = record.channelIDs
        createdAt = record.createdAt
        evaluatedThrough = record.state.evaluatedThrough
        metricName = record.metricName.isEmpty ? nil : record.metricName
        metricFilter = record.metricFilter.isEmpty ? nil : record.metricFilter
    }

    enum CodingKeys: String, CodingKey {
        case id
        case appID = "app_id"
        case transaction, name, metric
        case windowMinutes = "window_minutes"
        case warning, critical
        case forEvaluations = "for_evaluations"
        case minRequests = "min_requests"
        case channels
        case createdAt = "created_at"
        case evaluatedThrough = "evaluated_through"
        case metricName = "metric_name"
        case metricFilter = "metric_filter"
    }
}

/// A notification channel as the API shows it: never its secret (shown once, when created).
public struct APIAlertChannel: Codable, Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// A label.
    public var name: String
    /// `webhook` or `slack`.
    public var kind: String
    /// Where notifications are POSTed.
    public var url: String
    /// Creation time (Unix seconds).
    public var createdAt: Double
    /// The signing secret: only in the answer to its creation.
    public var secret: String?

    /// The API's view of a stored channel.
    ///
    /// - Parameters:
    ///   - record: The stored channel.
    ///   - showingSecret: Whether to include the secret (creation only).
    ///   - redacted: Whether to show only the URL's scheme and host (for read tokens: the rest of a Slack or
    ///     webhook URL is a credential).
    public init(_ record: AlertChannelRecord, showingSecret: Bool = false, redacted: Bool = false) {
        id = record.id
        name = record.name
        kind = record.kind.rawValue
        url = redacted ? Self.redacted(record.target, kind: record.kind) : record.target
        createdAt = record.createdAt
        secret = showingSecret && record.kind == .webhook ? record.secret : nil
    }

    /// A URL as a read token sees it: `https://hooks.slack.com/…` (no user, password, port, path or query); a mail
    /// address as it is.
    static func redacted(_ target: String, kind: AlertChannelKind) -> String {
        guard kind != .email else { return target }
        guard let components = URLComponents(string: target), let scheme = components.scheme,
            let host = components.host
        else { return "…" }
        return "\(scheme)://\(host)/…"
    }

    enum CodingKeys: String, CodingKey {
        case id, name, kind, url
        case createdAt = "created_at"
        case secret
    }
}

/// An incident as the API shows it.
public struct APIAlertIncident: Codable, Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// The condition that opened it.
    public var conditionID: Int64
    /// The app watched.
    public var appID: Int64
    /// One transaction, or `nil` for the app.
    public var transaction: String?
    /// `open` or `resolved`.
    public var state: String
    /// `warning` or `critical` (the highest reached).
    public var severity: String
    /// The end of the window that opened it (Unix seconds).
    public var openedAt: Int64
    /// The figure that opened it.
    public var openedValue: Double?
    /// The end of the window that escalated it to critical.
    public var escalatedAt: Int64?
    /// The figure that escalated it.
    public var escalatedValue: Double?
    /// The end of the window that resolved it.
    public var resolvedAt: Int64?
    /// The figure that resolved it.
    public var resolvedValue: Double?
    /// The figure at the latest evaluation.
    public var lastValue: Double?
    /// When it was acknowledged (Unix seconds).
    public var acknowledgedAt: Double?
    /// Who acknowledged it.
    public var acknowledgedBy: String?
    /// Where the data that breached begins: the start of the first window that breached (the incident opens at
    /// the end of the `for_evaluations`-th). Given in a series, where charts draw the incident over it.
    public var breachFrom: Int64?
    /// Where the data that breached ends: the end of the last window that breached (resolution waits for a
    /// whole window of good ones after it). `nil` while open, and outside a series.
    public var breachTo: Int64?

    /// The API's view of a stored incident.
    ///
    /// - Parameter record: The stored incident.
    public init(_ record: AlertIncidentRecord) {
        id = record.id
        conditionID = record.conditionID
        appID = record.appID
        transaction = record.transaction
        state = record.resolvedAt == nil ? "open" : "resolved"
        severity = record.severity.rawValue
        openedAt = record.openedAt
        openedValue = record.openedValue
        escalatedAt = record.escalatedAt
        escalatedValue = record.escalatedValue
        resolvedAt = record.resolvedAt
        resolvedValue = record.resolvedValue
        lastValue = record.lastValue
        acknowledgedAt = record.acknowledgedAt
        acknowledgedBy = record.acknowledgedBy
    }

    enum CodingKeys: String, CodingKey {
        case id
        case conditionID = "condition_id"
        case appID = "app_id"
        case transaction, state, severity
        case openedAt = "opened_at"
        case openedValue = "opened_value"
        case escalatedAt = "escalated_at"
        case escalatedValue = "escalated_value"
        case resolvedAt = "resolved_at"
        case resolvedValue = "resolved_value"
        case lastValue = "last_value"
        case acknowledgedAt = "acknowledged_at"
        case acknowledgedBy = "acknowledged_by"
        case breachFrom = "breach_from"
        case breachTo = "breach_to"
    }

    /// The incident with the span of data that breached, from its condition's window and `for` count.
    ///
    /// - Parameter condition: The condition that opened it.
    /// - Returns: The incident with ``breachFrom`` and ``breachTo``.
    func withBreach(of condition: AlertConditionRecord) -> APIAlertIncident {
        var incident = self
        let window = Int64(max(condition.windowMinutes, 1)) * 60
        incident.breachFrom = openedAt - Int64(max(condition.forEvaluations, 1) - 1) * 60 - window
        incident.breachTo = resolvedAt.map { $0 - window }
        return incident
    }
}

/// One notification as the API shows it.
public struct APIAlertDelivery: Codable, Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// The channel.
    public var channelID: Int64
    /// The incident, `null` for a test.
    public var incidentID: Int64?
    /// `opened`, `escalated`, `resolved` or `test`.
    public var event: String
    /// `delivered`, `retrying` (failed, tried again at `next_attempt_at`), `pending` or `given_up`.
    public var status: String
    /// Attempts so far.
    public var attempts: Int
    /// When it is tried next (Unix seconds), while not delivered.
    public var nextAttemptAt: Double?
    /// When it was delivered.
    public var deliveredAt: Double?
    /// When it was given up on.
    public var gaveUpAt: Double?
    /// The last attempt's error.
    public var lastError: String?
    /// Creation time (Unix seconds).
    public var createdAt: Double

    /// The API's view of a stored notification.
    ///
    /// - Parameter record: The stored notification.
    public init(_ record: AlertDeliveryRecord) {
        id = record.id
        channelID = record.channelID
        incidentID = record.incidentID
        event = record.event.rawValue
        status =
            record.deliveredAt != nil
            ? "delivered" : record.gaveUpAt != nil ? "given_up" : record.attempts > 0 ? "retrying" : "pending"
        attempts = record.attempts
        nextAttemptAt = status == "retrying" || status == "pending" ? record.nextAttemptAt : nil
        deliveredAt = record.deliveredAt
        gaveUpAt = record.gaveUpAt
        lastError = record.lastError
        createdAt = record.createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case channelID = "channel_id"
        case incidentID = "incident_id"
        case event, status, attempts
        case nextAttemptAt = "next_attempt_at"
        case deliveredAt = "delivered_at"
        case gaveUpAt = "gave_up_at"
        case lastError = "last_error"
        case createdAt = "created_at"
    }
}
