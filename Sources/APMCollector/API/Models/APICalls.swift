import APMCore
import APMStorage

/// A database operation.
public struct APIDatabaseRow: Codable, Sendable, Hashable {
    /// Segment name, e.g. `Postgres SELECT users`.
    public var name: String
    /// Datastore system.
    public var system: String
    /// Operation.
    public var operation: String
    /// Table.
    public var table: String
    /// Calls.
    public var calls: UInt64
    /// Average call (seconds).
    public var average: Double
    /// Total time (seconds).
    public var totalTime: Double
    /// Slowest call (seconds).
    public var max: Double
    /// The statement of the slowest traced call in the range, obfuscated; empty when none was traced.
    public var slowestStatement: String

    enum CodingKeys: String, CodingKey {
        case name, system, operation, table, calls, average
        case totalTime = "total_time"
        case max
        case slowestStatement = "slowest_statement"
    }
}

/// An external host.
public struct APIExternalRow: Codable, Sendable, Hashable {
    /// The host.
    public var host: String
    /// Calls.
    public var calls: UInt64
    /// Failed calls.
    public var errors: UInt64
    /// Average call (seconds).
    public var average: Double
    /// Total time (seconds).
    public var totalTime: Double
    /// Slowest call (seconds).
    public var max: Double

    enum CodingKeys: String, CodingKey {
        case host, calls, errors, average
        case totalTime = "total_time"
        case max
    }
}

/// Time per bucket in an app's top database operations or external hosts (the charts of the databases page).
public struct APICallTimeSeries: Codable, Sendable, Hashable {
    /// One operation or host.
    public struct Line: Codable, Sendable, Hashable {
        /// The operation (e.g. `Postgres SELECT users`) or the host.
        public var name: String
        /// Seconds spent in its calls per bucket, `null` for a bucket without calls.
        public var seconds: [Double?]
    }

    /// Range start (Unix seconds, aligned to the bucket size).
    public var from: Int64
    /// Range end (exclusive).
    public var to: Int64
    /// Bucket length in seconds.
    public var bucketSeconds: Int64
    /// `minute` or `hour`: the stored rows the buckets were built from.
    public var resolution: String
    /// The top operations or hosts by total time, most first.
    public var lines: [Line]

    enum CodingKeys: String, CodingKey {
        case from, to, resolution, lines
        case bucketSeconds = "bucket_seconds"
    }
}
