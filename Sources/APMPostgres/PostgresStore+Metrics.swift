import APMCore
public import APMStorage
import Foundation
import PostgresNIO

extension PostgresStore {
    /// The stored series of `keys` (those that exist) and how many series each app has: ``IngestCommit``'s
    /// question for metric readings, two queries for all the apps of a commit (under their locks).
    func metricSeries(
        _ connection: PostgresConnection,
        keys: [Int64: Set<MetricSeriesKey>]
    ) async throws -> (series: [MetricSeriesKey: StoredMetricSeries], counts: [Int64: Int]) {
        guard !keys.isEmpty else { return ([:], [:]) }
        let all = keys.values.flatMap { $0 }
        var series: [MetricSeriesKey: StoredMetricSeries] = [:]
        for row in try await connection.rows(
            """
            SELECT s.* FROM metric_series s
            JOIN unnest(\(all.map(\.appID))::bigint[], \(all.map(\.name))::text[], \(all.map(\.host))::text[],
                \(all.map(\.process))::bigint[], \(all.map(\.attributes))::text[]) AS k(app_id, name, host, process, attributes)
            ON s.app_id = k.app_id AND s.name = k.name AND s.host = k.host AND s.process = k.process
                AND s.attributes = k.attributes
            """,
            logger
        ) {
            let key = MetricSeriesKey(
                appID: try row.get("app_id"),
                host: try row.get("host"),
                process: try row.get("process"),
                name: try row.get("name"),
                attributes: try row.get("attributes")
            )
            series[key] = try Self.storedMetricSeries(row)
        }
        var counts: [Int64: Int] = [:]
        for appID in keys.keys { counts[appID] = 0 }
        for row in try await connection.rows(
            """
            SELECT app_id, count(*) AS series FROM metric_series WHERE app_id = ANY(\(Array(keys.keys))::bigint[])
            GROUP BY app_id
            """,
            logger
        ) {
            counts[try row.get("app_id")] = Int(try row.get("series", as: Int64.self))
        }
        return (series, counts)
    }

    static func storedMetricSeries(_ row: PostgresRandomAccessRow) throws -> StoredMetricSeries {
        var cumulative: CumulativeReading?
        if let start = try row.get("cumulative_start", as: Int64?.self),
            let time = try row.get("cumulative_time", as: Int64?.self)
        {
            cumulative = CumulativeReading(
                start: start,
                time: time,
                value: try row.get("cumulative_value", as: Double?.self) ?? 0,
                counts: MetricStorageText.counts(try row.get("cumulative_counts", as: String?.self) ?? "")
            )
        }
        return StoredMetricSeries(
            id: try row.get("id"),
            unit: try row.get("unit"),
            kind: MetricPoint.Kind(storageCode: try row.get("kind", as: Int16.self)),
            bounds: MetricStorageText.bounds(try row.get("bounds")),
            firstSeen: try row.get("first_seen"),
            lastSeen: try row.get("last_seen"),
            cumulative: cumulative
        )
    }

    /// Writes a plan's series (created or updated) and merges its minute and hour rows into the stored ones
    /// (``MetricAggregate/merged(with:)``, the rule both backends share).
    func writeMetrics(_ connection: PostgresConnection, _ plan: WritePlan) async throws {
        guard !plan.metricSeries.isEmpty else { return }
        var ids: [MetricSeriesKey: Int64] = [:]
        let existing = plan.metricSeries.compactMap { key, series in series.existingID.map { (key, series, $0) } }
        for (key, _, id) in existing { ids[key] = id }
        try await updateSeries(connection, existing.filter { $0.1.needsWrite }.map { ($0.0, $0.1, $0.2) })
        let created = plan.metricSeries.filter { $0.value.existingID == nil }
        ids.merge(try await insertSeries(connection, created)) { $1 }
        for (resolution, rows) in plan.metricRows {
            var byID: [MetricRowID: MetricAggregate] = [:]
            for (key, aggregate) in rows {
                guard let id = ids[key.series] else { continue }
                byID[MetricRowID(appID: key.series.appID, seriesID: id, bucket: key.bucket)] = aggregate
            }
            try await writeMetricRows(
                connection,
                byID,
                table: resolution == .minute ? "metric_minutes" : "metric_hours"
            )
        }
    }

