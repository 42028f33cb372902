/// A query's time range and the bucket size and stored resolution chosen for it.
public struct TimeRange: Sendable, Hashable {
    /// Start (Unix seconds, aligned to `bucketSeconds`).
    public var from: Int64
    /// End (exclusive, aligned to `bucketSeconds`).
    public var to: Int64
    /// Bucket length in seconds.
    public var bucketSeconds: Int64
    /// Which stored rows answer it.
    public var resolution: SliceResolutionChoice

    /// Minute or hour rows.
    public enum SliceResolutionChoice: String, Sendable, Hashable {
        /// Minute rows.
        case minute
        /// Hour rows.
        case hour
    }

    /// Bucket sizes offered, smallest first.
    static let bucketChoices: [Int64] = [60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400]

    /// Chooses a bucket size giving at most `maxPoints` buckets, and minute rows when the range is recent
    /// enough to still have them and the buckets are shorter than an hour.
    ///
    /// - Parameters:
    ///   - from: Start (Unix seconds).
    ///   - to: End (Unix seconds).
    ///   - now: The current time.
    ///   - minuteRetention: How far back minute rows are kept (seconds).
    ///   - maxPoints: The most buckets wanted.
    public init(from: Int64, to: Int64, now: Int64, minuteRetention: Int64, maxPoints: Int64 = 120) {
        let span = max(60, to - from)
        var bucket = Self.bucketChoices.first { span / $0 <= maxPoints } ?? 86_400
        let minutesAvailable = from >= now - minuteRetention
        if bucket < 3600 && !minutesAvailable { bucket = 3600 }
        self.bucketSeconds = bucket
        self.resolution = bucket < 3600 || (minutesAvailable && bucket % 3600 != 0) ? .minute : .hour
        self.from = from - ((from % bucket) + bucket) % bucket
        let end = to - ((to % bucket) + bucket) % bucket
        self.to = end < to ? end + bucket : end
    }

    /// Parses `30m`, `1h`, `24h`, `7d`, `90s` into seconds.
    ///
    /// - Parameter text: The duration.
    /// - Returns: Seconds, or `nil` when malformed or out of 1 minute ... 400 days.
    public static func seconds(parsing text: String) -> Int64? {
        guard let unit = text.last, let value = Int64(text.dropLast()), value > 0 else { return nil }
        let multiplier: Int64
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3600
        case "d": multiplier = 86_400
        default: return nil
        }
        let (seconds, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, seconds >= 60, seconds <= 400 * 86_400 else { return nil }
        return seconds
    }
}
