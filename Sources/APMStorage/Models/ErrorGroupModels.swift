public import APMCore

/// Errors grouped by fingerprint (type, normalised message, top frame).
public struct ErrorGroup: Sendable, Hashable {
    /// The group's id.
    public var id: Int64
    /// The fingerprint.
    public var fingerprint: String
    /// The error type.
    public var type: String
    /// The normalised message.
    public var message: String
    /// The top stack frame.
    public var topFrame: String
    /// The transaction of the latest sample.
    public var transaction: String
    /// Samples received in the queried range (all time for ``firstSeen``/``lastSeen``).
    public var count: UInt64
    /// First occurrence (Unix seconds).
    public var firstSeen: Double
    /// Last occurrence (Unix seconds).
    public var lastSeen: Double
    /// The latest sample.
    public var sample: ErrorSample
    /// Its state as an issue: unresolved, resolved, ignored, regressed.
    public var status = ErrorGroupStatus()
    /// Distinct users it happened to (from `enduser.id`, `user.id` or `usr.id`), counted up to 1,000.
    public var usersAffected = 0

    /// Creates a group.
    ///
    /// - Parameters:
    ///   - id: Id.
    ///   - fingerprint: Fingerprint.
    ///   - type: Type.
    ///   - message: Normalised message.
    ///   - topFrame: Top frame.
    ///   - transaction: Transaction.
    ///   - count: Count.
    ///   - firstSeen: First seen.
    ///   - lastSeen: Last seen.
    ///   - sample: Latest sample.
    public init(
        id: Int64,
        fingerprint: String,
        type: String,
        message: String,
        topFrame: String,
        transaction: String,
        count: UInt64,
        firstSeen: Double,
        lastSeen: Double,
        sample: ErrorSample
    ) {
        self.id = id
        self.fingerprint = fingerprint
        self.type = type
        self.message = message
        self.topFrame = topFrame
        self.transaction = transaction
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.sample = sample
    }
}

/// The state of an error group as an issue.
public enum ErrorGroupState: String, Sendable, Hashable, Codable, CaseIterable {
    /// New, or seen again after being ignored past its limit.
    case unresolved
    /// Fixed: seen again after the change, it regresses.
    case resolved
    /// Fixed in the next deployment: seen again after a deployment recorded later than the change, it regresses
    /// (occurrences before that deployment are the old code's).
    case resolvedInNextDeployment = "resolved_next_deployment"
    /// Not to be shown as a problem: forever, or until more occurrences or a date (then unresolved again).
    case ignored
    /// Resolved, and seen again.
    case regressed
}

/// An error group's state, who changed it and when, and what ends an ignore.
public struct ErrorGroupStatus: Sendable, Hashable {
    /// The state.
    public var state: ErrorGroupState
    /// When it changed (Unix seconds), 0 for a group never changed.
    public var changedAt: Double
    /// Who changed it: a user's or token's name, or `apm` for a change made by the collector (a regression).
    public var changedBy: String
    /// Ignored: unresolved again once the group's total count exceeds this.
    public var ignoreUntilCount: UInt64?
    /// Ignored: unresolved again once it occurs after this time (Unix seconds).
    public var ignoreUntil: Double?
    /// When it last regressed.
    public var regressedAt: Double?

    /// Creates a status.
    ///
    /// - Parameters:
    ///   - state: The state.
    ///   - changedAt: When it changed.
    ///   - changedBy: Who changed it.
    ///   - ignoreUntilCount: The count past which an ignored group reopens.
    ///   - ignoreUntil: The time after which an ignored group reopens.
    ///   - regressedAt: When it last regressed.
    public init(
        state: ErrorGroupState = .unresolved,
        changedAt: Double = 0,
        changedBy: String = "",
        ignoreUntilCount: UInt64? = nil,
        ignoreUntil: Double? = nil,
        regressedAt: Double? = nil
    ) {
        self.state = state
        self.changedAt = changedAt
        self.changedBy = changedBy
        self.ignoreUntilCount = ignoreUntilCount
        self.ignoreUntil = ignoreUntil
        self.regressedAt = regressedAt
    }
}

