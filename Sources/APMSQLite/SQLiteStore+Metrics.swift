import APMCore
public import APMStorage
import Foundation
import GRDB
import Synchronization

extension SQLiteStore {
    /// The metric tables: one row per series (ids never reused: a series retention deleted may have left a row
    /// past the cutoff, which must not join a new series) (an app, host, process, name and attribute set, with what it is and a
    /// cumulative series' last reading) and its minute and hour rows (``MetricAggregate``).
    static let metricSchema = """
        CREATE TABLE metric_series (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app_id INTEGER NOT NULL, host TEXT NOT NULL, process INTEGER NOT NULL, name TEXT NOT NULL,
            attributes TEXT NOT NULL, unit TEXT NOT NULL, kind INTEGER NOT NULL, bounds TEXT NOT NULL,
            first_seen REAL NOT NULL, last_seen REAL NOT NULL,
            cumulative_start INTEGER, cumulative_time INTEGER, cumulative_value REAL, cumulative_counts TEXT,
            UNIQUE (app_id, name, host, process, attributes)
        );
        CREATE TABLE metric_minutes (
            app_id INTEGER NOT NULL, series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
            sum REAL NOT NULL, min REAL, max REAL, last REAL NOT NULL, last_time INTEGER NOT NULL,
            counts TEXT NOT NULL,
            PRIMARY KEY (app_id, series_id, bucket)
        ) WITHOUT ROWID;
        CREATE TABLE metric_hours (
            app_id INTEGER NOT NULL, series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
            sum REAL NOT NULL, min REAL, max REAL, last REAL NOT NULL, last_time INTEGER NOT NULL,
            counts TEXT NOT NULL,
            PRIMARY KEY (app_id, series_id, bucket)
        ) WITHOUT ROWID;
        """

    /// The stored series of `keys` (those that exist) and how many series each app has: ``IngestCommit``'s
    /// question for metric readings.
    func metricSeries(
        _ db: Database,
        keys: [Int64: Set<MetricSeriesKey>]
    ) throws -> (series: [MetricSeriesKey: StoredMetricSeries], counts: [Int64: Int]) {
        var series: [MetricSeriesKey: StoredMetricSeries] = [:]
        var counts: [Int64: Int] = [:]
        let lookup = try db.cachedStatement(
            sql: """
                SELECT \(Self.storedSeriesColumns) FROM metric_series
                WHERE app_id = ? AND name = ? AND host = ? AND process = ? AND attributes = ?
                """
        )
        let count = try db.cachedStatement(sql: "SELECT COUNT(*) FROM metric_series WHERE app_id = ?")
        let cached = metricSeriesCache.withLock { cache in cache }
        for (appID, appKeys) in keys {
            counts[appID] = try Int.fetchOne(count, arguments: [appID]) ?? 0
            for key in appKeys {
                if let known = cached[key] {
                    series[key] = known
                    continue
                }
                let arguments: StatementArguments = [key.appID, key.name, key.host, key.process, key.attributes]
                if let row = try Row.fetchOne(lookup, arguments: arguments) {
                    series[key] = Self.storedMetricSeries(row)
                }
            }
        }
        return (series, counts)
    }

    /// The columns ``storedMetricSeries(_:)`` reads, in its order (by position: looking a column up by name was a
    /// tenth of the ingest's time).
    static let storedSeriesColumns = """
        id, unit, kind, bounds, first_seen, last_seen, cumulative_start, cumulative_time, cumulative_value,
        cumulative_counts
        """

    static func storedMetricSeries(_ row: Row) -> StoredMetricSeries {
        var cumulative: CumulativeReading?
        if let start: Int64 = row[6], let time: Int64 = row[7] {
            cumulative = CumulativeReading(
                start: start,
                time: time,
                value: row[8] ?? 0,
                counts: MetricStorageText.counts(row[9] ?? "")
            )
        }
        return StoredMetricSeries(
            id: row[0],
            unit: row[1],
            kind: MetricPoint.Kind(storageCode: row[2]),
            bounds: MetricStorageText.bounds(row[3]),
            firstSeen: row[4],
            lastSeen: row[5],
            cumulative: cumulative
        )
    }

