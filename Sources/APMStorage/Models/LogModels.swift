public import APMCore
import Foundation

/// A stored log line.
public struct StoredLogRecord: Sendable, Hashable {
    /// The store's id: with ``timeUnixNano``, the order of a page (newest first) and its cursor.
    public var id: Int64
    /// The app id.
    public var appID: Int64
    /// Unix nanoseconds.
    public var timeUnixNano: Int64
    /// The host.
    public var host: String
    /// The level.
    public var level: LogLevel
    /// The message.
    public var message: String
    /// Attributes (capped, scrubbed).
    public var attributes: [String: String]
    /// Empty when the line was logged outside a trace.
    public var traceID: String
    /// The span id.
    public var spanID: String
    /// The transaction.
    public var transaction: String

    /// Creates one.
    public init(
        id: Int64,
        appID: Int64,
        timeUnixNano: Int64,
        host: String,
        level: LogLevel,
        message: String,
        attributes: [String: String],
        traceID: String,
        spanID: String,
        transaction: String
    ) {
        self.id = id
        self.appID = appID
        self.timeUnixNano = timeUnixNano
        self.host = host
        self.level = level
        self.message = message
        self.attributes = attributes
        self.traceID = traceID
        self.spanID = spanID
        self.transaction = transaction
    }
}

/// Which log lines a search returns: all conditions hold.
public struct LogFilter: Sendable, Hashable {
    /// Unix nanoseconds, from (inclusive) to (exclusive).
    public var range: Range<Int64>
    /// At or above this level.
    public var minimumLevel: LogLevel?
    /// Words that must all occur in the message (``LogSearchTerms``).
    public var text: String?
    /// The trace id.
    public var traceID: String?
    /// The transaction.
    public var transaction: String?
    /// The host.
    public var host: String?

    /// Creates one.
    public init(
        range: Range<Int64>,
        minimumLevel: LogLevel? = nil,
        text: String? = nil,
        traceID: String? = nil,
        transaction: String? = nil,
        host: String? = nil
    ) {
        self.range = range
        self.minimumLevel = minimumLevel
        self.text = text
        self.traceID = traceID
        self.transaction = transaction
        self.host = host
    }

    /// The words of ``text`` as the stores search them.
    public var words: [String] { LogSearchTerms.words(in: text ?? "") }

    /// Whether only time and level restrict the lines, so per-minute counts answer a histogram.
    public var isTimeAndLevelOnly: Bool {
        words.isEmpty && (traceID ?? "").isEmpty && (transaction ?? "").isEmpty && (host ?? "").isEmpty
    }
}

/// Where a page of log lines continues: the last line of the previous page (lines older than it follow).
public struct LogCursor: Sendable, Hashable {
    /// The time unix nano.
    public var timeUnixNano: Int64
    /// The id.
    public var id: Int64

    /// Creates one.
    public init(timeUnixNano: Int64, id: Int64) {
        self.timeUnixNano = timeUnixNano
        self.id = id
    }

    /// `TIME-ID`, as the API hands it out.
    public var token: String { "\(timeUnixNano)-\(id)" }

    /// Reads a token; `nil` when it is not one.
    public init?(token: String) {
        let parts = token.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let time = Int64(parts[0]), let id = Int64(parts[1]), time >= 0, id >= 0 else {
            return nil
        }
        self.init(timeUnixNano: time, id: id)
    }
}

/// Log lines per level in one bucket of a histogram.
public struct LogHistogramRow: Sendable, Hashable {
    /// Unix seconds of the bucket's start.
    public var bucket: Int64
    /// The level.
    public var level: LogLevel
    /// The count.
    public var count: UInt64

    /// Creates one.
    public init(bucket: Int64, level: LogLevel, count: UInt64) {
        self.bucket = bucket
        self.level = level
        self.count = count
    }
}

/// What became of an app's log lines over some days.
public struct LogVolume: Sendable, Hashable {
    /// Lines stored.
    public var stored: UInt64 = 0
    /// Lines refused by the daily cap (`max_log_records_per_day`).
    public var droppedByCap: UInt64 = 0
    /// Lines cut to ``LogRecord/maxMessageBytes``.
    public var cut: UInt64 = 0
    /// Lines the agents could not keep (their own bound).
    public var droppedByAgent: UInt64 = 0

    /// Creates one.
    public init(stored: UInt64 = 0, droppedByCap: UInt64 = 0, cut: UInt64 = 0, droppedByAgent: UInt64 = 0) {
        self.stored = stored
        self.droppedByCap = droppedByCap
        self.cut = cut
        self.droppedByAgent = droppedByAgent
    }
}

/// How a search text becomes the words both backends look up: runs of letters and digits, lower case (what
/// SQLite's FTS5 `unicode61` tokenizer and the PostgreSQL index's `simple` configuration over the same runs
/// make of a message), at most 16 of 64 characters each.
public enum LogSearchTerms {
    /// The most words a search looks up.
    public static let maxWords = 16
    /// The longest word kept (characters).
    public static let maxWordLength = 64

    /// The words of a search text.
    public static func words(in text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        var seen: Set<String> = []
        return words.map { String($0.prefix(maxWordLength)) }.filter { seen.insert($0).inserted }.prefix(maxWords)
            .map { $0 }
    }
}

/// The log lines of apps: written by the ingest's plans, read by the API, the dashboard, `apm logs` and the
/// alerts. Both backends implement it; the conformance tests hold them to the same answers.
public protocol LogStore: Sendable {
    /// A page of an app's log lines, newest first.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - filter: What the lines must match.
    ///   - after: Continue after this line (the last of the previous page).
    ///   - limit: Most lines.
    func logs(appID: Int64, filter: LogFilter, after: LogCursor?, limit: Int) async throws -> [StoredLogRecord]

    /// Lines per level per bucket of `bucketSeconds` (a multiple of 60) over the filter's range.
    func logHistogram(appID: Int64, filter: LogFilter, bucketSeconds: Int64) async throws -> [LogHistogramRow]

    /// What became of the app's lines on the days (UTC, by receipt) that overlap `range` (Unix seconds).
    func logVolume(appID: Int64, range: Range<Int64>) async throws -> LogVolume

    /// Deletes log lines logged before `cutoff` (Unix seconds), their per-minute counts and the daily volumes
    /// of the days before it; returns how many lines were deleted.
    func applyLogRetention(cutoff: Int64) async throws -> Int
}

/// Log attributes as the stores keep them: a JSON object of strings.
package enum LogAttributesCoding {
    package static func decode(_ text: String) -> [String: String] {
        guard text != "{}", !text.isEmpty else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}
