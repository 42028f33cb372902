public import APMCore
public import APMStorage

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
    /// Its state as an issue, who changed it and when, and what ends an ignore.
    public var status: APIIssueStatus = APIIssueStatus(ErrorGroupStatus())

    enum CodingKeys: String, CodingKey {
        case id, type, message, transaction, count
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case sample, sparkline, status
    }
}

/// An issue's state (`unresolved`, `resolved`, `resolved_next_deployment`, `ignored`, `regressed`).
public struct APIIssueStatus: Codable, Sendable, Hashable {
    /// The state.
    public var state: String
    /// When it last changed (Unix seconds); absent when never.
    public var changedAt: Double?
    /// Who changed it (a user, a token, or `apm` for a regression or the end of an ignore).
    public var changedBy: String?
    /// Ignored until the total count exceeds this.
    public var ignoreUntilCount: UInt64?
    /// Ignored until it occurs after this time.
    public var ignoreUntil: Double?
    /// When it last regressed.
    public var regressedAt: Double?

    /// The API's form of a stored status.
    ///
    /// - Parameter status: The stored status.
    public init(_ status: ErrorGroupStatus) {
        state = status.state.rawValue
        changedAt = status.changedAt > 0 ? status.changedAt : nil
        changedBy = status.changedBy.isEmpty ? nil : status.changedBy
        ignoreUntilCount = status.ignoreUntilCount
        ignoreUntil = status.ignoreUntil
        regressedAt = status.regressedAt
    }

    enum CodingKeys: String, CodingKey {
        case state
        case changedAt = "changed_at"
        case changedBy = "changed_by"
        case ignoreUntilCount = "ignore_until_count"
        case ignoreUntil = "ignore_until"
        case regressedAt = "regressed_at"
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