    /// The series' last seen and cumulative readings, in one statement. A reading that is not cumulative travels
    /// as a NULL start (arrays of optionals are not PostgreSQL parameters: `-1` stands for none).
    private func updateSeries(
        _ connection: PostgresConnection,
        _ series: [(key: MetricSeriesKey, write: WritePlan.MetricSeriesWrite, id: Int64)]
    ) async throws {
        guard !series.isEmpty else { return }
        let cumulative = series.map(\.write.cumulative)
        try await connection.execute(
            """
            UPDATE metric_series s SET last_seen = GREATEST(s.last_seen, u.last_seen),
                cumulative_start = NULLIF(u.start, -1), cumulative_time = NULLIF(u.time, -1),
                cumulative_value = CASE WHEN u.start = -1 THEN NULL ELSE u.value END,
                cumulative_counts = CASE WHEN u.start = -1 THEN NULL ELSE u.counts END
            FROM unnest(\(series.map(\.key.appID))::bigint[], \(series.map(\.id))::bigint[],
                \(series.map(\.write.lastSeen))::float8[], \(cumulative.map { $0?.start ?? -1 })::bigint[],
                \(cumulative.map { $0?.time ?? -1 })::bigint[], \(cumulative.map { $0?.value ?? 0 })::float8[],
                \(cumulative.map { $0.map { MetricStorageText.text($0.counts) } ?? "" })::text[])
                AS u(app_id, id, last_seen, start, time, value, counts)
            WHERE s.app_id = u.app_id AND s.id = u.id
            """,
            logger
        )
    }

    /// New series in one statement, with their ids.
    private func insertSeries(
        _ connection: PostgresConnection,
        _ created: [MetricSeriesKey: WritePlan.MetricSeriesWrite]
    ) async throws -> [MetricSeriesKey: Int64] {
        guard !created.isEmpty else { return [:] }
        let keys = Array(created.keys)
        let writes = keys.map { created[$0]! }
        let cumulative = writes.map(\.cumulative)
        var ids: [MetricSeriesKey: Int64] = [:]
        for row in try await connection.rows(
            """
            INSERT INTO metric_series (app_id, host, process, name, attributes, unit, kind, bounds, first_seen,
                last_seen, cumulative_start, cumulative_time, cumulative_value, cumulative_counts)
            SELECT app_id, host, process, name, attributes, unit, kind, bounds, first_seen, last_seen,
                NULLIF(start, -1), NULLIF(time, -1), CASE WHEN start = -1 THEN NULL ELSE value END,
                CASE WHEN start = -1 THEN NULL ELSE counts END
            FROM unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.host))::text[], \(keys.map(\.process))::bigint[],
                \(keys.map(\.name))::text[], \(keys.map(\.attributes))::text[], \(writes.map(\.unit))::text[],
                \(writes.map(\.kind.storageCode))::int2[], \(writes.map { MetricStorageText.text($0.bounds) })::text[],
                \(writes.map(\.firstSeen))::float8[], \(writes.map(\.lastSeen))::float8[],
                \(cumulative.map { $0?.start ?? -1 })::bigint[], \(cumulative.map { $0?.time ?? -1 })::bigint[],
                \(cumulative.map { $0?.value ?? 0 })::float8[],
                \(cumulative.map { $0.map { MetricStorageText.text($0.counts) } ?? "" })::text[])
                AS n(app_id, host, process, name, attributes, unit, kind, bounds, first_seen, last_seen, start, time,
                    value, counts)
            RETURNING app_id, host, process, name, attributes, id
            """,
            logger
        ) {
            let key = MetricSeriesKey(
                appID: try row.get("app_id"),
                host: try row.get("host"),
                process: try row.get("process"),
                name: try row.get("name"),
                attributes: try row.get("attributes")
            )
            ids[key] = try row.get("id")
        }
        return ids
    }

    /// A metric row's key as stored: the series by its id.
    private struct MetricRowID: Hashable {
        var appID: Int64
        var seriesID: Int64
        var bucket: Int64
    }

