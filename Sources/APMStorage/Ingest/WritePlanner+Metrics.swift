package import APMCore

/// A metric series: one app, host, process (0 for host-wide readings), name and attribute set.
package struct MetricSeriesKey: Sendable, Hashable {
    package var appID: Int64
    package var host: String
    package var process: Int64
    package var name: String
    /// The attributes as a JSON object with sorted keys (``WritePlanner/attributesJSON(_:)``), `{}` for none.
    package var attributes: String

    package init(appID: Int64, host: String, process: Int64, name: String, attributes: String) {
        self.appID = appID
        self.host = host
        self.process = process
        self.name = name
        self.attributes = attributes
    }
}

/// A stored series as ingest needs it: what it is, and the last reading of a cumulative one, from which the next
/// reading's increase is taken.
package struct StoredMetricSeries: Sendable, Hashable {
    package var id: Int64
    package var unit: String
    package var kind: MetricPoint.Kind
    /// A histogram's bucket bounds (every reading of the series has these).
    package var bounds: [Double]
    package var firstSeen: Double
    package var lastSeen: Double
    /// The last cumulative reading, when the series is cumulative.
    package var cumulative: CumulativeReading?

    package init(
        id: Int64,
        unit: String,
        kind: MetricPoint.Kind,
        bounds: [Double],
        firstSeen: Double,
        lastSeen: Double,
        cumulative: CumulativeReading?
    ) {
        self.id = id
        self.unit = unit
        self.kind = kind
        self.bounds = bounds
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.cumulative = cumulative
    }
}

/// A cumulative series' last reading: its start, time, value (a counter) or count, sum and bucket counts (a
/// histogram).
package struct CumulativeReading: Sendable, Hashable {
    package var start: Int64
    package var time: Int64
    package var value: Double
    package var counts: [UInt64]

    package init(start: Int64, time: Int64, value: Double, counts: [UInt64]) {
        self.start = start
        self.time = time
        self.value = value
        self.counts = counts
    }
}

/// What a series' readings add up to over a minute or an hour. A gauge keeps its readings' count, sum, extremes
/// and the last one; a counter the increases (``sum``) over its readings (``count``); a histogram its
/// observations' count, sum, extremes (when every reading had them) and bucket counts.
package struct MetricAggregate: Sendable, Hashable {
    package var count: UInt64
    package var sum: Double
    package var min: Double?
    package var max: Double?
    package var last: Double
    package var lastTime: Int64
    package var counts: [UInt64]

    package init(
        count: UInt64,
        sum: Double,
        min: Double?,
        max: Double?,
        last: Double,
        lastTime: Int64,
        counts: [UInt64] = []
    ) {
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
        self.last = last
        self.lastTime = lastTime
        self.counts = counts
    }

    /// Two aggregates of one series and slice as one: counts and sums add (counts saturate), extremes are the
    /// extremes of both (unknown if either is), the last reading is the later one, buckets add.
    package func merged(with other: MetricAggregate) -> MetricAggregate {
        var merged = self
        merged.count = count.addingSaturated(other.count)
        merged.sum = sum + other.sum
        merged.min = min.flatMap { mine in other.min.map { Swift.min(mine, $0) } }
        merged.max = max.flatMap { mine in other.max.map { Swift.max(mine, $0) } }
        if other.lastTime >= lastTime {
            merged.last = other.last
            merged.lastTime = other.lastTime
        }
        if counts.count == other.counts.count {
            merged.counts = zip(counts, other.counts).map { $0.addingSaturated($1) }
        }
        return merged
    }
}

extension WritePlan {
    /// A series a commit writes: created (``existingID`` nil) or updated.
    package struct MetricSeriesWrite: Sendable, Hashable {
        package var existingID: Int64?
        package var unit: String
        package var kind: MetricPoint.Kind
        package var bounds: [Double]
        package var firstSeen: Double
        package var lastSeen: Double
        package var cumulative: CumulativeReading?
        /// The last seen the store holds (`nil` for a new series).
        package var storedLastSeen: Double?
        /// Whether the cumulative reading changed.
        package var cumulativeChanged = false

        /// How far last seen may lag: a series' row is written again for a newer cumulative reading, or once its
        /// last seen moved a minute (not on every reading of a gauge: that was a write per reading).
        package static let lastSeenGranularity = 60.0

        /// Whether the store's row of the series must be written.
        package var needsWrite: Bool {
            existingID == nil || cumulativeChanged || lastSeen - (storedLastSeen ?? 0) >= Self.lastSeenGranularity
        }
    }

