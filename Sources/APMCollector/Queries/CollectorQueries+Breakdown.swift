public import APMCore
public import APMStorage
import Foundation

extension CollectorQueries {
    /// Where a transaction's time went over the range: each segment's own time, share, calls per request and
    /// call times, and the transaction's own code as `application` (its time less its segments'), most time first.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - transaction: The transaction.
    ///   - range: The range.
    /// - Returns: The breakdown.
    public func breakdown(
        app: StoredApp,
        transaction: String,
        range: TimeRange
    ) async throws
        -> APITransactionBreakdown
    {
        let slices = try await slices(app: app, transaction: transaction, range: range)
        let count = slices.reduce(UInt64(0)) { $0 &+ $1.count }
        let totalTime = slices.reduce(0.0) { $0 + $1.total }
        let segments = try await store.segmentTotals(
            appID: app.id,
            transaction: transaction,
            category: nil,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
        func share(_ time: Double) -> Double { totalTime > 0 ? time / totalTime : 0 }
        func perRequest(_ calls: UInt64) -> Double { count > 0 ? Double(calls) / Double(count) : 0 }
        var rows = segments.map { segment in
            APIBreakdownRow(
                name: segment.name,
                category: segment.category.shownName,
                target: segment.category == .external ? segment.operation : segment.target,
                calls: segment.count,
                callsPerTransaction: perRequest(segment.count),
                average: segment.count > 0 ? segment.total / Double(segment.count) : 0,
                p95: segment.callDuration(atQuantile: 0.95),
                max: segment.max,
                time: segment.exclusive,
                share: share(segment.exclusive)
            )
        }
        let own = max(0, totalTime - segments.reduce(0.0) { $0 + $1.exclusive })
        let maxima = slices.map(\.max)
        rows.append(
            APIBreakdownRow(
                name: "application",
                category: "application",
                target: "",
                calls: count,
                callsPerTransaction: count > 0 ? 1 : 0,
                average: count > 0 ? own / Double(count) : 0,
                p95: nil,
                max: maxima.max() ?? 0,
                time: own,
                share: share(own)
            )
        )
        rows.sort { ($0.time, $1.name) > ($1.time, $0.name) }
        return APITransactionBreakdown(transaction: transaction, count: count, totalTime: totalTime, rows: rows)
    }

    /// Who calls each database operation (or external host) and with what part of its time: time by caller.
    ///
    /// - Parameters:
    ///   - app: The app.
    ///   - category: `.datastore` (by segment name) or `.external` (by host).
    ///   - range: The range.
    /// - Returns: Callers, by operation or host, each operation's most expensive caller first.
    public func callers(
        app: StoredApp,
        category: SegmentCategory,
        range: TimeRange
    ) async throws
        -> [APISegmentCaller]
    {
        let slices = try await store.segmentCallers(
            appID: app.id,
            category: category,
            range: range.from..<range.to,
            resolution: resolution(range)
        )
        // Requests per transaction, for calls per request.
        var requests: [String: UInt64] = [:]
        for row in try await transactions(app: app, range: range, limit: 100_000) {
            requests[row.name, default: 0] &+= row.figures.count
        }
        var grouped: [String: [String: (calls: UInt64, time: Double)]] = [:]
        for slice in slices {
            let key = category == .external ? slice.operation : slice.name
            let entry = grouped[key, default: [:]][slice.transaction] ?? (0, 0)
            grouped[key, default: [:]][slice.transaction] = (entry.calls &+ slice.count, entry.time + slice.total)
        }
        var result: [APISegmentCaller] = []
        for (name, byTransaction) in grouped {
            let total = byTransaction.values.reduce(0.0) { $0 + $1.time }
            for (transaction, entry) in byTransaction {
                let count = requests[transaction] ?? 0
                result.append(
                    APISegmentCaller(
                        name: name,
                        transaction: transaction,
                        calls: entry.calls,
                        time: entry.time,
                        share: total > 0 ? entry.time / total : 0,
                        callsPerTransaction: count > 0 ? Double(entry.calls) / Double(count) : 0
                    )
                )
            }
        }
        return result.sorted { ($0.name, $1.time, $0.transaction) < ($1.name, $0.time, $1.transaction) }
    }
}
