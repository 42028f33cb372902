import APMCore
import Foundation

extension SVGChart {
    /// Colours of a metric chart's groups, in order.
    static let palette = ["#0969da", "#1a7f37", "#bf8700", "#8250df", "#cf222e", "#1b7c83", "#6e7781", "#bc4c00"]
    /// Groups drawn in one chart at most (the rest are named below it).
    static let maxGroups = palette.count

    /// A chart of one metric, a line per group: a gauge's mean, a counter's rate per second, a histogram's p95.
    /// Shares (`1`) are drawn as percentages, bytes as MiB (KiB per second for a rate).
    ///
    /// - Parameters:
    ///   - metric: The metric's groups over the range.
    ///   - title: The chart's title (the metric's name when `nil`).
    ///   - now: The current time: buckets not yet settled are left out.
    ///   - height: The chart's height (50 or less: a sparkline).
    /// - Returns: The chart.
    static func metricChart(
        _ metric: APIMetricSeries,
        title: String? = nil,
        now: Int64,
        height: Double = 180
    )
        -> SVGChart
    {
        let times = Array(stride(from: metric.from, to: metric.to, by: Int(metric.bucketSeconds)))
        let (scale, unit, what) = Self.metricScale(metric)
        let series = metric.groups.prefix(maxGroups).enumerated().map { index, group in
            var values = [Double?](repeating: nil, count: times.count)
            for point in group.points {
                let slot = Int((point.time - metric.from) / metric.bucketSeconds)
                guard slot >= 0 && slot < values.count else { continue }
                let value: Double?
                switch metric.kind {
                case .gauge: value = point.avg
                case .counter: value = point.rate
                case .histogram: value = point.p95
                }
                values[slot] = value.map { $0 * scale }
            }
            return Series(
                label: group.label.isEmpty ? "(none)" : group.label,
                color: palette[index % palette.count],
                values: values
            )
        }
        return SVGChart(
            title: (title ?? metric.name) + " (\(what))",
            unit: unit,
            times: times,
            series: series,
            drawnThrough: settledThrough(now: now, bucketSeconds: metric.bucketSeconds),
            height: height,
            notice: series.isEmpty ? "no readings in this range" : nil
        )
    }

    /// How a metric's values are drawn: the factor, the axis unit and what a line shows.
    static func metricScale(_ metric: APIMetricSeries) -> (scale: Double, unit: String, what: String) {
        switch (metric.kind, metric.unit) {
        case (.gauge, "1"): (100, "%", "mean, %")
        case (.gauge, "By"): (1.0 / 1_048_576, "", "mean, MiB")
        case (.gauge, let unit): (1, "", unit.isEmpty ? "mean" : "mean, \(unit)")
        case (.counter, "By"): (1.0 / 1024, "", "KiB per second")
        case (.counter, let unit): (1, "", unit.isEmpty ? "per second" : "\(unit) per second")
        case (.histogram, "s"): (1000, "ms", "p95")
        case (.histogram, "ms"): (1, "ms", "p95")
        case (.histogram, let unit): (1, "", unit.isEmpty ? "p95" : "p95, \(unit)")
        }
    }
}
