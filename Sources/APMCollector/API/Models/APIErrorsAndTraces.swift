public import APMCore
import APMStorage

/// An error group.
public struct APIErrorGroup: Codable, Sendable, Hashable {
    /// Id.
    public var id: Int64
    /// Error type.
    public var type: String
    /// Normalised message.
    public var message: String
    /// Transaction of the latest sample.
    public var transaction: String
    /// Samples in the range.
    public var count: UInt64
    /// First occurrence (Unix seconds).
    public var firstSeen: Double
    /// Last occurrence (Unix seconds).
    public var lastSeen: Double
    /// The latest sample.
    public var sample: ErrorSample
    /// Samples per bucket.
    public var sparkline: [UInt64]

    enum CodingKeys: String, CodingKey {
        case id, type, message, transaction, count
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case sample, sparkline
    }
}

/// A trace in a list.
public struct APITraceSummary: Codable, Sendable, Hashable {
    /// Row id (for `/traces/{id}`).
    public var id: Int64
    /// W3C trace id.
    public var traceID: String
    /// Transaction.
    public var transaction: String
    /// Start (Unix seconds).
    public var start: Double
    /// Duration (seconds).
    public var duration: Double
    /// HTTP status.
    public var status: Int
    /// Whether it failed.
    public var error: Bool

    enum CodingKeys: String, CodingKey {
        case id
        case traceID = "trace_id"
        case transaction, start, duration, status, error
    }
}
