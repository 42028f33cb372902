import APMCore
import APMStorage

/// One transaction in a top list.
public struct APITransactionRow: Codable, Sendable, Hashable {
    /// The name.
    public var name: String
    /// `web` or `background`.
    public var kind: String
    /// Figures over the range.
    public var figures: APIFigures
    /// Total time consumed (seconds): count × average.
    public var timeConsumed: Double
    /// Share of the app's time consumed (0...1).
    public var share: Double

    enum CodingKeys: String, CodingKey {
        case name, kind, figures
        case timeConsumed = "time_consumed"
        case share
    }
}

/// Apdex for any T over a past range.
public struct APIWhatIfApdex: Codable, Sendable, Hashable {
    /// The T asked for (seconds).
    public var t: Double
    /// The app's (or transaction's) configured T.
    public var configuredT: Double
    /// Satisfied, best estimate.
    public var satisfied: UInt64
    /// Tolerating, best estimate.
    public var tolerating: UInt64
    /// Frustrated, best estimate.
    public var frustrated: UInt64
    /// The score from the best estimate.
    public var score: Double?
    /// The lowest score consistent with the histograms.
    public var scoreMin: Double?
    /// The highest score consistent with the histograms.
    public var scoreMax: Double?
    /// Transactions whose durations are too close to T or 4T to classify from histograms.
    public var uncertain: UInt64
    /// Whether the answer is exact (every row was classified at this T at ingest).
    public var exact: Bool
    /// How precise the answer is.
    public var resolution: String

    enum CodingKeys: String, CodingKey {
        case t
        case configuredT = "configured_t"
        case satisfied, tolerating, frustrated, score
        case scoreMin = "score_min"
        case scoreMax = "score_max"
        case uncertain, exact, resolution
    }
}
