/// How a channel delivers.
public enum AlertChannelKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// A POST of the documented JSON, signed with `X-APM-Signature`.
    case webhook
    /// A Slack-compatible incoming webhook (`{"text": …}`).
    case slack
    /// Mail over SMTP.
    case email
}

/// A notification channel as stored.
public struct AlertChannelRecord: Sendable, Hashable {
    /// The id (0 before it is stored).
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// A label.
    public var name: String
    /// How it delivers.
    public var kind: AlertChannelKind
    /// The URL (webhook, Slack) or the recipient's address (email).
    public var target: String
    /// The HMAC key of a webhook's signature (kept as is: it signs, so it must be readable).
    public var secret: String
    /// Creation time (Unix seconds).
    public var createdAt: Double

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - name: The label.
    ///   - kind: The kind.
    ///   - target: URL or address.
    ///   - secret: The signing key.
    ///   - createdAt: Creation time.
    public init(
        id: Int64 = 0,
        accountID: Int64,
        name: String,
        kind: AlertChannelKind,
        target: String,
        secret: String,
        createdAt: Double
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.kind = kind
        self.target = target
        self.secret = secret
        self.createdAt = createdAt
    }
}

/// What a notification tells.
public enum AlertEvent: String, Sendable, Hashable, CaseIterable, Codable {
    /// An incident opened.
    case opened
    /// An incident went from warning to critical.
    case escalated
    /// An incident resolved.
    case resolved
    /// "Send a test notification".
    case test
    /// An error issue was seen for the first time.
    case newError = "new_error"
    /// A resolved error issue was seen again.
    case regressedError = "regressed_error"
}

/// What happened to an error issue that a condition can notify about.
public enum IssueEventKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// The issue's first occurrence.
    case new
    /// An occurrence after the issue was resolved (see ``ErrorGroupState/regressed``).
    case regressed

    /// The notification it becomes.
    public var alertEvent: AlertEvent { self == .new ? .newError : .regressedError }
}

/// An issue event written by the ingest in the batch's own transaction, so that none is lost or written twice;
/// the collector holding the `alerts` lease turns each into notifications once.
public struct IssueEventRecord: Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// The app.
    public var appID: Int64
    /// The issue (error group).
    public var groupID: Int64
    /// What happened.
    public var kind: IssueEventKind
    /// The transaction of the occurrence.
    public var transaction: String
    /// When it occurred (Unix seconds, the occurrence's time).
    public var at: Double

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - appID: The app.
    ///   - groupID: The issue.
    ///   - kind: What happened.
    ///   - transaction: The transaction.
    ///   - at: When.
    public init(id: Int64, appID: Int64, groupID: Int64, kind: IssueEventKind, transaction: String, at: Double) {
        self.id = id
        self.appID = appID
        self.groupID = groupID
        self.kind = kind
        self.transaction = transaction
        self.at = at
    }
}

/// How an issue event is notified: the conditions it matched, each to its channels, none again for the same issue
/// and channel within ``renotifyAfter`` seconds.
public struct IssueEventNotification: Sendable, Hashable {
    /// The event.
    public var eventID: Int64
    /// The conditions that match it (their channels are notified).
    public var conditions: [AlertConditionRecord]
    /// The issue.
    public var groupID: Int64
    /// What the notifications say.
    public var event: AlertEvent
    /// Seconds in which an issue notifies a channel of a condition at most once.
    public var renotifyAfter: Double
    /// When (Unix seconds).
    public var now: Double

    /// Creates a notification plan.
    ///
    /// - Parameters:
    ///   - eventID: The event.
    ///   - conditions: The matching conditions.
    ///   - groupID: The issue.
    ///   - event: The notification's event.
    ///   - renotifyAfter: The per-issue rate limit.
    ///   - now: The time.
    public init(
        eventID: Int64,
        conditions: [AlertConditionRecord],
        groupID: Int64,
        event: AlertEvent,
        renotifyAfter: Double,
        now: Double
    ) {
        self.eventID = eventID
        self.conditions = conditions
        self.groupID = groupID
        self.event = event
        self.renotifyAfter = renotifyAfter
        self.now = now
    }
}

/// One notification to one channel: kept until delivered or given up, so a collector that stops meanwhile loses
/// none, and retried with backoff.
public struct AlertDeliveryRecord: Sendable, Hashable {
    /// The id (0 before it is stored).
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// The channel.
    public var channelID: Int64
    /// The incident, `nil` for a test or an issue's notification.
    public var incidentID: Int64?
    /// The error issue of a `new_error` or `regressed_error` notification.
    public var issueID: Int64?
    /// The condition of an issue's notification (an incident's is the incident's).
    public var conditionID: Int64?
    /// What happened.
    public var event: AlertEvent
    /// Attempts so far.
    public var attempts: Int
    /// When the next attempt is due (Unix seconds).
    public var nextAttemptAt: Double
    /// When it was delivered.
    public var deliveredAt: Double?
    /// When it was given up on.
    public var gaveUpAt: Double?
    /// The last attempt's error.
    public var lastError: String?
    /// Creation time (Unix seconds).
    public var createdAt: Double

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - channelID: The channel.
    ///   - incidentID: The incident.
    ///   - issueID: The error issue.
    ///   - conditionID: The condition of an issue's notification.
    ///   - event: The event.
    ///   - attempts: Attempts so far.
    ///   - nextAttemptAt: When next.
    ///   - deliveredAt: When delivered.
    ///   - gaveUpAt: When given up.
    ///   - lastError: The last error.
    ///   - createdAt: Creation time.
    public init(
        id: Int64 = 0,
        accountID: Int64,
        channelID: Int64,
        incidentID: Int64?,
        issueID: Int64? = nil,
        conditionID: Int64? = nil,
        event: AlertEvent,
        attempts: Int = 0,
        nextAttemptAt: Double,
        deliveredAt: Double? = nil,
        gaveUpAt: Double? = nil,
        lastError: String? = nil,
        createdAt: Double
    ) {
        self.id = id
        self.accountID = accountID
        self.channelID = channelID
        self.incidentID = incidentID
        self.issueID = issueID
        self.conditionID = conditionID
        self.event = event
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.deliveredAt = deliveredAt
        self.gaveUpAt = gaveUpAt
        self.lastError = lastError
        self.createdAt = createdAt
    }
}