    /// Writes a plan's series (created or updated) and merges its minute and hour rows into the stored ones
    /// (``MetricAggregate/merged(with:)``, the rule both backends share).
    func writeMetrics(_ db: Database, _ plan: inout WritePlan) throws {
        guard !plan.metricSeries.isEmpty else { return }
        var ids: [MetricSeriesKey: Int64] = [:]
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO metric_series (app_id, host, process, name, attributes, unit, kind, bounds, first_seen,
                    last_seen, cumulative_start, cumulative_time, cumulative_value, cumulative_counts)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        let update = try db.cachedStatement(
            sql: """
                UPDATE metric_series SET last_seen = MAX(last_seen, ?), cumulative_start = ?, cumulative_time = ?,
                    cumulative_value = ?, cumulative_counts = ? WHERE id = ?
                """
        )
        for (key, series) in plan.metricSeries {
            let cumulative = series.cumulative
            let state: [(any DatabaseValueConvertible)?] = [
                cumulative?.start, cumulative?.time, cumulative?.value,
                cumulative.map { MetricStorageText.text($0.counts) },
            ]
            if let id = series.existingID {
                if series.needsWrite {
                    try update.execute(arguments: StatementArguments([series.lastSeen] + state + [id]))
                }
                ids[key] = id
            } else {
                try insert.execute(
                    arguments: StatementArguments(
                        [
                            key.appID, key.host, key.process, key.name, key.attributes, series.unit,
                            series.kind.storageCode, MetricStorageText.text(series.bounds), series.firstSeen,
                            series.lastSeen,
                        ] + state
                    )
                )
                ids[key] = db.lastInsertedRowID
            }
            plan.writtenMetricSeries[key] = StoredMetricSeries(
                id: ids[key] ?? 0,
                unit: series.unit,
                kind: series.kind,
                bounds: series.bounds,
                firstSeen: series.firstSeen,
                // What the row holds: a last seen not written (under a minute newer) is the stored one.
                lastSeen: series.needsWrite
                    ? max(series.storedLastSeen ?? series.lastSeen, series.lastSeen) : series.storedLastSeen ?? 0,
                cumulative: series.cumulative
            )
        }
        for (resolution, rows) in plan.metricRows {
            let table = resolution == .minute ? "metric_minutes" : "metric_hours"
            let read = try db.cachedStatement(
                sql: "SELECT \(Self.aggregateColumns) FROM \(table) WHERE app_id = ? AND series_id = ? AND bucket = ?"
            )
            let write = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO \(table)
                        (app_id, series_id, bucket, count, sum, min, max, last, last_time, counts)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for (key, aggregate) in rows {
                guard let id = ids[key.series] else { continue }
                var merged = aggregate
                if let row = try Row.fetchOne(read, arguments: [key.series.appID, id, key.bucket]) {
                    merged = Self.metricAggregate(row).merged(with: aggregate)
                }
                try write.execute(arguments: [
                    key.series.appID, id, key.bucket, Int64(clamping: merged.count), merged.sum, merged.min, merged.max,
                    merged.last,
                    merged.lastTime, MetricStorageText.text(merged.counts),
                ])
            }
        }
    }

    /// The columns ``metricAggregate(_:from:)`` reads, in its order.
    static let aggregateColumns = "count, sum, min, max, last, last_time, counts"

    /// A row's figures, from its columns ``aggregateColumns`` starting at `first`.
    static func metricAggregate(_ row: Row, from first: Int = 0) -> MetricAggregate {
        MetricAggregate(
            count: UInt64(clamping: row[first] as Int64),
            sum: row[first + 1],
            min: row[first + 2],
            max: row[first + 3],
            last: row[first + 4],
            lastTime: row[first + 5],
            counts: MetricStorageText.counts(row[first + 6])
        )
    }
}

extension SQLiteStore {
    /// As ``MetricStore`` describes it, on SQLite.
    public func metricSeries(appID: Int64, name: String?) async throws -> [MetricSeriesRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, name, host, process, attributes, unit, kind, bounds, first_seen, last_seen
                    FROM metric_series WHERE app_id = ? AND (? IS NULL OR name = ?)
                    ORDER BY name, host, process, attributes
                    """,
                arguments: [appID, name, name]
            ).map { row in
                MetricSeriesRecord(
                    id: row[0],
                    name: row[1],
                    host: row[2],
                    process: row[3],
                    attributes: LogAttributesCoding.decode(row[4]),
                    unit: row[5],
                    kind: MetricPoint.Kind(storageCode: row[6]),
                    bounds: MetricStorageText.bounds(row[7]),
                    firstSeen: row[8],
                    lastSeen: row[9]
                )
            }
        }
    }

    /// As ``MetricStore`` describes it, on SQLite.
    public func metricRows(
        appID: Int64,
        seriesIDs: [Int64],
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [MetricRowRecord] {
        guard !seriesIDs.isEmpty else { return [] }
        let table = resolution == .minute ? "metric_minutes" : "metric_hours"
        return try await writer.read { db in
            let ids = Array(repeating: "?", count: seriesIDs.count).joined(separator: ", ")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT series_id, bucket, \(Self.aggregateColumns) FROM \(table)
                    WHERE app_id = ? AND series_id IN (\(ids)) AND bucket >= ? AND bucket < ?
                    ORDER BY series_id, bucket
                    """,
                arguments: StatementArguments([appID] + seriesIDs + [range.lowerBound, range.upperBound])
            ).map { row in
                let aggregate = Self.metricAggregate(row, from: 2)
                return MetricRowRecord(
                    seriesID: row[0],
                    bucket: row[1],
                    count: aggregate.count,
                    sum: aggregate.sum,
                    min: aggregate.min,
                    max: aggregate.max,
                    last: aggregate.last,
                    lastTime: aggregate.lastTime,
                    counts: aggregate.counts
                )
            }
        }
    }
}

extension SQLiteStore {
    /// As ``MetricStore`` describes it, on SQLite.
    public func metricHosts(appIDs: [Int64]) async throws -> [MetricHostRecord] {
        guard !appIDs.isEmpty else { return [] }
        return try await writer.read { db in
            let ids = Array(repeating: "?", count: appIDs.count).joined(separator: ", ")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT host, app_id, MAX(last_seen) AS last_seen,
                        MAX(CASE WHEN name LIKE 'system.%' THEN 1 ELSE 0 END) AS system
                    FROM metric_series WHERE app_id IN (\(ids)) AND host <> ''
                    GROUP BY host, app_id ORDER BY host, app_id
                    """,
                arguments: StatementArguments(appIDs)
            ).map { row in
                MetricHostRecord(
                    host: row["host"],
                    appID: row["app_id"],
                    lastSeen: row["last_seen"],
                    hasSystemMetrics: (row["system"] as Int64) == 1
                )
            }
        }
    }
}
