import APMCore
public import APMStorage
import Foundation
import GRDB

extension SQLiteStore {
    /// The log lines an app stored on a day (the daily cap's count so far).
    func logsStored(_ db: Database, appID: Int64, day: Int64) throws -> UInt64 {
        let stored = try Int64.fetchOne(
            db,
            sql: "SELECT stored FROM log_volume WHERE app_id = ? AND day = ?",
            arguments: [appID, day]
        )
        return UInt64(clamping: stored ?? 0)
    }

    /// Writes a plan's log lines (the FTS index follows by trigger), their counts and the days' volumes.
    func writeLogs(_ db: Database, _ plan: WritePlan) throws {
        if !plan.logs.isEmpty {
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO log_records
                        (app_id, time, host, level, message, attributes, trace_id, span_id, transaction_name)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for row in plan.logs {
                try insert.execute(arguments: [
                    row.appID, row.timeUnixNano, row.host, row.level.severityNumber, row.message, row.attributes,
                    row.traceID, row.spanID, row.transaction,
                ])
            }
        }
        let count = try db.cachedStatement(
            sql: """
                INSERT INTO log_counts (app_id, bucket, level, count) VALUES (?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET count = sat_add(count, excluded.count)
                """
        )
        for (key, value) in plan.logCounts {
            try count.execute(arguments: [key.appID, key.minute, key.level.severityNumber, Int64(clamping: value)])
        }
        for (key, volume) in plan.logVolume {
            try db.execute(
                sql: """
                    INSERT INTO log_volume (app_id, day, stored, dropped_cap, cut, dropped_agent) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET stored = sat_add(stored, excluded.stored),
                        dropped_cap = sat_add(dropped_cap, excluded.dropped_cap), cut = sat_add(cut, excluded.cut),
                        dropped_agent = sat_add(dropped_agent, excluded.dropped_agent)
                    """,
                arguments: [
                    key.appID, key.day, Int64(clamping: volume.stored), Int64(clamping: volume.droppedByCap),
                    Int64(clamping: volume.cut), Int64(clamping: volume.droppedByAgent),
                ]
            )
        }
    }

    /// A word search over a range of at most this many lines (by the per-minute counts) asks the full-text index
    /// only for the ids of the range's lines.
    static let boundedSearchLines: Int64 = 2_000_000

    /// The lowest and highest id of an app's lines in a time range, when a word search should be bounded by them:
    /// without bounds the full-text index lists every line that holds the word in all the days kept (a common
    /// word: millions, 700 ms over 10 million lines), with them only those of the range (11 ms). Ids follow the
    /// order lines were stored in, not their time, so the bounds are read from the range's lines (an index scan);
    /// over a range too wide for that to pay, `nil` (no bounds). `.some(nil)`: the range holds no line.
    private static func searchBounds(
        _ db: Database,
        appID: Int64,
        filter: LogFilter
    ) throws -> ClosedRange<Int64>?? {
        guard !filter.words.isEmpty else { return nil }
        let from = filter.range.lowerBound / 1_000_000_000
        let to = (filter.range.upperBound + 999_999_999) / 1_000_000_000
        let lines =
            try Int64.fetchOne(
                db,
                sql: "SELECT SUM(count) FROM log_counts WHERE app_id = ? AND bucket >= ? AND bucket < ?",
                arguments: [appID, from - ((from % 60) + 60) % 60, to]
            ) ?? 0
        guard lines <= boundedSearchLines else { return nil }
        let row = try Row.fetchOne(
            db,
            sql: "SELECT MIN(id) AS low, MAX(id) AS high FROM log_records WHERE app_id = ? AND time >= ? AND time < ?",
            arguments: [appID, filter.range.lowerBound, filter.range.upperBound]
        )
        guard let low = row?["low"] as Int64?, let high = row?["high"] as Int64? else { return .some(nil) }
        return .some(low...high)
    }

    /// The WHERE clause of a filter (over `log_records r`) and its arguments; `ids` bounds a word search.
    private static func logConditions(
        appID: Int64,
        filter: LogFilter,
        ids: ClosedRange<Int64>? = nil
    ) -> (sql: String, arguments: StatementArguments) {
        var sql = "r.app_id = ? AND r.time >= ? AND r.time < ?"
        var arguments: StatementArguments = [appID, filter.range.lowerBound, filter.range.upperBound]
        if let level = filter.minimumLevel {
            sql += " AND r.level >= ?"
            arguments += [level.severityNumber]
        }
        let words = filter.words
        if !words.isEmpty {
            // Each word a quoted FTS5 string: no search syntax comes from outside.
            sql += " AND r.id IN (SELECT rowid FROM log_search WHERE log_search MATCH ?"
            arguments += [words.map { "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" }.joined(separator: " ")]
            if let ids {
                sql += " AND rowid BETWEEN ? AND ?"
                arguments += [ids.lowerBound, ids.upperBound]
            }
            sql += ")"
        }
        for (column, value) in [
            ("trace_id", filter.traceID), ("transaction_name", filter.transaction), ("host", filter.host),
        ] {
            guard let value, !value.isEmpty else { continue }
            sql += " AND r.\(column) = ?"
            arguments += [column == "trace_id" ? value.lowercased() : value]
        }
        return (sql, arguments)
    }

