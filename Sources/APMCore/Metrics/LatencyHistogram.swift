import Foundation

/// A mergeable latency histogram with logarithmic buckets and a bounded relative error.
///
/// Bucket `i` holds the values in `(minimumTrackable · γ^(i-1), minimumTrackable · γ^i]` with
/// `γ = (1 + α) / (1 - α)` and `α = 0.01`. Every value read back (a percentile, a bucket's
/// representative value) is within **1 %** of the true value it stands for. Values at or below 1 µs share
/// bucket 0; values above ~27.8 hours share the last bucket.
///
/// Memory is bounded: the counts are stored densely between the lowest and highest bucket in use, and there
/// are at most ``maximumBucketCount`` buckets (~10 KiB). A latency profile spanning 1 ms to 1 s uses ~350.
/// Two histograms merge exactly (bucket by bucket), so minute histograms roll up into hours without loss.
public struct LatencyHistogram: Sendable, Hashable {
    /// The relative error bound α of every value read back from the histogram.
    public static let relativeAccuracy: Double = 0.01
    /// The bucket growth factor γ = (1 + α) / (1 - α).
    public static let gamma: Double = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    /// The smallest value (seconds) told apart from zero: 1 µs.
    public static let minimumTrackable: Double = 1e-6
    /// The largest value (seconds) told apart from larger ones: 100,000 s.
    public static let maximumTrackable: Double = 1e5
    /// The number of buckets the histogram can ever use.
    public static let maximumBucketCount: Int =
        Int((log(maximumTrackable / minimumTrackable) / log(gamma)).rounded(.up)) + 1

    private static let logGamma = log(gamma)

    /// The index of the first entry of ``counts``.
    public internal(set) var firstIndex: Int
    /// Counts of buckets `firstIndex ..< firstIndex + counts.count`.
    public internal(set) var counts: [UInt64]
    /// The number of values recorded.
    public internal(set) var totalCount: UInt64

    /// Creates an empty histogram.
    public init() {
        self.firstIndex = 0
        self.counts = []
        self.totalCount = 0
    }

    /// Creates a histogram from its stored form (see ``firstIndex`` and ``counts``).
    ///
    /// - Parameters:
    ///   - firstIndex: The bucket index of `counts[0]`.
    ///   - counts: Dense bucket counts.
    /// - Throws: ``WireFormatError`` when the buckets fall outside the histogram's range.
    public init(firstIndex: Int, counts: [UInt64]) throws {
        guard firstIndex >= 0, firstIndex + counts.count <= Self.maximumBucketCount else {
            throw WireFormatError(
                .invalidValue,
                field: "histogram",
                message:
                    "buckets \(firstIndex)..<\(firstIndex + counts.count) fall outside 0..<\(Self.maximumBucketCount)"
            )
        }
        var total: UInt64 = 0
        for count in counts {
            let (sum, overflow) = total.addingReportingOverflow(count)
            guard !overflow else {
                throw WireFormatError(.invalidValue, field: "histogram", message: "bucket counts overflow")
            }
            total = sum
        }
        // Trim zero buckets at both ends so equal histograms compare equal.
        var trimmedFirst = firstIndex
        var slice = counts[...]
        while let first = slice.first, first == 0 {
            slice = slice.dropFirst()
            trimmedFirst += 1
        }
        while let last = slice.last, last == 0 { slice = slice.dropLast() }
        self.firstIndex = slice.isEmpty ? 0 : trimmedFirst
        self.counts = Array(slice)
        self.totalCount = total
    }

    /// The bucket index a duration in seconds falls into.
    ///
    /// - Parameter seconds: A duration in seconds; negative and NaN values count as zero.
    /// - Returns: The index in `0 ..< maximumBucketCount`.
    public static func bucketIndex(seconds: Double) -> Int {
        guard seconds > minimumTrackable else { return 0 }
        guard seconds < maximumTrackable else { return maximumBucketCount - 1 }
        let index = Int((log(seconds / minimumTrackable) / logGamma).rounded(.up))
        return min(max(index, 0), maximumBucketCount - 1)
    }

    /// The upper bound (seconds, inclusive) of a bucket.
    ///
    /// - Parameter index: A bucket index.
    /// - Returns: The largest value the bucket holds.
    public static func upperBound(ofBucket index: Int) -> Double {
        minimumTrackable * pow(gamma, Double(index))
    }

    /// The lower bound (seconds, exclusive) of a bucket.
    ///
    /// - Parameter index: A bucket index.
    /// - Returns: The value just below the bucket's first value; 0 for bucket 0.
    public static func lowerBound(ofBucket index: Int) -> Double {
        index == 0 ? 0 : minimumTrackable * pow(gamma, Double(index - 1))
    }

    /// The value that stands for every value of a bucket, within ``relativeAccuracy`` of each of them.
    ///
    /// - Parameter index: A bucket index.
    /// - Returns: The representative value in seconds.
    public static func representativeValue(ofBucket index: Int) -> Double {
        if index == 0 { return minimumTrackable / 2 }
        return 2 * upperBound(ofBucket: index) / (gamma + 1)
    }

