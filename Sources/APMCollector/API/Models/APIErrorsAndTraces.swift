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
    /// Distinct users it happened to (from `enduser.id`, `user.id` or `usr.id`), counted up to 1,000.
    public var usersAffected: Int?

    enum CodingKeys: String, CodingKey {
        case id, type, message, transaction, count
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case sample, sparkline, status
        case usersAffected = "users_affected"
    }
}

/// One issue in detail: the page behind a notification's link, `GET /api/v1/apps/{id}/issues/{issue}`.
public struct APIIssueDetail: Codable, Sendable, Hashable {
    /// The issue, with its count and sparkline over the range.
    public var issue: APIErrorGroup
    /// Occurrences ever counted (while retention keeps them).
    public var totalCount: UInt64
    /// The range's start and the seconds per sparkline bucket, to place the occurrences over time.
    public var from: Int64
    /// Seconds per bucket of `issue.sparkline`.
    public var bucketSeconds: Int64
    /// The deployment in effect at the first occurrence (the latest recorded before it), if any.
    public var firstSeenDeployment: APIDeployment?
    /// The deployment in effect at the latest occurrence, if any.
    public var lastSeenDeployment: APIDeployment?
    /// Occurrences by transaction, most first (all time).
    public var transactions: [APIFacetCount]
    /// Occurrences by host, most first (all time).
    public var hosts: [APIFacetCount]
    /// Occurrences in the range by the deployment in effect, newest first (`revision` empty before the first).
    public var deployments: [APIDeploymentCount]
    /// The latest occurrences, newest first, each with its stack and request, scrubbed of secrets.
    public var samples: [APIIssueSample]

    enum CodingKeys: String, CodingKey {
        case issue
        case totalCount = "total_count"
        case from
        case bucketSeconds = "bucket_seconds"
        case firstSeenDeployment = "first_seen_deployment"
        case lastSeenDeployment = "last_seen_deployment"
        case transactions, hosts, deployments, samples
    }
}

/// Occurrences with one value of a facet.
public struct APIFacetCount: Codable, Sendable, Hashable {
    /// The transaction or host (`(overflow)` for those past the cap).
    public var value: String
    /// Occurrences.
    public var count: UInt64
    /// The latest (Unix seconds).
    public var lastSeen: Double

    enum CodingKeys: String, CodingKey {
        case value, count
        case lastSeen = "last_seen"
    }
}

/// Occurrences while one deployment was in effect.
public struct APIDeploymentCount: Codable, Sendable, Hashable {
    /// The deployment's revision, empty for the time before the first deployment.
    public var revision: String
    /// When it was deployed (Unix seconds), `nil` for the time before the first.
    public var at: Double?
    /// Occurrences in the range while it was the latest.
    public var count: UInt64
}

/// One occurrence kept whole.
public struct APIIssueSample: Codable, Sendable, Hashable {
    /// When (Unix seconds).
    public var at: Double
    /// The host that reported it.
    public var host: String
    /// The occurrence: type, message, stack (symbolicated frames), status, trace id, attributes.
    public var sample: ErrorSample
    /// The stored trace of its request, when one was kept (`/apps/{id}/traces/{trace}`).
    public var traceRowID: Int64?
    /// The log lines of its trace (logs in context), oldest first; empty when it has no trace id or none were
    /// logged.
    public var logs: [APILogRecord] = []

    enum CodingKeys: String, CodingKey {
        case at, host, sample
        case traceRowID = "trace"
        case logs
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
    /// Ignored until the issue's total count exceeds this.
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
