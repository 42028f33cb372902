import APMCore
public import APMStorage
import Foundation
import PostgresNIO

extension PostgresStore {
    /// Per app of the items that carry log lines: what it stored on the day of receipt (the daily cap's count).
    /// Read under the commit's app locks, so two collectors never both fill the same room.
    func logsStoredToday(_ connection: PostgresConnection, days asked: [Int64: Int64]) async throws -> [Int64: UInt64] {
        guard !asked.isEmpty else { return [:] }
        let pairs = Array(asked)
        var stored: [Int64: UInt64] = [:]
        for row in try await connection.rows(
            """
            SELECT v.app_id, v.stored FROM log_volume v
            JOIN unnest(\(pairs.map(\.key))::bigint[], \(pairs.map(\.value))::bigint[]) AS k(app_id, day)
            ON v.app_id = k.app_id AND v.day = k.day
            """,
            logger
        ) {
            stored[try row.get("app_id", as: Int64.self)] = UInt64(clamping: try row.get("stored", as: Int64.self))
        }
        return stored
    }

    /// Writes a plan's log lines, their counts and the days' volumes: one statement each.
    func writeLogs(_ connection: PostgresConnection, _ plan: WritePlan) async throws {
        let logs = plan.logs
        if !logs.isEmpty {
            try await connection.execute(
                """
                INSERT INTO log_records
                    (app_id, time, host, level, message, attributes, trace_id, span_id, transaction_name)
                SELECT * FROM unnest(\(logs.map(\.appID))::bigint[], \(logs.map(\.timeUnixNano))::bigint[],
                    \(logs.map(\.host))::text[], \(logs.map { Int16($0.level.severityNumber) })::int2[],
                    \(logs.map(\.message))::text[], \(logs.map(\.attributes))::text[], \(logs.map(\.traceID))::text[],
                    \(logs.map(\.spanID))::text[], \(logs.map(\.transaction))::text[])
                """,
                logger
            )
        }
        if !plan.logCounts.isEmpty {
            let counts = Array(plan.logCounts)
            try await connection.execute(
                """
                INSERT INTO log_counts (app_id, bucket, level, count)
                SELECT * FROM unnest(\(counts.map(\.key.appID))::bigint[], \(counts.map(\.key.minute))::bigint[],
                    \(counts.map { Int16($0.key.level.severityNumber) })::int2[],
                    \(counts.map { Int64(clamping: $0.value) })::bigint[])
                ON CONFLICT (app_id, bucket, level) DO UPDATE SET count = sat_add(log_counts.count, excluded.count)
                """,
                logger
            )
        }
        if !plan.logVolume.isEmpty {
            let volumes = Array(plan.logVolume)
            try await connection.execute(
                """
                INSERT INTO log_volume (app_id, day, stored, dropped_cap, cut, dropped_agent)
                SELECT * FROM unnest(\(volumes.map(\.key.appID))::bigint[], \(volumes.map(\.key.day))::bigint[],
                    \(volumes.map { Int64(clamping: $0.value.stored) })::bigint[],
                    \(volumes.map { Int64(clamping: $0.value.droppedByCap) })::bigint[],
                    \(volumes.map { Int64(clamping: $0.value.cut) })::bigint[],
                    \(volumes.map { Int64(clamping: $0.value.droppedByAgent) })::bigint[])
                ON CONFLICT (app_id, day) DO UPDATE SET stored = sat_add(log_volume.stored, excluded.stored),
                    dropped_cap = sat_add(log_volume.dropped_cap, excluded.dropped_cap),
                    cut = sat_add(log_volume.cut, excluded.cut),
                    dropped_agent = sat_add(log_volume.dropped_agent, excluded.dropped_agent)
                """,
                logger
            )
        }
    }

    /// The WHERE clause of a filter over `log_records r`, its values bound.
    private static func logConditions(appID: Int64, filter: LogFilter) -> PostgresQuery {
        var query: PostgresQuery =
            "r.app_id = \(appID) AND r.time >= \(filter.range.lowerBound) AND r.time < \(filter.range.upperBound)"
        var sql = query.sql
        var bindings = query.binds
        func add(_ condition: String, _ value: some PostgresNonThrowingEncodable & Sendable) {
            bindings.append(value, context: .default)
            sql += condition.replacingOccurrences(of: "$?", with: "$\(bindings.count)")
        }
        if let level = filter.minimumLevel { add(" AND r.level >= $?", Int16(level.severityNumber)) }
        let words = filter.words
        // The words are runs of letters and digits: nothing in them is tsquery syntax, and they are bound anyway.
        if !words.isEmpty {
            add(" AND r.search @@ to_tsquery('simple'::regconfig, $?)", words.joined(separator: " & "))
        }
        if let traceID = filter.traceID, !traceID.isEmpty { add(" AND r.trace_id = $?", traceID.lowercased()) }
        if let transaction = filter.transaction, !transaction.isEmpty {
            add(" AND r.transaction_name = $?", transaction)
        }
        if let host = filter.host, !host.isEmpty { add(" AND r.host = $?", host) }
        query = PostgresQuery(unsafeSQL: sql, binds: bindings)
        return query
    }

