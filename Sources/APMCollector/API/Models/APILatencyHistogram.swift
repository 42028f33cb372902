public import APMCore
import Foundation

/// The latency distribution of an app's web transactions or of one transaction over a range (the histogram on
/// the transaction page), in the 1 % logarithmic buckets the collector stores.
public struct APILatencyHistogram: Codable, Sendable, Hashable {
    /// One bucket: the durations in `(lower, upper]` seconds.
    public struct Bucket: Codable, Sendable, Hashable {
        /// The bucket's index on the logarithmic scale: its upper bound is 1 µs × γ^index, γ = 1.01 / 0.99.
        public var index: Int
        /// Lower bound in seconds (exclusive).
        public var lower: Double
        /// Upper bound in seconds (inclusive).
        public var upper: Double
        /// Transactions in the bucket.
        public var count: UInt64
    }

    /// The transaction, or `nil` for the app's web transactions.
    public var transaction: String?
    /// Transactions in all.
    public var count: UInt64
    /// The buckets that hold transactions, shortest durations first.
    public var buckets: [Bucket]

    /// The histogram's non-empty buckets.
    ///
    /// - Parameters:
    ///   - histogram: A merged histogram.
    ///   - transaction: The transaction it is of, or `nil`.
    public init(_ histogram: LatencyHistogram, transaction: String?) {
        self.transaction = transaction
        self.count = histogram.totalCount
        self.buckets = histogram.counts.enumerated().compactMap { offset, count in
            guard count > 0 else { return nil }
            let index = histogram.firstIndex + offset
            return Bucket(
                index: index,
                lower: LatencyHistogram.lowerBound(ofBucket: index),
                upper: LatencyHistogram.upperBound(ofBucket: index),
                count: count
            )
        }
    }

    /// The histogram again, for drawing.
    public var histogram: LatencyHistogram {
        guard let first = buckets.first?.index, let last = buckets.last?.index else { return LatencyHistogram() }
        var counts = [UInt64](repeating: 0, count: last - first + 1)
        for bucket in buckets { counts[bucket.index - first] = bucket.count }
        return (try? LatencyHistogram(firstIndex: first, counts: counts)) ?? LatencyHistogram()
    }
}