    private func writeMetricRows(
        _ connection: PostgresConnection,
        _ rows: [MetricRowID: MetricAggregate],
        table: String
    ) async throws {
        guard !rows.isEmpty else { return }
        try await mergeRows(
            connection,
            rows,
            read: { keys in
                """
                SELECT t.* FROM \(unescaped: table) t
                JOIN unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.seriesID))::bigint[],
                    \(keys.map(\.bucket))::bigint[]) AS k(app_id, series_id, bucket)
                ON t.app_id = k.app_id AND t.series_id = k.series_id AND t.bucket = k.bucket
                """
            },
            stored: { row -> (MetricRowID, MetricAggregate)? in
                let key = MetricRowID(
                    appID: try row.get("app_id"),
                    seriesID: try row.get("series_id"),
                    bucket: try row.get("bucket")
                )
                let aggregate = MetricAggregate(
                    count: UInt64(clamping: try row.get("count", as: Int64.self)),
                    sum: try row.get("sum"),
                    min: try row.get("min", as: Double?.self),
                    max: try row.get("max", as: Double?.self),
                    last: try row.get("last"),
                    lastTime: try row.get("last_time"),
                    counts: MetricStorageText.counts(try row.get("counts"))
                )
                return (key, aggregate)
            },
            merge: { stored, new in stored.merged(with: new) },
            write: { keys, values in
                // Unknown extremes travel as NaN (an array of optionals is not a PostgreSQL parameter type).
                """
                INSERT INTO \(unescaped: table) (app_id, series_id, bucket, count, sum, min, max, last, last_time, counts)
                SELECT app_id, series_id, bucket, count, sum, NULLIF(min, 'NaN'), NULLIF(max, 'NaN'), last, last_time, counts
                FROM unnest(\(keys.map(\.appID))::bigint[], \(keys.map(\.seriesID))::bigint[],
                    \(keys.map(\.bucket))::bigint[], \(values.map { Int64(clamping: $0.count) })::bigint[],
                    \(values.map(\.sum))::float8[], \(values.map { $0.min ?? .nan })::float8[],
                    \(values.map { $0.max ?? .nan })::float8[], \(values.map(\.last))::float8[],
                    \(values.map(\.lastTime))::bigint[], \(values.map { MetricStorageText.text($0.counts) })::text[])
                    AS k(app_id, series_id, bucket, count, sum, min, max, last, last_time, counts)
                ON CONFLICT (app_id, series_id, bucket) DO UPDATE SET
                    count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,
                    last = excluded.last, last_time = excluded.last_time, counts = excluded.counts
                """
            }
        )
    }
}

extension PostgresStore {
    /// As ``MetricStore`` describes it, on PostgreSQL.
    public func metricSeries(appID: Int64, name: String?) async throws -> [MetricSeriesRecord] {
        try await rows(
            """
            SELECT * FROM metric_series WHERE app_id = \(appID) AND (\(name)::text IS NULL OR name = \(name))
            ORDER BY name, host, process, attributes
            """
        ).map { row in
            MetricSeriesRecord(
                id: try row.get("id"),
                name: try row.get("name"),
                host: try row.get("host"),
                process: try row.get("process"),
                attributes: LogAttributesCoding.decode(try row.get("attributes")),
                unit: try row.get("unit"),
                kind: MetricPoint.Kind(storageCode: try row.get("kind", as: Int16.self)),
                bounds: MetricStorageText.bounds(try row.get("bounds")),
                firstSeen: try row.get("first_seen"),
                lastSeen: try row.get("last_seen")
            )
        }
    }

    /// As ``MetricStore`` describes it, on PostgreSQL.
    public func metricRows(
        appID: Int64,
        seriesIDs: [Int64],
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [MetricRowRecord] {
        guard !seriesIDs.isEmpty else { return [] }
        let table = resolution == .minute ? "metric_minutes" : "metric_hours"
        return try await rows(
            """
            SELECT * FROM \(unescaped: table) WHERE app_id = \(appID) AND series_id = ANY(\(seriesIDs)::bigint[])
                AND bucket >= \(range.lowerBound) AND bucket < \(range.upperBound)
            ORDER BY series_id, bucket
            """
        ).map { row in
            MetricRowRecord(
                seriesID: try row.get("series_id"),
                bucket: try row.get("bucket"),
                count: UInt64(clamping: try row.get("count", as: Int64.self)),
                sum: try row.get("sum"),
                min: try row.get("min", as: Double?.self),
                max: try row.get("max", as: Double?.self),
                last: try row.get("last"),
                lastTime: try row.get("last_time"),
                counts: MetricStorageText.counts(try row.get("counts"))
            )
        }
    }
}

extension PostgresStore {
    /// As ``MetricStore`` describes it, on PostgreSQL.
    public func metricHosts(appIDs: [Int64]) async throws -> [MetricHostRecord] {
        guard !appIDs.isEmpty else { return [] }
        return try await rows(
            """
            SELECT host, app_id, MAX(last_seen) AS last_seen, bool_or(name LIKE 'system.%') AS system
            FROM metric_series WHERE app_id = ANY(\(appIDs)::bigint[]) AND host <> ''
            GROUP BY host, app_id ORDER BY host, app_id
            """
        ).map { row in
            MetricHostRecord(
                host: try row.get("host"),
                appID: try row.get("app_id"),
                lastSeen: try row.get("last_seen"),
                hasSystemMetrics: try row.get("system")
            )
        }
    }
}
