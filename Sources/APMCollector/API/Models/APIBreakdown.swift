import APMCore

/// Where one transaction's time goes: each of its segments, and its own code as `application`.
public struct APITransactionBreakdown: Codable, Sendable, Hashable {
    /// The transaction.
    public var transaction: String
    /// Its requests in the range.
    public var count: UInt64
    /// Their total time (seconds).
    public var totalTime: Double
    /// The rows, most time first.
    public var rows: [APIBreakdownRow]

    enum CodingKeys: String, CodingKey {
        case transaction, count
        case totalTime = "total_time"
        case rows
    }
}

/// One row of a breakdown.
public struct APIBreakdownRow: Codable, Sendable, Hashable {
    /// The segment's name (`Postgres SELECT orders`, `External payments.example`), or `application`.
    public var name: String
    /// `database`, `external`, `custom` or `application`.
    public var category: String
    /// The database operation's table or the external host; empty otherwise.
    public var target: String
    /// Calls in the range (for `application`: the transaction's requests).
    public var calls: UInt64
    /// Calls per request of the transaction.
    public var callsPerTransaction: Double
    /// Average time of a call (seconds), children included.
    public var average: Double
    /// The 95th percentile of a call's time (seconds, within 1 %), children included; absent for `application`
    /// and where some calls came from agents that sent no segment histogram.
    public var p95: Double?
    /// The slowest call (seconds).
    public var max: Double
    /// Its own time in the range (seconds): children excluded, so that the rows add up to the transaction's time.
    public var time: Double
    /// `time` ÷ the transaction's total time.
    public var share: Double

    enum CodingKeys: String, CodingKey {
        case name, category, target, calls
        case callsPerTransaction = "calls_per_transaction"
        case average, p95, max, time, share
    }
}

/// A transaction that calls a database operation or an external host, and its part of that time.
public struct APISegmentCaller: Codable, Sendable, Hashable {
    /// The operation's segment name, or the host.
    public var name: String
    /// The calling transaction.
    public var transaction: String
    /// Its calls.
    public var calls: UInt64
    /// Their time (seconds).
    public var time: Double
    /// `time` ÷ the operation's (or host's) total time.
    public var share: Double
    /// Calls per request of the transaction.
    public var callsPerTransaction: Double

    enum CodingKeys: String, CodingKey {
        case name, transaction, calls, time, share
        case callsPerTransaction = "calls_per_transaction"
    }
}

extension SegmentCategory {
    /// The name the API and the pages use.
    var shownName: String {
        switch self {
        case .datastore: "database"
        case .external: "external"
        case .custom: "custom"
        }
    }
}