    /// As ``LogStore`` describes it, on PostgreSQL.
    public func logs(appID: Int64, filter: LogFilter, after: LogCursor?, limit: Int) async throws -> [StoredLogRecord] {
        let conditions = Self.logConditions(appID: appID, filter: filter)
        var sql = "SELECT r.id, r.app_id, r.time, r.host, r.level, r.message, r.attributes, r.trace_id, r.span_id, "
        sql += "r.transaction_name FROM log_records r WHERE " + conditions.sql
        var binds = conditions.binds
        if let after {
            binds.append(after.timeUnixNano, context: .default)
            binds.append(after.id, context: .default)
            sql += " AND (r.time, r.id) < ($\(binds.count - 1), $\(binds.count))"
        }
        binds.append(Int64(max(limit, 0)), context: .default)
        sql += " ORDER BY r.time DESC, r.id DESC LIMIT $\(binds.count)"
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: binds)).map { row in
            StoredLogRecord(
                id: try row.get("id"),
                appID: try row.get("app_id"),
                timeUnixNano: try row.get("time"),
                host: try row.get("host"),
                level: LogLevel(severityNumber: Int(try row.get("level", as: Int16.self))) ?? .info,
                message: try row.get("message"),
                attributes: LogAttributesCoding.decode(try row.get("attributes")),
                traceID: try row.get("trace_id"),
                spanID: try row.get("span_id"),
                transaction: try row.get("transaction_name")
            )
        }
    }

    /// As ``LogStore`` describes it, on PostgreSQL.
    public func logHistogram(appID: Int64, filter: LogFilter, bucketSeconds: Int64) async throws -> [LogHistogramRow] {
        let width = max(bucketSeconds - bucketSeconds % 60, 60)
        let query: PostgresQuery
        if filter.isTimeAndLevelOnly {
            let from = filter.range.lowerBound / 1_000_000_000
            let to = (filter.range.upperBound + 999_999_999) / 1_000_000_000
            let firstMinute = from - ((from % 60) + 60) % 60
            let level = Int16(filter.minimumLevel?.severityNumber ?? 0)
            query = """
                SELECT bucket - ((bucket % \(width)) + \(width)) % \(width) AS b, level, SUM(count)::bigint AS n
                FROM log_counts WHERE app_id = \(appID) AND bucket >= \(firstMinute) AND bucket < \(to)
                AND level >= \(level) GROUP BY b, level ORDER BY b, level
                """
        } else {
            let conditions = Self.logConditions(appID: appID, filter: filter)
            var binds = conditions.binds
            binds.append(width, context: .default)
            let w = "$\(binds.count)"
            let second = "(r.time / 1000000000)"
            query = PostgresQuery(
                unsafeSQL: """
                    SELECT \(second) - ((\(second) % \(w)) + \(w)) % \(w) AS b, r.level AS level, COUNT(*)::bigint AS n
                    FROM log_records r WHERE \(conditions.sql) GROUP BY b, level ORDER BY b, level
                    """,
                binds: binds
            )
        }
        return try await rows(query).compactMap { row in
            guard let level = LogLevel(severityNumber: Int(try row.get("level", as: Int16.self))) else { return nil }
            return LogHistogramRow(
                bucket: try row.get("b", as: Int64.self),
                level: level,
                count: UInt64(clamping: try row.get("n", as: Int64.self))
            )
        }
    }

    /// As ``LogStore`` describes it, on PostgreSQL.
    public func logVolume(appID: Int64, range: Range<Int64>) async throws -> LogVolume {
        let firstDay = WritePlanner.logDay(Double(range.lowerBound))
        guard
            let row = try await rows(
                """
                SELECT SUM(stored)::bigint AS s, SUM(dropped_cap)::bigint AS d, SUM(cut)::bigint AS c,
                    SUM(dropped_agent)::bigint AS a
                FROM log_volume WHERE app_id = \(appID) AND day >= \(firstDay) AND day < \(range.upperBound)
                """
            ).first
        else { return LogVolume() }
        return LogVolume(
            stored: UInt64(clamping: try row.get("s", as: Int64?.self) ?? 0),
            droppedByCap: UInt64(clamping: try row.get("d", as: Int64?.self) ?? 0),
            cut: UInt64(clamping: try row.get("c", as: Int64?.self) ?? 0),
            droppedByAgent: UInt64(clamping: try row.get("a", as: Int64?.self) ?? 0)
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func traceRowIDs(appID: Int64, traceIDs: Set<String>) async throws -> [String: Int64] {
        let asked = Array(traceIDs.prefix(1000))
        guard !asked.isEmpty else { return [:] }
        var found: [String: Int64] = [:]
        for row in try await rows(
            """
            SELECT DISTINCT ON (trace_id) trace_id, id FROM traces
            WHERE app_id = \(appID) AND trace_id = ANY(\(asked)::text[]) ORDER BY trace_id, start DESC, id DESC
            """
        ) {
            found[try row.get("trace_id", as: String.self)] = try row.get("id", as: Int64.self)
        }
        return found
    }

    /// As ``LogStore`` describes it, on PostgreSQL: lines deleted 10,000 per statement, so that ingest commits
    /// interleave.
    public func applyLogRetention(cutoff: Int64) async throws -> Int {
        let cutoffNano = cutoff &* 1_000_000_000
        var deleted = 0
        while true {
            let count =
                try await rows(
                    """
                    WITH gone AS (
                        DELETE FROM log_records WHERE id IN
                            (SELECT id FROM log_records WHERE time < \(cutoffNano) LIMIT 10000)
                        RETURNING 1)
                    SELECT count(*)::bigint AS n FROM gone
                    """
                ).first?.get("n", as: Int64.self) ?? 0
            deleted += Int(count)
            if count < 10_000 { break }
        }
        try await execute("DELETE FROM log_counts WHERE bucket < \(cutoff)")
        try await execute("DELETE FROM log_volume WHERE day < \(WritePlanner.logDay(Double(cutoff)))")
        return deleted
    }
}
