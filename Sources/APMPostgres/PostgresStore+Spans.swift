public import APMCore
public import APMStorage
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    /// As ``APMStore`` describes it, on PostgreSQL.
    public func parkSpans(
        _ spans: [PendingSpan],
        accountID: Int64,
        exportID: String,
        receivedAt: Double
    ) async throws -> Bool {
        try await transaction { [self] connection in
            // App 0: the export is not one app's until its spans are settled into batches of their own.
            let inserted = try await connection.rows(
                """
                INSERT INTO batches (account_id, batch_id, app_id, received_at) VALUES (\(accountID), \(exportID), 0, \(receivedAt))
                ON CONFLICT DO NOTHING RETURNING 1 AS one
                """,
                self.logger
            )
            guard !inserted.isEmpty else { return false }
            guard !spans.isEmpty else { return true }
            try await connection.execute(
                """
                INSERT INTO pending_spans (account_id, trace_id, span_id, is_transaction, received_at, payload)
                SELECT * FROM unnest(\(spans.map(\.accountID))::bigint[], \(spans.map(\.traceID))::text[],
                    \(spans.map(\.spanID))::text[], \(spans.map(\.isTransaction))::bool[], \(spans.map(\.receivedAt))::float8[],
                    \(spans.map { ByteBuffer(bytes: $0.payload) })::bytea[])
                ON CONFLICT DO NOTHING
                """,
                self.logger
            )
            return true
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func pendingSpans(receivedBefore cutoff: Double, traceLimit limit: Int) async throws -> [PendingSpan] {
        try await rows(
            """
            WITH due AS (
                (SELECT account_id, trace_id FROM pending_spans WHERE received_at <= \(cutoff) AND is_transaction
                UNION
                SELECT account_id, trace_id FROM pending_spans AS p
                    WHERE received_at <= \(cutoff) AND NOT is_transaction AND NOT EXISTS (
                        SELECT 1 FROM pending_spans AS t WHERE t.account_id = p.account_id
                            AND t.trace_id = p.trace_id AND t.is_transaction))
                LIMIT \(limit)
            )
            SELECT pending_spans.* FROM pending_spans JOIN due USING (account_id, trace_id)
            """
        ).map { row in
            PendingSpan(
                accountID: try row.get("account_id"),
                traceID: try row.get("trace_id"),
                spanID: try row.get("span_id"),
                isTransaction: try row.get("is_transaction"),
                receivedAt: try row.get("received_at"),
                payload: Data(bytesOf: try row.get("payload", as: ByteBuffer.self))
            )
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func settleSpans(
        _ items: [IngestItem],
        removing keys: [PendingSpanKey],
        limits: CardinalityLimits
    ) async throws -> [IngestOutcome]? {
        struct AlreadySettled: Error {}
        try await ensurePartitions(for: items)
        do {
            return try await transaction { [self] connection in
                // Another collector settling the same trace deletes the same rows: the second to get there finds
                // fewer and writes nothing.
                let deleted = try await connection.rows(
                    """
                    DELETE FROM pending_spans p USING unnest(\(keys.map(\.accountID))::bigint[], \(keys.map(\.traceID))::text[],
                        \(keys.map(\.spanID))::text[]) AS k(account_id, trace_id, span_id)
                    WHERE p.account_id = k.account_id AND p.trace_id = k.trace_id AND p.span_id = k.span_id
                    RETURNING 1 AS one
                    """,
                    self.logger
                )
                guard deleted.count == Set(keys).count else { throw AlreadySettled() }
                return try await self.commitItems(connection, items, limits: limits).outcomes
            }
        } catch is AlreadySettled {
            return nil
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func pendingSpanCount() async throws -> Int {
        Int(try await rows("SELECT count(*) AS n FROM pending_spans").first?.get("n", as: Int64.self) ?? 0)
    }

    // MARK: Process reports

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func recordProcess(
        accountID: Int64,
        report: ProcessReport,
        receivedAt: Double,
        maxApps: Int
    ) async throws -> (appID: Int64, duplicate: Bool) {
        try await transaction { [self] connection in
            // Reports share the batch-id table, in a namespace of their own.
            let reportKey = report.reportID.map { "process:" + $0 }
            if let reportKey,
                let existing = try await connection.rows(
                    "SELECT app_id FROM batches WHERE account_id = \(accountID) AND batch_id = \(reportKey)",
                    self.logger
                ).first
            {
                return (try existing.get("app_id", as: Int64.self), true)
            }
            let app = try await self.findOrCreateApp(
                connection,
                accountID: accountID,
                agent: AgentIdentity(
                    appName: report.appName,
                    host: report.host,
                    pid: report.pid,
                    language: "",
                    agentVersion: ""
                ),
                at: receivedAt,
                maxApps: maxApps
            )
            if let reportKey {
                let inserted = try await connection.rows(
                    """
                    INSERT INTO batches (account_id, batch_id, app_id, received_at)
                    VALUES (\(accountID), \(reportKey), \(app.id), \(receivedAt)) ON CONFLICT DO NOTHING RETURNING 1 AS one
                    """,
                    self.logger
                )
                // Sent to two collectors at once: the other one counted it.
                if inserted.isEmpty { return (app.id, true) }
            }
            for sample in report.samples {
                let minute = Int64(sample.timestamp) - Int64(sample.timestamp) % 60
                try await connection.execute(
                    """
                    INSERT INTO process_minutes (app_id, bucket, host, pid, samples, cpu_sum, cpu_max, rss_sum, rss_max, threads_max, files_max)
                    VALUES (\(app.id), \(minute), \(report.host), \(Int64(report.pid)), 1, \(sample.cpuPercent), \(sample.cpuPercent),
                        \(Double(sample.residentBytes)), \(Int64(clamping: sample.residentBytes)), \(Int64(sample.threads)),
                        \(Int64(sample.openFiles)))
                    ON CONFLICT (app_id, bucket, host, pid) DO UPDATE SET
                        samples = sat_add(process_minutes.samples, 1),
                        cpu_sum = process_minutes.cpu_sum + excluded.cpu_sum,
                        cpu_max = GREATEST(process_minutes.cpu_max, excluded.cpu_max),
                        rss_sum = process_minutes.rss_sum + excluded.rss_sum,
                        rss_max = GREATEST(process_minutes.rss_max, excluded.rss_max),
                        threads_max = GREATEST(process_minutes.threads_max, excluded.threads_max),
                        files_max = GREATEST(process_minutes.files_max, excluded.files_max)
                    """,
                    self.logger
                )
            }
            for event in report.events {
                try await connection.execute(
                    """
                    INSERT INTO process_events (app_id, at, host, pid, kind, exit_code, signal, detail)
                    VALUES (\(app.id), \(event.timestamp), \(report.host), \(Int64(report.pid)), \(event.kind.rawValue),
                        \(event.exitCode.map(Int64.init)), \(event.signal.map(Int64.init)), \(event.detail))
                    """,
                    self.logger
                )
            }
            try await connection.execute(
                "UPDATE apps SET last_seen_at = GREATEST(last_seen_at, \(receivedAt)) WHERE id = \(app.id)",
                self.logger
            )
            return (app.id, false)
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func processSlices(appID: Int64, range: Range<Int64>) async throws -> [ProcessSlice] {
        try await rows(
            """
            SELECT bucket, SUM(cpu_sum / samples) AS cpu, MAX(cpu_max) AS cpu_max, SUM(rss_sum / samples) AS rss,
                MAX(rss_max) AS rss_max, MAX(threads_max) AS threads, MAX(files_max) AS files, count(*) AS processes
            FROM process_minutes WHERE app_id = \(appID) AND bucket >= \(range.lowerBound - range.lowerBound % 60)
                AND bucket < \(range.upperBound)
            GROUP BY bucket ORDER BY bucket
            """
        ).map {
            ProcessSlice(
                bucket: try $0.get("bucket"),
                cpuPercent: try $0.get("cpu"),
                cpuPercentMax: try $0.get("cpu_max"),
                residentBytes: try $0.get("rss"),
                residentBytesMax: UInt64(clamping: try $0.get("rss_max", as: Int64.self)),
                threadsMax: Int(try $0.get("threads", as: Int64.self)),
                openFilesMax: Int(try $0.get("files", as: Int64.self)),
                processes: Int(try $0.get("processes", as: Int64.self))
            )
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func processEvents(appID: Int64, range: Range<Int64>) async throws -> [StoredProcessEvent] {
        try await rows(
            """
            SELECT * FROM process_events WHERE app_id = \(appID) AND at >= \(Double(range.lowerBound))
                AND at < \(Double(range.upperBound)) ORDER BY at
            """
        ).map {
            StoredProcessEvent(
                at: try $0.get("at"),
                host: try $0.get("host"),
                pid: Int(try $0.get("pid", as: Int64.self)),
                kind: try $0.get("kind"),
                exitCode: try $0.get("exit_code", as: Int64?.self).map { Int($0) },
                signal: try $0.get("signal", as: Int64?.self).map { Int($0) },
                detail: try $0.get("detail")
            )
        }
    }
}
