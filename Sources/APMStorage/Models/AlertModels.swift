/// What an alert condition watches, over its window.
public enum AlertMetric: String, Sendable, Hashable, CaseIterable, Codable {
    /// The Apdex score (0…1); breaches *below* the thresholds.
    case apdex
    /// Errors per request (0…1); breaches above.
    case errorRate = "error_rate"
    /// Average response time in seconds; breaches above.
    case averageResponseTime = "average_response_time"
    /// 95th percentile response time in seconds; breaches above.
    case p95ResponseTime = "p95_response_time"
    /// 99th percentile response time in seconds; breaches above.
    case p99ResponseTime = "p99_response_time"
    /// Requests per minute; breaches below.
    case throughputBelow = "throughput_below"
    /// Requests per minute; breaches above.
    case throughputAbove = "throughput_above"
    /// No request at all in the window (the agent or the exporter went quiet); has no thresholds.
    case noData = "no_data"
    /// An error issue seen for the first time; an event, not a window: no thresholds, no incident.
    case newError = "new_error"
    /// A resolved error issue seen again (a regression); an event like ``newError``.
    case regressedError = "regressed_error"
    /// Log lines at `error` or `fatal` per minute (of the condition's transaction, if it names one); breaches above.
    case errorLogs = "error_logs"
    /// A stored metric (``AlertConditionRecord/metricName``, its series narrowed by
    /// ``AlertConditionRecord/metricFilter``) over the window: a gauge's mean, a counter's rate per second, a
    /// histogram's p95, of the worst series; breaches above.
    case metricAbove = "metric_above"
    /// As ``metricAbove``, breaching below (e.g. `system.cpu.utilization` with `state=idle` below 0.1: the CPU
    /// more than 90 % busy).
    case metricBelow = "metric_below"

    /// Whether a lower figure is the bad direction.
    public var breachesBelow: Bool { self == .apdex || self == .throughputBelow || self == .metricBelow }

    /// Whether the condition watches a stored metric (and names it) rather than the app's transactions.
    public var watchesMetric: Bool { self == .metricAbove || self == .metricBelow }

    /// The issue event this condition notifies about, `nil` for the conditions evaluated per window.
    public var issueEvent: IssueEventKind? {
        switch self {
        case .newError: .new
        case .regressedError: .regressed
        default: nil
        }
    }
}

/// How bad a breach is.
public enum AlertSeverity: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// Past the warning threshold.
    case warning
    /// Past the critical threshold.
    case critical

    /// Warning before critical.
    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool { lhs == .warning && rhs == .critical }
}

/// Where an evaluation left a condition: streaks of consecutive evaluations, and the last minute evaluated.
public struct AlertEvaluationState: Sendable, Hashable {
    /// The end (exclusive, Unix seconds, a whole minute) of the last window evaluated; `nil` before the first.
    public var evaluatedThrough: Int64?
    /// Consecutive evaluations at warning or worse.
    public var warningStreak: Int
    /// Consecutive evaluations at critical.
    public var criticalStreak: Int
    /// Consecutive evaluations without a breach.
    public var okStreak: Int

    /// Creates a state.
    ///
    /// - Parameters:
    ///   - evaluatedThrough: The last window's end.
    ///   - warningStreak: Evaluations at warning or worse in a row.
    ///   - criticalStreak: Evaluations at critical in a row.
    ///   - okStreak: Evaluations without a breach in a row.
    public init(evaluatedThrough: Int64? = nil, warningStreak: Int = 0, criticalStreak: Int = 0, okStreak: Int = 0) {
        self.evaluatedThrough = evaluatedThrough
        self.warningStreak = warningStreak
        self.criticalStreak = criticalStreak
        self.okStreak = okStreak
    }
}

/// An alert condition as stored.
public struct AlertConditionRecord: Sendable, Hashable {
    /// The id (0 before it is stored).
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// The app watched.
    public var appID: Int64
    /// One transaction of the app, or `nil` for the app's web transactions as a whole.
    public var transaction: String?
    /// A label.
    public var name: String
    /// The figure watched.
    public var metric: AlertMetric
    /// Minutes of data per evaluation (1…60).
    public var windowMinutes: Int
    /// The warning threshold, if any.
    public var warning: Double?
    /// The critical threshold, if any.
    public var critical: Double?
    /// Evaluations in a row a breach must last before an incident opens or escalates.
    public var forEvaluations: Int
    /// Under this many requests in the window the condition stays quiet.
    public var minRequests: Int
    /// The metric a `metric_above`/`metric_below` condition watches; empty for the others.
    public var metricName: String
    /// Which of its series: `key=value` (an attribute, or `host=NAME`), empty for all of them.
    public var metricFilter: String
    /// The channels notified.
    public var channelIDs: [Int64]
    /// Creation time (Unix seconds).
    public var createdAt: Double
    /// Where evaluation stands.
    public var state: AlertEvaluationState

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - appID: The app.
    ///   - transaction: One transaction or `nil`.
    ///   - name: The label.
    ///   - metric: The figure.
    ///   - windowMinutes: The window.
    ///   - warning: The warning threshold.
    ///   - critical: The critical threshold.
    ///   - forEvaluations: How long a breach must last.
    ///   - minRequests: The quiet floor.
    ///   - channelIDs: The channels.
    ///   - createdAt: Creation time.
    ///   - state: The evaluation state.
    ///   - metricName: The metric watched (metric conditions).
    ///   - metricFilter: Which of its series.
    public init(
        id: Int64 = 0,
        accountID: Int64,
        appID: Int64,
        transaction: String?,
        name: String,
        metric: AlertMetric,
        windowMinutes: Int,
        warning: Double?,
        critical: Double?,
        forEvaluations: Int,
        minRequests: Int,
        channelIDs: [Int64],
        createdAt: Double,
        state: AlertEvaluationState = AlertEvaluationState(),
        metricName: String = "",
        metricFilter: String = ""
    ) {
        self.id = id
        self.accountID = accountID
        self.appID = appID
        self.transaction = transaction
        self.name = name
        self.metric = metric
        self.windowMinutes = windowMinutes
        self.warning = warning
        self.critical = critical
        self.forEvaluations = forEvaluations
        self.minRequests = minRequests
        self.channelIDs = channelIDs
        self.createdAt = createdAt
        self.state = state
        self.metricName = metricName
        self.metricFilter = metricFilter
    }
}

