import APMCore
import APMStorage

/// One app in the apps list.
public struct APIAppSummary: Codable, Sendable, Hashable {
    /// The app's id.
    public var id: Int64
    /// The app's name.
    public var name: String
    /// The agent's language.
    public var language: String
    /// Last report (Unix seconds).
    public var lastSeenAt: Double
    /// Figures over the range (web transactions).
    public var summary: APIFigures
    /// Requests per minute per bucket, for a sparkline.
    public var sparkline: [Double]
    /// Warnings: names overflowing the cap, data dropped by agents, agent offline.
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case id, name, language
        case lastSeenAt = "last_seen_at"
        case summary, sparkline, warnings
    }
}

/// `GET /api/v1/apps`: one page of apps, by name.
public struct APIAppList: Codable, Sendable {
    /// The apps of this page.
    public var apps: [APIAppSummary]
    /// Apps in the account, in all.
    public var total: Int
    /// Apps skipped before this page.
    public var offset: Int
    /// The page's size.
    public var limit: Int

    /// Creates a page.
    ///
    /// - Parameters:
    ///   - apps: The page's apps.
    ///   - total: Apps in all.
    ///   - offset: Apps skipped.
    ///   - limit: The page's size.
    public init(apps: [APIAppSummary], total: Int, offset: Int, limit: Int) {
        self.apps = apps
        self.total = total
        self.offset = offset
        self.limit = limit
    }
}

/// The app overview: everything the dashboard's overview page shows.
public struct APIOverview: Codable, Sendable, Hashable {
    /// The app.
    public var app: APIAppSummary
    /// Web transaction series.
    public var series: APISeries
    /// Top transactions by time consumed.
    public var transactions: [APITransactionRow]
    /// Per-transaction Ts.
    public var transactionApdexT: [String: Double]

    enum CodingKeys: String, CodingKey {
        case app, series, transactions
        case transactionApdexT = "transaction_apdex_t"
    }
}
