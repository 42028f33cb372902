import APMStorage

extension Collector {
    /// Sets the per-app gauges of `/metrics` from the last complete minute, the minute alert conditions see last
    /// (`alert_evaluation_delay` after it ended), so that a Prometheus rule and an alert condition on the same
    /// figure agree.
    func readAppGauges() async throws {
        let end = alertEvaluator.lastCompleteMinute(at: Int64(now()))
        var figures: [CollectorMetrics.AppFigures] = []
        for account in try await store.accounts() {
            for app in try await store.apps(accountID: account.id) {
                let range = TimeRange(
                    from: end - 60,
                    to: end,
                    now: Int64(now()),
                    minuteRetention: queries.minuteRetention
                )
                let summary = try await queries.summary(app: app, range: range)
                figures.append(
                    CollectorMetrics.AppFigures(
                        accountID: account.id,
                        name: app.name,
                        apdex: summary.apdex.score,
                        requestsPerMinute: Double(summary.count),
                        errorRatio: summary.count == 0 ? nil : summary.errorRate ?? 0,
                        p95: summary.p95
                    )
                )
            }
        }
        metrics.setAppFigures(figures)
    }
}
