import APMCore
public import APMStorage
import Foundation

/// What the query layer reads: every role that holds figures, and none that writes them.
public typealias QueryStore = AppStore & FigureStore & ErrorGroupStore & ProcessStore & LogStore & AlertStore
    & MetricStore

/// The questions an APM user asks, answered from the store: the Swift API behind `/api/v1`, the dashboard
/// and `apm report`.
public struct CollectorQueries: Sendable {
    let store: any QueryStore
    let minuteRetention: Int64
    let now: @Sendable () -> Int64

    /// Creates the query layer.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - minuteRetention: How long minute rows are kept (seconds).
    ///   - now: The clock.
    public init(store: any QueryStore, minuteRetention: Int64, now: (@Sendable () -> Int64)? = nil) {
        self.store = store
        self.minuteRetention = minuteRetention
        self.now = now ?? { Int64(Date().timeIntervalSince1970) }
    }

    /// The range for `from`/`to` (Unix seconds), or the last `since` seconds.
    ///
    /// - Parameters:
    ///   - from: Start, or `nil`.
    ///   - to: End, or `nil` for now.
    ///   - since: Length back from now when `from` is `nil`.
    /// - Returns: The range with its bucket size.
    public func range(from: Int64?, to: Int64?, since: Int64 = 1800) -> TimeRange {
        let now = now()
        let end = to ?? now
        return TimeRange(from: from ?? end - since, to: end, now: now, minuteRetention: minuteRetention)
    }

    /// The parts of a range to read totals from: the whole hours inside a minute-resolution range come from the
    /// hour rows, which ingest writes in the same transaction as the minutes (each is exactly the sum of its
    /// minutes), and only the partial hours at either end from minute rows. A 24-hour overview then merges
    /// about 26 rows per transaction instead of 1,440; the figures are the same.
    public static func partsByResolution(_ range: TimeRange) -> [(Range<Int64>, SliceResolution)] {
        guard range.resolution == .minute else { return [(range.from..<range.to, .hour)] }
        let firstHour = (range.from + 3599) / 3600 * 3600
        let lastHour = range.to / 3600 * 3600
        guard firstHour < lastHour else { return [(range.from..<range.to, .minute)] }
        var parts: [(Range<Int64>, SliceResolution)] = [(firstHour..<lastHour, .hour)]
        if range.from < firstHour { parts.append((range.from..<firstHour, .minute)) }
        if lastHour < range.to { parts.append((lastHour..<range.to, .minute)) }
        return parts
    }

    func resolution(_ range: TimeRange) -> SliceResolution {
        range.resolution == .minute ? .minute : .hour
    }

    /// Figures for the whole range, for an app (web transactions) or one transaction.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: The range.
    /// - Returns: The figures.
    public func summary(app: StoredApp, transaction: String? = nil, range: TimeRange) async throws -> APIFigures {
        let slices = try await slices(app: app, transaction: transaction, range: range)
        var figures = APIFigures(
            merging: slices,
            start: range.from,
            seconds: range.to - range.from,
            t: t(app, transaction)
        )
        figures.apdex.apply(
            reclassification(of: try await rowsAtOtherT(app: app, transaction: transaction, range: range), app: app)
        )
        figures.latestMinute = try await latestMinute(app: app, transaction: transaction, range: range, read: slices)
        return figures
    }

    /// How long after a minute ends its data is taken as complete: agents deliver every 10 s by default, so the
    /// minute that just ended (let alone the current one) is still missing requests; shown, it would read as a
    /// drop in throughput that is not there. Charts stop before such buckets; the latest rate skips them.
    public static let settleSeconds: Int64 = 15

    /// The range's last minute that ended ``settleSeconds`` ago, with its requests; `nil` when the range holds
    /// no such minute or it is older than the minute rows' retention.
    /// `read` are the range's slices already read: minute rows hold the minute, so no query is made (an alert's
    /// window, a page's figures); hour rows do not, and the minute is read.
    func latestMinute(
        app: StoredApp,
        transaction: String?,
        range: TimeRange,
        read: [TransactionSlice]
    ) async throws -> APILatestMinute? {
        let start = Swift.min(range.to, now() - Self.settleSeconds) / 60 * 60 - 60
        guard start >= range.from, start >= now() - minuteRetention else { return nil }
        if range.resolution == .minute {
            return APILatestMinute(start: start, count: read.reduce(0) { $0 + ($1.bucket == start ? $1.count : 0) })
        }
        let minute = TimeRange(from: start, to: start + 60, now: now(), minuteRetention: minuteRetention)
        guard minute.resolution == .minute else { return nil }
        let slices = try await slices(app: app, transaction: transaction, range: minute)
        return APILatestMinute(start: start, count: slices.reduce(0) { $0 + $1.count })
    }

    /// Rows whose Apdex counts were classified at another T than the one now in force for their transaction.
    private func rowsAtOtherT(
        app: StoredApp,
        transaction: String?,
        range: TimeRange
    ) async throws
        -> [ApdexRowAtOtherT]
    {
        try await store.apdexRowsAtOtherT(
            appID: app.id,
            transaction: transaction,
            range: range.from..<range.to,
            resolution: resolution(range),
            background: false
        )
    }

