/// The collector's answer to `GET /v1/agent/settings?app=NAME`: the app's Apdex T and per-transaction Ts, which
/// an agent asks for when it starts so that it classifies its first transactions at the collector's T.
public struct AgentSettingsReply: Codable, Sendable, Hashable {
    /// The app's name, as asked.
    public var app: String
    /// Whether the collector has seen the app (an app not seen yet has the default T).
    public var known: Bool
    /// The app's T in seconds.
    public var apdexT: Double
    /// Per-transaction Ts (seconds) by transaction name.
    public var transactionApdexT: [String: Double]

    /// Creates a reply.
    ///
    /// - Parameters:
    ///   - app: The app's name.
    ///   - known: Whether the collector has seen it.
    ///   - apdexT: The app's T.
    ///   - transactionApdexT: Per-transaction Ts.
    public init(app: String, known: Bool, apdexT: Double, transactionApdexT: [String: Double] = [:]) {
        self.app = app
        self.known = known
        self.apdexT = apdexT
        self.transactionApdexT = transactionApdexT
    }

    enum CodingKeys: String, CodingKey {
        case app, known
        case apdexT = "apdex_t"
        case transactionApdexT = "transaction_apdex_t"
    }
}

/// The collector's answer to an accepted batch.
public struct IngestReply: Codable, Sendable, Hashable {
    /// The id of the batch acknowledged.
    public var batchID: String
    /// `true` when the batch had been committed before and was not counted again.
    public var duplicate: Bool
    /// The app's Apdex T in seconds; the agent classifies with it from now on.
    public var apdexT: Double
    /// Per-transaction Apdex Ts (seconds) by transaction name.
    public var transactionApdexT: [String: Double]

    /// Creates a reply.
    ///
    /// - Parameters:
    ///   - batchID: The acknowledged batch id.
    ///   - duplicate: Whether the batch was a duplicate.
    ///   - apdexT: The app's T.
    ///   - transactionApdexT: Per-transaction Ts.
    public init(batchID: String, duplicate: Bool, apdexT: Double, transactionApdexT: [String: Double] = [:]) {
        self.batchID = batchID
        self.duplicate = duplicate
        self.apdexT = apdexT
        self.transactionApdexT = transactionApdexT
    }

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id"
        case duplicate
        case apdexT = "apdex_t"
        case transactionApdexT = "transaction_apdex_t"
    }
}