    package struct MetricRowKey: Sendable, Hashable {
        package var series: MetricSeriesKey
        package var bucket: Int64

        package init(series: MetricSeriesKey, bucket: Int64) {
            self.series = series
            self.bucket = bucket
        }
    }

    /// Readings a commit did not store, by reason.
    package struct MetricRefusals: Sendable, Hashable {
        package var count: UInt64 = 0
        package var reasons: Set<String> = []

        package init() {}

        mutating func add(_ reason: String) {
            count = count.addingSaturated(1)
            reasons.insert(reason)
        }
    }
}

extension WritePlanner {
    /// How far before its first reading a cumulative series' start may be for that reading to count from the start
    /// (a process that just started); an older start makes the first reading a baseline only.
    package static let freshStartWindowNanoseconds: Int64 = 600_000_000_000

    /// The series of a batch's reading, whose attributes as stored are `attributes`.
    package static func metricSeriesKey(
        _ point: MetricPoint,
        attributes: String,
        appID: Int64,
        agent: AgentIdentity
    ) -> MetricSeriesKey {
        MetricSeriesKey(
            appID: appID,
            host: agent.host,
            process: Int64(agent.pid),
            name: point.name,
            attributes: attributes
        )
    }

    /// Adds a batch's metric readings: each series found or created under the app's cap (``CardinalityLimits``
    /// `maxMetricSeries`), cumulative readings turned into increases over the series' previous reading, and every
    /// reading added to its minute and hour.
    func addMetrics(
        _ batch: AgentBatch,
        appID: Int64,
        receivedAt: Double,
        attributes: [String],
        series stored: [MetricSeriesKey: StoredMetricSeries],
        seriesCount: inout Int,
        to plan: inout WritePlan,
        refusals: inout WritePlan.MetricRefusals
    ) {
        let ordered = batch.metrics.enumerated().sorted {
            ($0.element.timeUnixNano, $0.offset) < ($1.element.timeUnixNano, $1.offset)
        }
        for (offset, point) in ordered {
            let key = Self.metricSeriesKey(point, attributes: attributes[offset], appID: appID, agent: batch.agent)
            var series: WritePlan.MetricSeriesWrite
            if let planned = plan.metricSeries[key] {
                series = planned
            } else if let found = stored[key] {
                series = WritePlan.MetricSeriesWrite(
                    existingID: found.id,
                    unit: found.unit,
                    kind: found.kind,
                    bounds: found.bounds,
                    firstSeen: found.firstSeen,
                    lastSeen: found.lastSeen,
                    cumulative: found.cumulative,
                    storedLastSeen: found.lastSeen
                )
            } else {
                guard seriesCount < limits.maxMetricSeries else {
                    refusals.add(
                        "new series past the app's \(limits.maxMetricSeries) (max_metric_series) were not stored"
                    )
                    continue
                }
                seriesCount += 1
                series = WritePlan.MetricSeriesWrite(
                    existingID: nil,
                    unit: point.unit,
                    kind: point.kind,
                    bounds: point.histogram?.bounds ?? [],
                    firstSeen: receivedAt,
                    lastSeen: receivedAt,
                    cumulative: nil
                )
            }
            guard series.kind == point.kind, series.unit == point.unit,
                series.bounds == (point.histogram?.bounds ?? [])
            else {
                refusals.add("a reading whose kind, unit or bucket bounds differ from its series' was not stored")
                continue
            }
            guard let aggregate = Self.increase(point, series: &series) else {
                if point.temporality == .cumulative, let last = series.cumulative, point.timeUnixNano <= last.time {
                    refusals.add("a cumulative reading no later than its series' last one was not stored")
                }
                plan.metricSeries[key] = series
                continue
            }
            series.lastSeen = Swift.max(series.lastSeen, receivedAt)
            plan.metricSeries[key] = series
            let seconds = point.timeUnixNano / 1_000_000_000
            for resolution in [SliceResolution.minute, .hour] {
                let rowKey = WritePlan.MetricRowKey(series: key, bucket: seconds - seconds % resolution.seconds)
                let existing = plan.metricRows[resolution]?[rowKey]
                plan.metricRows[resolution, default: [:]][rowKey] = existing?.merged(with: aggregate) ?? aggregate
            }
        }
    }

