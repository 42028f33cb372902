public import APMStorage

/// The figures one evaluation looks at: the window's request count and the condition's figure.
public struct AlertWindowFigures: Sendable, Hashable {
    /// Requests in the window.
    public var count: UInt64
    /// The condition's figure over the window (`nil` when it has none: no requests).
    public var value: Double?

    /// Creates figures.
    ///
    /// - Parameters:
    ///   - count: Requests in the window.
    ///   - value: The figure.
    public init(count: UInt64, value: Double?) {
        self.count = count
        self.value = value
    }
}

/// The rules of alerting, without I/O: how a window's figures compare with a condition's thresholds, and how a
/// condition's state and its incident move from one evaluation to the next.
public enum AlertRule {
    /// What one window says.
    public enum Verdict: Sendable, Hashable {
        /// Under the condition's `min_requests`: no breach (one slow request at night pages nobody).
        case quiet
        /// Within the thresholds.
        case ok
        /// Past a threshold.
        case breach(AlertSeverity)
    }

    /// The figure a condition watches, from a window's figures.
    ///
    /// - Parameters:
    ///   - metric: The figure.
    ///   - count: Requests in the window.
    ///   - windowMinutes: The window's length.
    ///   - apdex: The Apdex score.
    ///   - errorRate: Errors per request.
    ///   - average: The average response time.
    ///   - p95: The 95th percentile.
    ///   - p99: The 99th percentile.
    /// - Returns: The figure, `nil` when there is none.
    public static func value(
        of metric: AlertMetric,
        count: UInt64,
        windowMinutes: Int,
        apdex: Double?,
        errorRate: Double?,
        average: Double?,
        p95: Double?,
        p99: Double?
    ) -> Double? {
        switch metric {
        case .apdex: apdex
        case .errorRate: count == 0 ? nil : (errorRate ?? 0)
        case .averageResponseTime: average
        case .p95ResponseTime: p95
        case .p99ResponseTime: p99
        case .throughputBelow, .throughputAbove: Double(count) / Double(max(windowMinutes, 1))
        case .noData: Double(count)
        case .newError, .regressedError: nil
        // The evaluator counts the lines itself (``AlertEvaluator``): `count` is the window's lines.
        case .errorLogs: Double(count) / Double(max(windowMinutes, 1))
        // The evaluator reads the metric itself (``CollectorQueries/metricWindowValue``).
        case .metricAbove, .metricBelow: nil
        }
    }

    /// How one window compares with a condition.
    ///
    /// - Parameters:
    ///   - condition: The condition.
    ///   - figures: The window's figures.
    /// - Returns: The verdict.
    public static func verdict(_ condition: AlertConditionRecord, _ figures: AlertWindowFigures) -> Verdict {
        switch condition.metric {
        case .noData:
            return figures.count == 0 ? .breach(.critical) : .ok
        case .newError, .regressedError:
            // Events, not windows: IssueNotifications handles them.
            return .quiet
        case .throughputBelow, .throughputAbove, .errorLogs, .metricAbove, .metricBelow:
            // A low count is what these watch, or lines and readings are no requests: min_requests does not apply.
            break
        default:
            if figures.count < UInt64(max(condition.minRequests, 0)) || figures.count == 0 { return .quiet }
        }
        guard let value = figures.value else { return .quiet }
        func breaches(_ threshold: Double?) -> Bool {
            guard let threshold else { return false }
            return condition.metric.breachesBelow ? value < threshold : value > threshold
        }
        if breaches(condition.critical) { return .breach(.critical) }
        if breaches(condition.warning) { return .breach(.warning) }
        return .ok
    }

    /// What one evaluation changes.
    public struct Step: Sendable, Hashable {
        /// The condition's new state.
        public var state: AlertEvaluationState
        /// The incident opened (id 0) or changed, if any.
        public var incident: AlertIncidentRecord?
        /// What to notify.
        public var event: AlertEvent?
    }

    /// The next state of a condition and its incident after the window ending at `windowEnd`.
    ///
    /// A breach opens an incident once it has lasted `for_evaluations` evaluations in a row, at the highest
    /// severity that lasted that long; a warning incident escalates once critical has lasted as long. An
    /// incident resolves once the figure has been back (no breach, or quiet) for a whole window's worth of
    /// evaluations: a figure that flaps at the threshold does not open and resolve an incident every minute.
    ///
    /// - Parameters:
    ///   - condition: The condition, with its state before.
    ///   - open: Its open incident, if any.
    ///   - figures: The window's figures.
    ///   - windowEnd: The window's end (Unix seconds, a whole minute).
    /// - Returns: The step.
    public static func step(
        _ condition: AlertConditionRecord,
        open: AlertIncidentRecord?,
        figures: AlertWindowFigures,
        windowEnd: Int64
    ) -> Step {
        var state = condition.state
        state.evaluatedThrough = windowEnd
        let verdict = verdict(condition, figures)
        switch verdict {
        case .breach(.critical):
            state.criticalStreak += 1
            state.warningStreak += 1
            state.okStreak = 0
        case .breach(.warning):
            state.criticalStreak = 0
            state.warningStreak += 1
            state.okStreak = 0
        case .ok, .quiet:
            state.criticalStreak = 0
            state.warningStreak = 0
            state.okStreak += 1
        }
        let needed = max(condition.forEvaluations, 1)
        let lasting: AlertSeverity? =
            state.criticalStreak >= needed ? .critical : state.warningStreak >= needed ? .warning : nil
        guard var incident = open else {
            guard let severity = lasting else { return Step(state: state, incident: nil, event: nil) }
            let opened = AlertIncidentRecord(
                accountID: condition.accountID,
                conditionID: condition.id,
                appID: condition.appID,
                transaction: condition.transaction,
                severity: severity,
                openedAt: windowEnd,
                openedValue: figures.value,
                lastValue: figures.value
            )
            return Step(state: state, incident: opened, event: .opened)
        }
        incident.lastValue = figures.value
        if incident.severity == .warning, lasting == .critical {
            incident.severity = .critical
            incident.escalatedAt = windowEnd
            incident.escalatedValue = figures.value
            return Step(state: state, incident: incident, event: .escalated)
        }
        if state.okStreak >= max(condition.windowMinutes, 1) {
            incident.resolvedAt = windowEnd
            incident.resolvedValue = figures.value
            return Step(state: state, incident: incident, event: .resolved)
        }
        return Step(state: state, incident: incident, event: nil)
    }
}
