public import APMCore
public import APMStorage
import Foundation
import GRDB

extension SQLiteStore {
    /// Stores process samples (aggregated per minute) and events.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - report: The report.
    ///   - receivedAt: Receipt time.
    ///   - maxApps: Apps per account; a report for one more app throws ``StoreError`` (`appLimit`).
    /// - Returns: The app's id, and whether the report (by its id) had been stored before.
    public func recordProcess(
        accountID: Int64,
        report: ProcessReport,
        receivedAt: Double,
        maxApps: Int
    ) async throws -> (appID: Int64, duplicate: Bool) {
        try await writer.write { db in
            // Reports share the batch-id table, in a namespace of their own.
            let reportKey = report.reportID.map { "process:" + $0 }
            if let reportKey,
                let appID = try Int64.fetchOne(
                    db,
                    sql: "SELECT app_id FROM batches WHERE account_id = ? AND batch_id = ?",
                    arguments: [accountID, reportKey]
                )
            {
                return (appID, true)
            }
            let app = try self.findOrCreateApp(
                db,
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
                try db.execute(
                    sql: "INSERT INTO batches (account_id, batch_id, app_id, received_at) VALUES (?, ?, ?, ?)",
                    arguments: [accountID, reportKey, app.id, receivedAt]
                )
            }
            for sample in report.samples {
                let minute = Int64(sample.timestamp) - Int64(sample.timestamp) % 60
                try db.execute(
                    sql: """
                        INSERT INTO process_minutes (app_id, bucket, host, pid, samples, cpu_sum, cpu_max, rss_sum, rss_max, threads_max, files_max)
                        VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT DO UPDATE SET samples = sat_add(samples, 1), cpu_sum = cpu_sum + excluded.cpu_sum,
                            cpu_max = MAX(cpu_max, excluded.cpu_max), rss_sum = rss_sum + excluded.rss_sum,
                            rss_max = MAX(rss_max, excluded.rss_max), threads_max = MAX(threads_max, excluded.threads_max),
                            files_max = MAX(files_max, excluded.files_max)
                        """,
                    arguments: [
                        app.id, minute, report.host, report.pid, sample.cpuPercent, sample.cpuPercent,
                        Double(sample.residentBytes),
                        Int64(clamping: sample.residentBytes), sample.threads, sample.openFiles,
                    ]
                )
            }
            for event in report.events {
                try db.execute(
                    sql:
                        "INSERT INTO process_events (app_id, at, host, pid, kind, exit_code, signal, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        app.id, event.timestamp, report.host, report.pid, event.kind.rawValue, event.exitCode,
                        event.signal, event.detail,
                    ]
                )
            }
            try db.execute(
                sql: "UPDATE apps SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?",
                arguments: [receivedAt, app.id]
            )
            return (app.id, false)
        }
    }

    /// Process resources per minute.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    /// - Returns: Slices.
    public func processSlices(appID: Int64, range: Range<Int64>) async throws -> [ProcessSlice] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT bucket, SUM(cpu_sum / samples) AS cpu, MAX(cpu_max) AS cpu_max, SUM(rss_sum / samples) AS rss,
                        MAX(rss_max) AS rss_max, MAX(threads_max) AS threads, MAX(files_max) AS files, COUNT(*) AS processes
                    FROM process_minutes WHERE app_id = ? AND bucket >= ? AND bucket < ?
                    GROUP BY bucket ORDER BY bucket
                    """,
                arguments: [appID, range.lowerBound - range.lowerBound % 60, range.upperBound]
            ).map {
                ProcessSlice(
                    bucket: $0["bucket"],
                    cpuPercent: $0["cpu"],
                    cpuPercentMax: $0["cpu_max"],
                    residentBytes: $0["rss"],
                    residentBytesMax: UInt64(clamping: $0["rss_max"] as Int64),
                    threadsMax: $0["threads"],
                    openFilesMax: $0["files"],
                    processes: $0["processes"]
                )
            }
        }
    }

    /// Process events in a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    /// - Returns: Events.
    public func processEvents(appID: Int64, range: Range<Int64>) async throws -> [StoredProcessEvent] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM process_events WHERE app_id = ? AND at >= ? AND at < ? ORDER BY at",
                arguments: [appID, range.lowerBound, range.upperBound]
            ).map {
                StoredProcessEvent(
                    at: $0["at"],
                    host: $0["host"],
                    pid: $0["pid"],
                    kind: $0["kind"],
                    exitCode: $0["exit_code"],
                    signal: $0["signal"],
                    detail: $0["detail"]
                )
            }
        }
    }
}
