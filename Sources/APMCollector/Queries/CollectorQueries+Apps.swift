import APMCore
public import APMStorage
import Foundation

extension CollectorQueries {
    /// One page of an account's apps (by name) with their summaries: an account may have up to `max_apps`
    /// apps, and every summary costs queries, so lists are paged.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - range: The range.
    ///   - offset: Apps to skip.
    ///   - limit: Apps to return at most.
    /// - Returns: The page and the number of apps in all.
    public func appSummaries(
        accountID: Int64,
        range: TimeRange,
        offset: Int,
        limit: Int
    ) async throws -> (apps: [APIAppSummary], total: Int) {
        let apps = try await store.apps(accountID: accountID)
        var summaries: [APIAppSummary] = []
        for app in apps.dropFirst(offset).prefix(limit) {
            summaries.append(try await appSummary(app: app, range: range))
        }
        return (summaries, apps.count)
    }

    /// One app's summary over a range: its web figures, a sparkline and its warnings.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    /// - Returns: Summary, sparkline and warnings.
    public func appSummary(app: StoredApp, range: TimeRange) async throws -> APIAppSummary {
        let (series, summary, _) = try await seriesAndSummary(app: app, transaction: nil, range: range)
        return try await appSummary(app: app, series: series, summary: summary)
    }

    private func appSummary(app: StoredApp, series: APISeries, summary: APIFigures) async throws -> APIAppSummary {
        let range = (from: series.from, to: series.to)
        var warnings: [String] = []
        let overflow = try await store.nameOverflow(appID: app.id)
        if overflow.transactionCount > 0 || overflow.segmentCount > 0 {
            let examples = overflow.examples.prefix(5).joined(separator: ", ")
            warnings.append(
                "Too many distinct names: \(overflow.transactionCount) transactions and \(overflow.segmentCount) segments were recorded as (overflow). Examples: \(examples). Name transactions by route template, not raw path."
            )
        }
        let dropped = try await store.droppedCounts(appID: app.id, range: range.from..<range.to)
        if dropped.transactions > 0 {
            warnings.append(
                "The agent dropped the metrics of \(dropped.transactions) transactions (memory bound reached while the collector was unreachable)."
            )
        }
        if dropped.overflowedNames > 0 {
            warnings.append(
                "The agent recorded \(dropped.overflowedNames) transactions as (overflow): its max_transaction_names was reached."
            )
        }
        // Known only from `apm run-program`'s process reports: the app runs, but nothing in it reports transactions.
        if app.language.isEmpty, summary.count == 0, try await store.transactionNames(appID: app.id).isEmpty {
            warnings.append(
                "apm run-program reports this app's process, but no transactions have arrived: the app is not "
                    + "instrumented (the agent not linked, or no OpenTelemetry SDK), or its SDK cannot export to the "
                    + "collector. A Python SDK set to OTEL_EXPORTER_OTLP_PROTOCOL=http/json fails to start its exporter "
                    + "and runs uninstrumented: use http/protobuf (run-program's default). See docs/collector.md."
            )
        }
        if Double(now()) - app.lastSeenAt > 300 {
            warnings.append(
                "No data for \(Int((Double(now()) - app.lastSeenAt) / 60)) minutes: the agent may be offline."
            )
        }
        return APIAppSummary(
            id: app.id,
            name: app.name,
            language: app.language,
            lastSeenAt: app.lastSeenAt,
            summary: summary,
            sparkline: series.points.map(\.rpm),
            warnings: warnings
        )
    }

    /// The app overview.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    /// - Returns: Summary, series and top transactions.
    public func overview(app: StoredApp, range: TimeRange) async throws -> APIOverview {
        async let transactions = transactions(app: app, range: range, order: .time, limit: 200)
        let (series, summary, _) = try await seriesAndSummary(app: app, transaction: nil, range: range)
        let appSummary = try await appSummary(app: app, series: series, summary: summary)
        return APIOverview(
            app: appSummary,
            series: series,
            transactions: try await transactions,
            transactionApdexT: app.transactionApdexT
        )
    }
}
