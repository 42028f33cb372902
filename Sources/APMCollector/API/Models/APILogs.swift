public import APMCore
import APMStorage

/// One log line (`GET /api/v1/apps/{id}/logs`).
public struct APILogRecord: Codable, Sendable, Hashable {
    /// The store's id (with the time, the order of the list).
    public var id: Int64
    /// When it was logged (Unix seconds).
    public var time: Double
    /// The same, exact: Unix nanoseconds.
    public var timeUnixNano: Int64
    /// The level.
    public var level: LogLevel
    /// The message.
    public var message: String
    /// The attributes.
    public var attributes: [String: String]
    /// The host.
    public var host: String
    /// The trace it was logged in; absent outside a trace.
    public var traceID: String?
    /// The span id.
    public var spanID: String?
    /// The transaction.
    public var transaction: String?

    init(_ record: StoredLogRecord) {
        id = record.id
        time = Double(record.timeUnixNano) / 1e9
        timeUnixNano = record.timeUnixNano
        level = record.level
        message = record.message
        attributes = record.attributes
        host = record.host
        traceID = record.traceID.isEmpty ? nil : record.traceID
        spanID = record.spanID.isEmpty ? nil : record.spanID
        transaction = record.transaction.isEmpty ? nil : record.transaction
    }

    enum CodingKeys: String, CodingKey {
        case id, time
        case timeUnixNano = "time_unix_nano"
        case level, message, attributes, host
        case traceID = "trace_id"
        case spanID = "span_id"
        case transaction
    }
}

/// A page of log lines, newest first, and where the next page starts.
public struct APILogPage: Codable, Sendable, Hashable {
    /// The logs.
    public var logs: [APILogRecord]
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    public var nextCursor: String?
    /// Trace id → row id of its kept trace (`/apps/{id}/traces/{row}`), for the lines whose trace was kept.
    public var traces: [String: Int64]

    enum CodingKeys: String, CodingKey {
        case logs
        case nextCursor = "next_cursor"
        case traces
    }
}

/// Log lines per level per bucket (`GET /api/v1/apps/{id}/logs/histogram`), and what became of the app's lines
/// on the days of the range.
public struct APILogHistogram: Codable, Sendable, Hashable {
    /// The from.
    public var from: Int64
    /// The to.
    public var to: Int64
    /// The bucket seconds.
    public var bucketSeconds: Int64
    /// Buckets with at least one line, oldest first.
    public var buckets: [Bucket]
    /// Lines matching the filter per level, over the whole range.
    public var totals: [LogLevel: UInt64]
    /// The volume.
    public var volume: Volume

    /// One bucket of the histogram.
    public struct Bucket: Codable, Sendable, Hashable {
        /// Unix seconds of its start.
        public var start: Int64
        /// The counts.
        public var counts: [LogLevel: UInt64]
    }

    /// Over the days (UTC) the range touches, all lines of the app, whatever the filter.
    public struct Volume: Codable, Sendable, Hashable {
        /// The stored.
        public var stored: UInt64
        /// Refused by `max_log_records_per_day`.
        public var droppedByCap: UInt64
        /// Cut to 16 KiB.
        public var cut: UInt64
        /// Not kept by the agents (`log_forwarding.max_per_harvest`, memory).
        public var droppedByAgent: UInt64

        enum CodingKeys: String, CodingKey {
            case stored
            case droppedByCap = "dropped_by_cap"
            case cut
            case droppedByAgent = "dropped_by_agent"
        }
    }

    enum CodingKeys: String, CodingKey {
        case from, to
        case bucketSeconds = "bucket_seconds"
        case buckets, totals, volume
    }
}
