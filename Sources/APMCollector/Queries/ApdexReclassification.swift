import APMCore
import APMStorage

/// Apdex counts of stored rows that were classified at another T than the one asked for (or now in force),
/// classified again from the rows' histograms of successful transactions (failed ones stay frustrated). A
/// duration in the histogram bucket that holds T (or 4T) cannot be placed on either side: those transactions
/// are `uncertain`, and the score is bounded by placing them all on the worse side, then all on the better.
struct ApdexReclassification: Sendable {
    /// What the rows said, at their own T.
    var stored = ApdexCounts()
    /// Best estimate: uncertain ones split evenly around each threshold.
    var best = ApdexCounts()
    /// Uncertain ones all on the worse side.
    var low = ApdexCounts()
    /// Uncertain ones all on the better side.
    var high = ApdexCounts()
    /// Transactions classified again.
    var transactions: UInt64 = 0
    /// Transactions whose duration lies too close to T or 4T to tell.
    var uncertain: UInt64 = 0

    var isEmpty: Bool { transactions == 0 }

    /// Classifies one row again at `t`.
    mutating func add(_ row: ApdexSourceRow, at t: Double) {
        stored.add(row.apdex)
        transactions += row.count
        let successful = row.histogram.subtracting(row.errorHistogram)
        let satisfied = successful.count(atMost: t)
        let withinFour = successful.count(atMost: ApdexThreshold.frustratedAbove(seconds: t))
        let okCount = row.count - min(row.errors, row.count)
        let sBest = satisfied.atMost + satisfied.uncertain / 2
        let stBest = max(sBest, withinFour.atMost + withinFour.uncertain / 2)
        best.add(ApdexCounts(satisfied: sBest, tolerating: stBest - sBest, frustrated: row.count - stBest))
        let sLow = satisfied.atMost
        let stLow = max(sLow, withinFour.atMost)
        low.add(ApdexCounts(satisfied: sLow, tolerating: stLow - sLow, frustrated: row.count - stLow))
        let sHigh = min(okCount, satisfied.atMost + satisfied.uncertain)
        let stHigh = min(okCount, max(sHigh, withinFour.atMost + withinFour.uncertain))
        high.add(ApdexCounts(satisfied: sHigh, tolerating: stHigh - sHigh, frustrated: row.count - stHigh))
        uncertain += satisfied.uncertain + withinFour.uncertain
    }
}

extension APIApdex {
    /// Replaces the counts of rows classified at another T by their classification at this one, and says so:
    /// `exact` false, the score's bounds, how many transactions were classified again.
    mutating func apply(_ reclassification: ApdexReclassification) {
        guard !reclassification.isEmpty else { return }
        func minus(_ value: UInt64, _ other: UInt64) -> UInt64 { value > other ? value - other : 0 }
        var base = ApdexCounts(
            satisfied: minus(satisfied, reclassification.stored.satisfied),
            tolerating: minus(tolerating, reclassification.stored.tolerating),
            frustrated: minus(frustrated, reclassification.stored.frustrated)
        )
        var low = base
        var high = base
        low.add(reclassification.low)
        high.add(reclassification.high)
        base.add(reclassification.best)
        satisfied = base.satisfied
        tolerating = base.tolerating
        frustrated = base.frustrated
        score = base.score
        scoreMin = low.score
        scoreMax = high.score
        exact = false
        reclassified += reclassification.transactions
    }
}