/// How a list of error groups is sorted.
public enum ErrorGroupOrder: String, Sendable, Hashable, CaseIterable {
    /// Most occurrences in the range first.
    case count
    /// Most recently seen first.
    case lastSeen = "last_seen"
    /// Newest first.
    case firstSeen = "first_seen"
    /// Most users affected first.
    case users
}

extension ErrorGroupOrder {
    /// The ORDER BY of the error group queries (`g` the group, `range_count` its count in the range) on both
    /// backends: fixed text per case, so nothing from a request reaches the SQL.
    package var orderBy: String {
        switch self {
        case .count: "range_count DESC, g.last_seen DESC, g.id"
        case .lastSeen: "g.last_seen DESC, range_count DESC, g.id"
        case .firstSeen: "g.first_seen DESC, range_count DESC, g.id"
        case .users: "users_affected DESC, range_count DESC, g.id"
        }
    }
}

/// Which issues a list holds, besides having occurred in the range.
public struct ErrorGroupFilter: Sendable, Hashable {
    /// Only issues in these states; `nil` for all.
    public var states: Set<ErrorGroupState>?
    /// Only issues that occurred in this transaction (at any time the counts by transaction hold).
    public var transaction: String?
    /// Only issues first seen in this range (Unix seconds).
    public var firstSeen: Range<Double>?

    /// Creates a filter; the default lets every issue through.
    ///
    /// - Parameters:
    ///   - states: The states.
    ///   - transaction: The transaction.
    ///   - firstSeen: The range of the first occurrence.
    public init(states: Set<ErrorGroupState>? = nil, transaction: String? = nil, firstSeen: Range<Double>? = nil) {
        self.states = states
        self.transaction = transaction
        self.firstSeen = firstSeen
    }
}

/// What an issue's occurrences are counted by.
public enum ErrorFacetKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// The transaction it occurred in.
    case transaction
    /// The host of the agent or exporter that reported it.
    case host
    /// The user it happened to (`enduser.id`, `user.id`, `usr.id`).
    case user
}

/// Occurrences of an issue with one value of a facet.
public struct ErrorFacetCount: Sendable, Hashable {
    /// The value (`(other)` for the values past the facet's cap).
    public var value: String
    /// Occurrences.
    public var count: UInt64
    /// The latest (Unix seconds).
    public var lastSeen: Double

    /// Creates a count.
    ///
    /// - Parameters:
    ///   - value: The value.
    ///   - count: Occurrences.
    ///   - lastSeen: The latest.
    public init(value: String, count: UInt64, lastSeen: Double) {
        self.value = value
        self.count = count
        self.lastSeen = lastSeen
    }
}

/// One occurrence of an issue as stored whole: the latest few per issue are kept.
public struct StoredErrorSample: Sendable, Hashable {
    /// The row id.
    public var id: Int64
    /// When it occurred (Unix seconds).
    public var at: Double
    /// The host that reported it.
    public var host: String
    /// The occurrence.
    public var sample: ErrorSample

    /// Creates a sample.
    ///
    /// - Parameters:
    ///   - id: The row id.
    ///   - at: When.
    ///   - host: The host.
    ///   - sample: The occurrence.
    public init(id: Int64, at: Double, host: String, sample: ErrorSample) {
        self.id = id
        self.at = at
        self.host = host
        self.sample = sample
    }
}

/// A change of an error group's state asked for by a user.
public enum ErrorGroupStateChange: Sendable, Hashable {
    /// Resolved now.
    case resolve
    /// Resolved in the next deployment.
    case resolveInNextDeployment
    /// Ignored: forever (both `nil`), or until `moreOccurrences` more, or until a time, whichever comes first.
    case ignore(moreOccurrences: UInt64?, until: Double?)
    /// Unresolved again.
    case reopen

    /// An ignore's limits as stored (more occurrences, clamped to a stored integer; the time); `nil` otherwise.
    package var ignoreLimits: (moreOccurrences: Int64?, until: Double?) {
        guard case .ignore(let more, let until) = self else { return (nil, nil) }
        return (more.map { Int64(clamping: $0) }, until)
    }

    /// The state it sets.
    public var state: ErrorGroupState {
        switch self {
        case .resolve: .resolved
        case .resolveInNextDeployment: .resolvedInNextDeployment
        case .ignore: .ignored
        case .reopen: .unresolved
        }
    }
}