    /// Rows classified again, each at the T now in force for its transaction.
    private func reclassification(of rows: some Sequence<ApdexRowAtOtherT>, app: StoredApp) -> ApdexReclassification {
        var reclassification = ApdexReclassification()
        for row in rows { reclassification.add(row.source, at: t(app, row.name)) }
        return reclassification
    }

    /// `nil` when the app recorded a transaction of that name (or it is the overflow name), else the nearest
    /// names it recorded (up to three; empty when it recorded none).
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - name: The name asked for.
    /// - Returns: `nil`, or the nearest known names.
    public func unknownTransaction(app: StoredApp, name: String) async throws -> [String]? {
        guard name != OverflowName.text else { return nil }
        let known = try await store.transactionNames(appID: app.id)
        guard !known.contains(name) else { return nil }
        return NearestNames.nearest(to: name, in: known)
    }

    private func t(_ app: StoredApp, _ transaction: String?) -> Double {
        transaction.flatMap { app.transactionApdexT[$0] } ?? app.apdexT
    }

    func slices(app: StoredApp, transaction: String?, range: TimeRange) async throws -> [TransactionSlice] {
        if let transaction {
            return try await store.transactionSlices(
                appID: app.id,
                name: transaction,
                range: range.from..<range.to,
                resolution: resolution(range)
            )
        }
        return try await store.appSlices(
            appID: app.id,
            kind: .web,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
    }

    /// The series of an app (web transactions) or one transaction, one point per bucket.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: The range.
    /// - Returns: The series with deployment markers.
    public func series(app: StoredApp, transaction: String? = nil, range: TimeRange) async throws -> APISeries {
        try await seriesAndSummary(app: app, transaction: transaction, range: range).series
    }

    /// What a transaction's page shows, from one read of its stored rows: the series, the range's figures and
    /// the latency distribution.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil` for the app's web transactions.
    ///   - range: The range.
    /// - Returns: The series, the figures and the histogram.
    public func transactionView(
        app: StoredApp,
        transaction: String?,
        range: TimeRange
    ) async throws -> (series: APISeries, summary: APIFigures, histogram: APILatencyHistogram) {
        try await seriesAndSummary(app: app, transaction: transaction, range: range)
    }

    /// The series, the range's figures and the latency distribution from one read of the stored slices.
    func seriesAndSummary(
        app: StoredApp,
        transaction: String?,
        range: TimeRange
    ) async throws -> (series: APISeries, summary: APIFigures, histogram: APILatencyHistogram) {
        let slices = try await slices(app: app, transaction: transaction, range: range)
        var byBucket: [Int64: [TransactionSlice]] = [:]
        for slice in slices {
            byBucket[slice.bucket - ((slice.bucket - range.from) % range.bucketSeconds), default: []].append(slice)
        }
        let t = t(app, transaction)
        let atOtherT = try await rowsAtOtherT(app: app, transaction: transaction, range: range)
        var otherTByBucket: [Int64: [ApdexRowAtOtherT]] = [:]
        for row in atOtherT {
            otherTByBucket[row.bucket - ((row.bucket - range.from) % range.bucketSeconds), default: []].append(row)
        }
        let points = stride(from: range.from, to: range.to, by: Int(range.bucketSeconds)).map { start in
            var point = APIFigures(merging: byBucket[start] ?? [], start: start, seconds: range.bucketSeconds, t: t)
            point.apdex.apply(reclassification(of: otherTByBucket[start] ?? [], app: app))
            return point
        }
        let deployments = try await store.deployments(appID: app.id, range: range.from..<range.to).map(
            APIDeployment.init
        )
        let incidents = try await store.alertIncidents(accountID: app.accountID, openOnly: false, limit: 1000).filter {
            $0.appID == app.id && $0.openedAt < range.to && ($0.resolvedAt ?? .max) > range.from
                && (transaction == nil || $0.transaction == nil || $0.transaction == transaction)
        }
        let conditions =
            incidents.isEmpty
            ? [:]
            : Dictionary(
                try await store.alertConditions(accountID: app.accountID).map { ($0.id, $0) },
                uniquingKeysWith: { first, _ in first }
            )
        let series = APISeries(
            from: range.from,
            to: range.to,
            bucketSeconds: range.bucketSeconds,
            resolution: range.resolution.rawValue,
            transaction: transaction,
            points: points,
            deployments: deployments,
            incidents: incidents.reversed().map { incident in
                let shown = APIAlertIncident(incident)
                return conditions[incident.conditionID].map { shown.withBreach(of: $0) } ?? shown
            }
        )
        var summary = APIFigures(merging: slices, start: range.from, seconds: range.to - range.from, t: t)
        summary.apdex.apply(reclassification(of: atOtherT, app: app))
        summary.latestMinute = try await latestMinute(app: app, transaction: transaction, range: range, read: slices)
        var histogram = LatencyHistogram()
        for slice in slices { histogram.merge(slice.histogram) }
        return (series, summary, APILatencyHistogram(histogram, transaction: transaction))
    }

    /// How to sort top transactions.
    public enum TransactionOrder: String, Sendable, CaseIterable {
        /// Total time consumed (count × average), the default.
        case time
        /// 95th percentile.
        case p95
        /// Requests per minute.
        case throughput
        /// Error rate.
        case errorRate = "error_rate"
        /// Apdex score, worst first.
        case apdex
    }

    /// Transactions over the range, sorted.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - range: The range.
    ///   - order: The sort order.
    ///   - limit: At most this many.
    /// - Returns: Rows.
    public func transactions(
        app: StoredApp,
        range: TimeRange,
        order: TransactionOrder = .time,
        limit: Int = 50
    ) async throws -> [APITransactionRow] {
        var byName: [String: [TransactionSlice]] = [:]
        var otherT: [String: [ApdexRowAtOtherT]] = [:]
        for (part, resolution) in Self.partsByResolution(range) {
            for row in try await store.apdexRowsAtOtherT(
                appID: app.id,
                transaction: nil,
                range: part,
                resolution: resolution,
                background: true
            ) {
                otherT[row.name, default: []].append(row)
            }
            for slice in try await store.transactionTotals(
                appID: app.id,
                range: part,
                resolution: resolution,
                withHistograms: true
            ) {
                byName[slice.name, default: []].append(slice)
            }
        }
        let allTime = byName.values.joined().reduce(0) { $0 + $1.total }
        let rows = byName.map { name, slices in
            let total = slices.reduce(0) { $0 + $1.total }
            var figures = APIFigures(
                merging: slices,
                start: range.from,
                seconds: range.to - range.from,
                t: t(app, name)
            )
            figures.apdex.apply(reclassification(of: otherT[name] ?? [], app: app))
            return APITransactionRow(
                name: name,
                kind: slices[0].kind.rawValue,
                figures: figures,
                timeConsumed: total,
                share: allTime > 0 ? total / allTime : 0
            )
        }
        let sorted: [APITransactionRow]
        switch order {
        case .time: sorted = rows.sorted { ($0.timeConsumed, $1.name) > ($1.timeConsumed, $0.name) }
        case .p95: sorted = rows.sorted { ($0.figures.p95 ?? 0, $1.name) > ($1.figures.p95 ?? 0, $0.name) }
        case .throughput: sorted = rows.sorted { ($0.figures.count, $1.name) > ($1.figures.count, $0.name) }
        case .errorRate:
            sorted = rows.sorted { ($0.figures.errorRate ?? 0, $1.name) > ($1.figures.errorRate ?? 0, $0.name) }
        case .apdex:
            sorted = rows.sorted { ($0.figures.apdex.score ?? 1, $0.name) < ($1.figures.apdex.score ?? 1, $1.name) }
        }
        return Array(sorted.prefix(limit))
    }

    /// Apdex for any T over a past range, from the stored histograms; exact at the T the data was classified with.
    ///
    /// Rows classified at the asked T at ingest contribute their exact counts. Other rows are classified from
    /// their histograms of successful transactions (failed ones stay frustrated): a duration in the histogram
    /// bucket that holds T (or 4T) cannot be placed on either side, so those transactions are reported as
    /// `uncertain` and bound the score between `score_min` and `score_max`.
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: One transaction, or `nil` for the app's web transactions.
    ///   - t: The T to evaluate (seconds).
    ///   - range: The range.
    /// - Returns: The answer with its resolution.
    public func whatIfApdex(
        app: StoredApp,
        transaction: String?,
        t: Double,
        range: TimeRange
    ) async throws -> APIWhatIfApdex {
        let configured = self.t(app, transaction)
        let rows = try await store.apdexSources(
            appID: app.id,
            transaction: transaction,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
        var best = ApdexCounts()
        var low = ApdexCounts()
        var high = ApdexCounts()
        var reclassification = ApdexReclassification()
        for row in rows {
            if abs(row.apdexT - t) < 1e-9 {
                best.add(row.apdex)
                low.add(row.apdex)
                high.add(row.apdex)
            } else {
                reclassification.add(row, at: t)
            }
        }
        best.add(reclassification.best)
        low.add(reclassification.low)
        high.add(reclassification.high)
        let uncertain = reclassification.uncertain
        let exact = reclassification.isEmpty
        let resolution =
            exact
            ? "exact: every transaction in the range was classified at T = \(t) s when it was recorded"
            : "from latency histograms (buckets of ±1 %): durations within about 2 % of T or 4T cannot be told apart; \(uncertain) transactions fall there, so the score lies between score_min and score_max"
        return APIWhatIfApdex(
            t: t,
            configuredT: configured,
            satisfied: best.satisfied,
            tolerating: best.tolerating,
            frustrated: best.frustrated,
            score: best.score,
            scoreMin: low.score,
            scoreMax: high.score,
            uncertain: uncertain,
            exact: exact,
            resolution: resolution
        )
    }
}
