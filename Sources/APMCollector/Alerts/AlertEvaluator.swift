public import APMStorage
public import Logging

/// Evaluates alert conditions on complete minutes: each condition once per minute in total, by the collector
/// that holds the `alerts` lease, and each window at most once (the store applies an evaluation only if the
/// condition is still where it started).
public struct AlertEvaluator: Sendable {
    let store: any AlertStore & AppStore
    let queries: CollectorQueries
    /// Seconds a minute is left to fill (late batches, agents' harvest interval) before it is evaluated.
    let delay: Int64
    let logger: Logger
    /// A collector that was away catches up at most this many minutes per condition.
    static let maxCatchUp: Int64 = 10

    /// Creates an evaluator.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - queries: The query layer the figures come from (the same figures the API and dashboard show).
    ///   - delay: The evaluation delay in seconds.
    ///   - logger: The logger.
    public init(store: any AlertStore & AppStore, queries: CollectorQueries, delay: Int64, logger: Logger) {
        self.store = store
        self.queries = queries
        self.delay = delay
        self.logger = logger
    }

    /// The end of the last window that is complete at `now`: the minute boundary `delay` seconds ago.
    ///
    /// - Parameter now: Unix seconds.
    /// - Returns: Unix seconds, a whole minute.
    public func lastCompleteMinute(at now: Int64) -> Int64 {
        let settled = now - delay
        return settled - ((settled % 60) + 60) % 60
    }

    /// Evaluates every condition up to the last complete window.
    ///
    /// - Parameter now: Unix seconds.
    /// - Returns: The evaluations applied.
    /// - Throws: Store errors.
    @discardableResult
    public func evaluate(now: Int64) async throws -> Int {
        let target = lastCompleteMinute(at: now)
        var applied = 0
        // Each account's open incidents are read once per round, not once per condition.
        var openByAccount: [Int64: [Int64: AlertIncidentRecord]] = [:]
        // new_error and regressed_error are events, not windows: IssueNotifications handles them.
        for condition in try await store.alertConditions(accountID: nil) where condition.metric.issueEvent == nil {
            do {
                if openByAccount[condition.accountID] == nil {
                    let open = try await store.alertIncidents(
                        accountID: condition.accountID,
                        openOnly: true,
                        limit: 10_000
                    )
                    openByAccount[condition.accountID] = Dictionary(
                        open.map { ($0.conditionID, $0) },
                        uniquingKeysWith: { first, _ in first }
                    )
                }
                applied += try await evaluate(
                    condition,
                    open: openByAccount[condition.accountID]?[condition.id],
                    through: target,
                    now: now
                )
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.error("alert condition \(condition.id) (\(condition.name)) could not be evaluated: \(error)")
            }
        }
        return applied
    }

    private func evaluate(
        _ condition: AlertConditionRecord,
        open: AlertIncidentRecord?,
        through target: Int64,
        now: Int64
    ) async throws -> Int {
        var condition = condition
        let first: Int64
        if let last = condition.state.evaluatedThrough {
            first = max(last + 60, target - (Self.maxCatchUp - 1) * 60)
        } else {
            first = target
        }
        guard first <= target else { return 0 }
        guard let app = try await store.app(accountID: condition.accountID, id: condition.appID) else { return 0 }
        var open = open
        var applied = 0
        for windowEnd in stride(from: first, through: target, by: 60) {
            let figures = try await figures(of: condition, app: app, windowEnd: windowEnd, now: now)
            let step = AlertRule.step(condition, open: open, figures: figures, windowEnd: windowEnd)
            let write = AlertEvaluationWrite(
                conditionID: condition.id,
                previousEvaluatedThrough: condition.state.evaluatedThrough,
                state: step.state,
                incident: step.incident,
                event: step.event,
                now: Double(now)
            )
            // Another collector got there first (a lease that moved mid-evaluation): its result stands.
            guard try await store.applyAlertEvaluation(write) else { return applied }
            applied += 1
            condition.state = step.state
            if let event = step.event {
                logger.info(
                    "alert \"\(condition.name)\" (\(condition.metric.rawValue)) \(event.rawValue) for the window ending \(windowEnd)"
                )
            }
            if step.incident?.id == 0 {
                open = try await openIncident(of: condition)
            } else if step.incident?.resolvedAt != nil {
                open = nil
            } else if let incident = step.incident {
                open = incident
            }
        }
        return applied
    }

    /// What a condition watches over the window ending at `windowEnd`: the error log lines, or the app's (or one
    /// transaction's) figures.
    private func figures(
        of condition: AlertConditionRecord,
        app: StoredApp,
        windowEnd: Int64,
        now: Int64
    ) async throws -> AlertWindowFigures {
        let window = Int64(condition.windowMinutes) * 60
        let range = TimeRange(
            from: windowEnd - window,
            to: windowEnd,
            now: now,
            minuteRetention: queries.minuteRetention
        )
        if condition.metric.watchesMetric {
            let figures = try await queries.metricWindowValue(
                app: app,
                name: condition.metricName,
                filter: condition.metricFilter,
                seconds: (windowEnd - window)..<windowEnd,
                worstIsLowest: condition.metric.breachesBelow
            )
            return AlertWindowFigures(count: figures.readings, value: figures.value)
        } else if condition.metric == .errorLogs {
            let lines = try await queries.errorLogLines(
                app: app,
                transaction: condition.transaction,
                seconds: (windowEnd - window)..<windowEnd
            )
            return AlertWindowFigures(
                count: lines,
                value: AlertRule.value(
                    of: .errorLogs,
                    count: lines,
                    windowMinutes: condition.windowMinutes,
                    apdex: nil,
                    errorRate: nil,
                    average: nil,
                    p95: nil,
                    p99: nil
                )
            )
        } else {
            let summary = try await queries.summary(app: app, transaction: condition.transaction, range: range)
            return AlertWindowFigures(
                count: summary.count,
                value: AlertRule.value(
                    of: condition.metric,
                    count: summary.count,
                    windowMinutes: condition.windowMinutes,
                    apdex: summary.apdex.score,
                    errorRate: summary.errorRate,
                    average: summary.average,
                    p95: summary.p95,
                    p99: summary.p99
                )
            )
        }
    }

    private func openIncident(of condition: AlertConditionRecord) async throws -> AlertIncidentRecord? {
        try await store.alertIncidents(accountID: condition.accountID, openOnly: true, limit: 10_000).first {
            $0.conditionID == condition.id
        }
    }
}
