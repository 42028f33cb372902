/// An application: appears on its first report.
public struct StoredApp: Sendable, Hashable {
    /// The app's id.
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// The app's name (`app_name` of its agents).
    public var name: String
    /// The app's Apdex T in seconds.
    public var apdexT: Double
    /// Per-transaction Apdex Ts in seconds.
    public var transactionApdexT: [String: Double]
    /// First report (Unix seconds).
    public var createdAt: Double
    /// Last report (Unix seconds).
    public var lastSeenAt: Double
    /// The agent's language.
    public var language: String
    /// The agent's version.
    public var agentVersion: String

    /// Creates an app value.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - name: The name.
    ///   - apdexT: The T.
    ///   - transactionApdexT: Per-transaction Ts.
    ///   - createdAt: First report.
    ///   - lastSeenAt: Last report.
    ///   - language: The agent's language.
    ///   - agentVersion: The agent's version.
    public init(
        id: Int64,
        accountID: Int64,
        name: String,
        apdexT: Double,
        transactionApdexT: [String: Double],
        createdAt: Double,
        lastSeenAt: Double,
        language: String,
        agentVersion: String
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.apdexT = apdexT
        self.transactionApdexT = transactionApdexT
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.language = language
        self.agentVersion = agentVersion
    }
}

/// A deployment marker.
public struct Deployment: Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// The app.
    public var appID: Int64
    /// When (Unix seconds).
    public var at: Double
    /// The revision deployed.
    public var revision: String
    /// A description.
    public var description: String
    /// Who recorded it.
    public var user: String

    /// Creates a deployment.
    ///
    /// - Parameters:
    ///   - id: Id.
    ///   - appID: App.
    ///   - at: Time.
    ///   - revision: Revision.
    ///   - description: Description.
    ///   - user: User.
    public init(id: Int64, appID: Int64, at: Double, revision: String, description: String, user: String) {
        self.id = id
        self.appID = appID
        self.at = at
        self.revision = revision
        self.description = description
        self.user = user
    }
}

/// Names that went to the overflow bucket.
public struct NameOverflow: Sendable, Hashable {
    /// Transactions or segments recorded under `(overflow)`.
    public var transactionCount: UInt64
    /// Segments recorded under `(overflow)`.
    public var segmentCount: UInt64
    /// Up to 20 example names that overflowed.
    public var examples: [String]

    /// Creates a value.
    ///
    /// - Parameters:
    ///   - transactionCount: Overflowed transactions.
    ///   - segmentCount: Overflowed segments.
    ///   - examples: Examples.
    public init(transactionCount: UInt64, segmentCount: UInt64, examples: [String]) {
        self.transactionCount = transactionCount
        self.segmentCount = segmentCount
        self.examples = examples
    }
}