/// An incident: a condition's breach from the evaluation that opened it to the one that resolved it.
public struct AlertIncidentRecord: Sendable, Hashable {
    /// The id (0 before it is stored).
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// The condition that opened it.
    public var conditionID: Int64
    /// The app.
    public var appID: Int64
    /// The transaction, or `nil` for the app.
    public var transaction: String?
    /// The highest severity reached.
    public var severity: AlertSeverity
    /// The end of the window that opened it (Unix seconds).
    public var openedAt: Int64
    /// The figure that opened it (`nil` for no data).
    public var openedValue: Double?
    /// The end of the window that escalated it to critical, if it was escalated after opening.
    public var escalatedAt: Int64?
    /// The figure that escalated it.
    public var escalatedValue: Double?
    /// The end of the window that resolved it; `nil` while open.
    public var resolvedAt: Int64?
    /// The figure that resolved it (`nil` when its condition was deleted or the window had no data).
    public var resolvedValue: Double?
    /// The figure at the latest evaluation.
    public var lastValue: Double?
    /// When someone acknowledged it (Unix seconds).
    public var acknowledgedAt: Double?
    /// Who acknowledged it.
    public var acknowledgedBy: String?

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - conditionID: The condition.
    ///   - appID: The app.
    ///   - transaction: The transaction.
    ///   - severity: The severity.
    ///   - openedAt: When it opened.
    ///   - openedValue: The figure that opened it.
    ///   - escalatedAt: When it escalated.
    ///   - escalatedValue: The figure that escalated it.
    ///   - resolvedAt: When it resolved.
    ///   - resolvedValue: The figure that resolved it.
    ///   - lastValue: The latest figure.
    ///   - acknowledgedAt: When acknowledged.
    ///   - acknowledgedBy: By whom.
    public init(
        id: Int64 = 0,
        accountID: Int64,
        conditionID: Int64,
        appID: Int64,
        transaction: String?,
        severity: AlertSeverity,
        openedAt: Int64,
        openedValue: Double?,
        escalatedAt: Int64? = nil,
        escalatedValue: Double? = nil,
        resolvedAt: Int64? = nil,
        resolvedValue: Double? = nil,
        lastValue: Double?,
        acknowledgedAt: Double? = nil,
        acknowledgedBy: String? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.conditionID = conditionID
        self.appID = appID
        self.transaction = transaction
        self.severity = severity
        self.openedAt = openedAt
        self.openedValue = openedValue
        self.escalatedAt = escalatedAt
        self.escalatedValue = escalatedValue
        self.resolvedAt = resolvedAt
        self.resolvedValue = resolvedValue
        self.lastValue = lastValue
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
    }
}

/// One evaluation's outcome, written at once: the condition's new state, the incident opened or changed, and the
/// notifications to send. Applied only if the condition was still at `previousEvaluatedThrough`, so a window is
/// never evaluated twice, whichever collectors try.
public struct AlertEvaluationWrite: Sendable, Hashable {
    /// The condition.
    public var conditionID: Int64
    /// The state the evaluation started from.
    public var previousEvaluatedThrough: Int64?
    /// The new state.
    public var state: AlertEvaluationState
    /// An incident to open (id 0) or to update (its id), if any.
    public var incident: AlertIncidentRecord?
    /// What to notify about the incident, if anything.
    public var event: AlertEvent?
    /// When the notifications are due (Unix seconds).
    public var now: Double

    /// Creates a write.
    ///
    /// - Parameters:
    ///   - conditionID: The condition.
    ///   - previousEvaluatedThrough: The state's window end before.
    ///   - state: The new state.
    ///   - incident: The incident to open or update.
    ///   - event: What to notify.
    ///   - now: The time.
    public init(
        conditionID: Int64,
        previousEvaluatedThrough: Int64?,
        state: AlertEvaluationState,
        incident: AlertIncidentRecord?,
        event: AlertEvent?,
        now: Double
    ) {
        self.conditionID = conditionID
        self.previousEvaluatedThrough = previousEvaluatedThrough
        self.state = state
        self.incident = incident
        self.event = event
        self.now = now
    }
}

extension AlertConditionRecord {
    /// The channel ids as a column stores them: `1,2,3`.
    package var storedChannelIDs: String { channelIDs.map(String.init).joined(separator: ",") }

    /// Channel ids from their stored form.
    ///
    /// - Parameter stored: `1,2,3`.
    /// - Returns: The ids.
    package static func channelIDs(stored: String) -> [Int64] {
        stored.split(separator: ",").compactMap { Int64($0) }
    }
}