    /// As ``LogStore`` describes it, on SQLite.
    public func logs(appID: Int64, filter: LogFilter, after: LogCursor?, limit: Int) async throws -> [StoredLogRecord] {
        try await writer.read { db in
            let bounds = try Self.searchBounds(db, appID: appID, filter: filter)
            if case .some(.none) = bounds { return [] }
            var (conditions, arguments) = Self.logConditions(appID: appID, filter: filter, ids: bounds ?? nil)
            if let after {
                conditions += " AND (r.time < ? OR (r.time = ? AND r.id < ?))"
                arguments += [after.timeUnixNano, after.timeUnixNano, after.id]
            }
            arguments += [max(limit, 0)]
            let sql = "SELECT r.* FROM log_records r WHERE \(conditions) ORDER BY r.time DESC, r.id DESC LIMIT ?"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                StoredLogRecord(
                    id: row["id"],
                    appID: row["app_id"],
                    timeUnixNano: row["time"],
                    host: row["host"],
                    level: LogLevel(severityNumber: row["level"]) ?? .info,
                    message: row["message"],
                    attributes: LogAttributesCoding.decode(row["attributes"]),
                    traceID: row["trace_id"],
                    spanID: row["span_id"],
                    transaction: row["transaction_name"]
                )
            }
        }
    }

    /// As ``LogStore`` describes it, on SQLite.
    public func logHistogram(appID: Int64, filter: LogFilter, bucketSeconds: Int64) async throws -> [LogHistogramRow] {
        let width = max(bucketSeconds - bucketSeconds % 60, 60)
        let sql: String
        let arguments: StatementArguments
        if filter.isTimeAndLevelOnly {
            // The per-minute counts answer it without reading a line. Minutes are whole: the range is read from the
            // first minute it touches.
            let from = filter.range.lowerBound / 1_000_000_000
            let to = (filter.range.upperBound + 999_999_999) / 1_000_000_000
            sql = """
                SELECT bucket - ((bucket % ?) + ?) % ? AS b, level, SUM(count) AS n FROM log_counts
                WHERE app_id = ? AND bucket >= ? - ((? % 60) + 60) % 60 AND bucket < ? AND level >= ?
                GROUP BY b, level ORDER BY b, level
                """
            arguments = [
                width, width, width, appID, from, from, to, filter.minimumLevel?.severityNumber ?? 0,
            ]
        } else {
            return try await writer.read { db in
                let bounds = try Self.searchBounds(db, appID: appID, filter: filter)
                if case .some(.none) = bounds { return [] }
                let (conditions, filterArguments) = Self.logConditions(appID: appID, filter: filter, ids: bounds ?? nil)
                let sql = """
                    SELECT (r.time / 1000000000) - (((r.time / 1000000000) % ?) + ?) % ? AS b, r.level AS level,
                        COUNT(*) AS n
                    FROM log_records r WHERE \(conditions) GROUP BY b, level ORDER BY b, level
                    """
                return try Self.histogramRows(db, sql: sql, arguments: [width, width, width] + filterArguments)
            }
        }
        return try await writer.read { db in try Self.histogramRows(db, sql: sql, arguments: arguments) }
    }

    private static func histogramRows(
        _ db: Database,
        sql: String,
        arguments: StatementArguments
    ) throws -> [LogHistogramRow] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
            guard let level = LogLevel(severityNumber: row["level"]) else { return nil }
            return LogHistogramRow(bucket: row["b"], level: level, count: UInt64(clamping: row["n"] as Int64))
        }
    }

    /// As ``LogStore`` describes it, on SQLite.
    public func logVolume(appID: Int64, range: Range<Int64>) async throws -> LogVolume {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT SUM(stored) AS s, SUM(dropped_cap) AS d, SUM(cut) AS c, SUM(dropped_agent) AS a
                        FROM log_volume WHERE app_id = ? AND day >= ? AND day < ?
                        """,
                    arguments: [appID, WritePlanner.logDay(Double(range.lowerBound)), range.upperBound]
                )
            else { return LogVolume() }
            return LogVolume(
                stored: UInt64(clamping: row["s"] as Int64? ?? 0),
                droppedByCap: UInt64(clamping: row["d"] as Int64? ?? 0),
                cut: UInt64(clamping: row["c"] as Int64? ?? 0),
                droppedByAgent: UInt64(clamping: row["a"] as Int64? ?? 0)
            )
        }
    }

    /// As ``LogStore`` describes it, on SQLite.
    public func traceRowIDs(appID: Int64, traceIDs: Set<String>) async throws -> [String: Int64] {
        let asked = Array(traceIDs.prefix(1000))
        guard !asked.isEmpty else { return [:] }
        return try await writer.read { db in
            var found: [String: Int64] = [:]
            let lookup = try db.cachedStatement(
                sql: "SELECT id FROM traces WHERE app_id = ? AND trace_id = ? ORDER BY start DESC, id DESC LIMIT 1"
            )
            for traceID in asked {
                if let id = try Int64.fetchOne(lookup, arguments: [appID, traceID]) { found[traceID] = id }
            }
            return found
        }
    }

    /// As ``LogStore`` describes it, on SQLite.
    public func applyLogRetention(cutoff: Int64) async throws -> Int {
        let deleted = try await deleteInChunks("log_records", keys: ["id"], where: "time < ?", cutoff &* 1_000_000_000)
        _ = try await deleteInChunks(
            "log_counts",
            keys: Self.primaryKeys["log_counts"]!,
            where: "bucket < ?",
            cutoff
        )
        _ = try await deleteInChunks(
            "log_volume",
            keys: ["app_id", "day"],
            where: "day < ?",
            WritePlanner.logDay(Double(cutoff))
        )
        return deleted
    }
}