    /// What a reading adds to its minute, updating the series' cumulative state; `nil` when it adds nothing (a
    /// cumulative series' baseline, or a reading no later than the last one).
    static func increase(_ point: MetricPoint, series: inout WritePlan.MetricSeriesWrite) -> MetricAggregate? {
        let time = point.timeUnixNano
        switch (point.kind, point.temporality) {
        case (.gauge, _):
            return MetricAggregate(
                count: 1,
                sum: point.value,
                min: point.value,
                max: point.value,
                last: point.value,
                lastTime: time
            )
        case (.counter, .delta):
            return MetricAggregate(
                count: 1,
                sum: point.value,
                min: point.value,
                max: point.value,
                last: point.value,
                lastTime: time
            )
        case (.histogram, .delta):
            guard let histogram = point.histogram else { return nil }
            return MetricAggregate(
                count: histogram.count,
                sum: histogram.sum ?? 0,
                min: histogram.min,
                max: histogram.max,
                last: histogram.sum ?? 0,
                lastTime: time,
                counts: histogram.counts
            )
        case (_, .cumulative):
            let previous = series.cumulative
            if let previous, time <= previous.time { return nil }
            let reading = CumulativeReading(
                start: point.startTimeUnixNano,
                time: time,
                value: point.histogram?.sum ?? point.value,
                counts: point.histogram.map { [$0.count] + $0.counts } ?? []
            )
            series.cumulative = reading
            series.cumulativeChanged = true
            // Counted from the series' start: a new series whose start is recent, a restart (the start moved), or
            // a reset (a count went down). Otherwise the increase over the previous reading; a first reading of a
            // series that started long ago is only the baseline.
            let fromStart: Bool
            if let previous {
                fromStart =
                    (reading.start != 0 && reading.start != previous.start)
                    || (point.kind == .counter && reading.value < previous.value)
                    || zip(reading.counts, previous.counts).contains { $0 < $1 }
                    || reading.counts.count != previous.counts.count
            } else {
                guard reading.start != 0, time - reading.start <= freshStartWindowNanoseconds else { return nil }
                fromStart = true
            }
            return cumulativeIncrease(point, reading: reading, over: fromStart ? nil : previous)
        }
    }

    private static func cumulativeIncrease(
        _ point: MetricPoint,
        reading: CumulativeReading,
        over previous: CumulativeReading?
    ) -> MetricAggregate {
        let time = point.timeUnixNano
        guard let histogram = point.histogram else {
            let increase = reading.value - (previous?.value ?? 0)
            return MetricAggregate(
                count: 1,
                sum: increase,
                min: increase,
                max: increase,
                last: point.value,
                lastTime: time
            )
        }
        guard let previous else {
            return MetricAggregate(
                count: histogram.count,
                sum: histogram.sum ?? 0,
                min: histogram.min,
                max: histogram.max,
                last: histogram.sum ?? 0,
                lastTime: time,
                counts: histogram.counts
            )
        }
        // The extremes of a cumulative histogram are over its whole life, not the interval: unknown here.
        let counts = zip(reading.counts, previous.counts).map { $0 - $1 }
        return MetricAggregate(
            count: counts.first ?? 0,
            sum: reading.value - previous.value,
            min: nil,
            max: nil,
            last: histogram.sum ?? 0,
            lastTime: time,
            counts: Array(counts.dropFirst())
        )
    }
}