    /// Whether the histogram holds no values.
    public var isEmpty: Bool { totalCount == 0 }

    /// Records one duration.
    ///
    /// - Parameters:
    ///   - seconds: The duration in seconds.
    ///   - count: How many times it occurred.
    public mutating func record(seconds: Double, count: UInt64 = 1) {
        self.add(count: count, toBucket: Self.bucketIndex(seconds: seconds))
    }

    /// Records one duration given in nanoseconds.
    ///
    /// - Parameter nanoseconds: The duration in nanoseconds.
    public mutating func record(nanoseconds: UInt64) {
        self.record(seconds: Double(nanoseconds) / 1e9)
    }

    private mutating func add(count: UInt64, toBucket index: Int) {
        guard count > 0 else { return }
        if counts.isEmpty {
            firstIndex = index
            counts = [count]
        } else if index < firstIndex {
            counts.insert(contentsOf: repeatElement(0, count: firstIndex - index), at: 0)
            firstIndex = index
            counts[0] = count
        } else if index >= firstIndex + counts.count {
            counts.append(contentsOf: repeatElement(0, count: index - firstIndex - counts.count + 1))
            counts[index - firstIndex] = count
        } else {
            counts[index - firstIndex] &+= count
        }
        totalCount &+= count
    }

    /// Adds every value of another histogram to this one. Merging is exact and commutative.
    ///
    /// - Parameter other: The histogram to add.
    public mutating func merge(_ other: LatencyHistogram) {
        guard !other.counts.isEmpty else { return }
        if counts.isEmpty {
            self = other
            return
        }
        let newFirst = min(firstIndex, other.firstIndex)
        let newEnd = max(firstIndex + counts.count, other.firstIndex + other.counts.count)
        if newFirst != firstIndex || newEnd != firstIndex + counts.count {
            var grown = [UInt64](repeating: 0, count: newEnd - newFirst)
            for (offset, count) in counts.enumerated() { grown[firstIndex - newFirst + offset] = count }
            counts = grown
            firstIndex = newFirst
        }
        for (offset, count) in other.counts.enumerated() {
            counts[other.firstIndex - firstIndex + offset] &+= count
        }
        totalCount &+= other.totalCount
    }

    /// The value at a quantile, within ``relativeAccuracy`` of the true order statistic.
    ///
    /// Uses the nearest-rank definition: the smallest recorded value such that at least `quantile · count`
    /// values are at or below it.
    /// - Parameter quantile: A fraction in `0...1` (0.95 for p95).
    /// - Returns: The value in seconds, or `nil` when the histogram is empty.
    public func value(atQuantile quantile: Double) -> Double? {
        guard totalCount > 0 else { return nil }
        let q = min(max(quantile, 0), 1)
        let rank = max(1, UInt64((q * Double(totalCount)).rounded(.up)))
        var cumulative: UInt64 = 0
        for (offset, count) in counts.enumerated() {
            cumulative += count
            if cumulative >= rank { return Self.representativeValue(ofBucket: firstIndex + offset) }
        }
        return Self.representativeValue(ofBucket: firstIndex + counts.count - 1)
    }

    /// How many recorded values are at or below a threshold, with the uncertainty of the bucket it falls in.
    ///
    /// Values in the bucket that contains `threshold` cannot be told apart from it; they are returned as
    /// `uncertain`. Every value counted in `atMost` is ≤ `threshold`; every value in `uncertain` lies between
    /// `threshold / γ` and `threshold · γ` (γ ≈ 1.0202, so within about 2 % of it).
    /// - Parameter threshold: A duration in seconds.
    /// - Returns: The sure count and the uncertain count.
    public func count(atMost threshold: Double) -> (atMost: UInt64, uncertain: UInt64) {
        guard !counts.isEmpty else { return (0, 0) }
        let thresholdIndex = Self.bucketIndex(seconds: threshold)
        var sure: UInt64 = 0
        var uncertain: UInt64 = 0
        for (offset, count) in counts.enumerated() {
            let index = firstIndex + offset
            if index < thresholdIndex {
                sure += count
            } else if index == thresholdIndex {
                // The bucket's upper bound equals the threshold only if threshold sits on an edge.
                if Self.upperBound(ofBucket: index) <= threshold { sure += count } else { uncertain += count }
            } else {
                break
            }
        }
        return (sure, uncertain)
    }
}

extension LatencyHistogram {
    /// This histogram without the values of another one that is a subset of it (bucket-wise subtraction,
    /// floored at zero): all durations minus the failed ones gives the successful ones.
    ///
    /// - Parameter subset: A histogram whose values were also recorded in this one.
    /// - Returns: The difference.
    public func subtracting(_ subset: LatencyHistogram) -> LatencyHistogram {
        guard !subset.counts.isEmpty, !counts.isEmpty else { return self }
        var result = counts
        for (offset, count) in subset.counts.enumerated() {
            let index = subset.firstIndex + offset - firstIndex
            guard index >= 0 && index < result.count else { continue }
            result[index] = result[index] >= count ? result[index] - count : 0
        }
        return (try? LatencyHistogram(firstIndex: firstIndex, counts: result)) ?? self
    }
}
