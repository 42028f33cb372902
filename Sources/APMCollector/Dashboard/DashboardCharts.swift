import APMStorage

extension SVGChart {

    /// The charts of a series of figures, the same for an app and for one transaction: response time stacked
    /// by category with the p95 line, percentiles, throughput, Apdex with its T, and error rate, each with the
    /// range's deployment markers.
    ///
    /// - Parameters:
    ///   - series: The series (one point per bucket).
    ///   - t: The Apdex T shown in the Apdex chart's title.
    ///   - now: The current time: buckets not yet settled (``settleSeconds``) are left out.
    /// - Returns: The charts, in page order.
    static func figureCharts(_ series: APISeries, t: Double, now: Int64) -> [SVGChart] {
        let points = series.points
        let times = points.map(\.start)
        let markers = series.deployments.map { (at: $0.at, label: $0.revision) }
        // The band covers the data that breached (from the first bad window's start to the last bad window's
        // end), not the evaluations: an incident opens after the dip and resolves a whole window after recovery.
        let incidents = series.incidents.map { incident in
            let opened = timeLabels([incident.openedAt])[0]
            let resolved = incident.resolvedAt.map { ", resolved at \(timeLabels([$0])[0])" } ?? " (open)"
            return (
                from: Double(incident.breachFrom ?? incident.openedAt),
                to: incident.state == "open"
                    ? nil : Double(incident.breachTo ?? incident.resolvedAt ?? incident.openedAt),
                label: "#\(incident.id) \(incident.severity): opened at \(opened)\(resolved)"
            )
        }
        let drawnThrough = settledThrough(now: now, bucketSeconds: series.bucketSeconds)
        // A bucket without requests has no response time: a gap, not a zero.
        func values(_ value: (APIFigures) -> Double?) -> [Double?] { points.map { $0.count > 0 ? value($0) : nil } }
        func milliseconds(_ value: @escaping (APIFigures) -> Double?) -> [Double?] {
            values { value($0).map { $0 * 1000 } }
        }
        return [
            SVGChart(
                title: "Response time by category (ms per request)",
                unit: "ms",
                times: times,
                series: [
                    .init(label: "database", color: "#bf8700", values: milliseconds { $0.breakdown.database }),
                    .init(label: "external", color: "#8250df", values: milliseconds { $0.breakdown.external }),
                    .init(label: "application", color: "#0969da", values: milliseconds { $0.breakdown.application }),
                ],
                stacked: true,
                overlay: [.init(label: "p95", color: "#cf222e", values: milliseconds(\.p95))],
                markers: markers,
                incidents: incidents,
                drawnThrough: drawnThrough
            ),
            SVGChart(
                title: "Percentiles (ms)",
                unit: "ms",
                times: times,
                series: [
                    .init(label: "p50", color: "#1a7f37", values: milliseconds(\.p50)),
                    .init(label: "p95", color: "#bf8700", values: milliseconds(\.p95)),
                    .init(label: "p99", color: "#cf222e", values: milliseconds(\.p99)),
                ],
                markers: markers,
                incidents: incidents,
                drawnThrough: drawnThrough
            ),
            SVGChart(
                title: "Throughput",
                unit: "rpm",
                times: times,
                series: [.init(label: "requests per minute", color: "#0969da", values: points.map(\.rpm))],
                markers: markers,
                incidents: incidents,
                drawnThrough: drawnThrough
            ),
            SVGChart(
                title: "Apdex (T = \(t) s)",
                unit: "",
                times: times,
                series: [.init(label: "Apdex", color: "#1a7f37", values: points.map(\.apdex.score))],
                markers: markers,
                incidents: incidents,
                drawnThrough: drawnThrough
            ),
            SVGChart(
                title: "Error rate",
                unit: "%",
                times: times,
                series: [.init(label: "errors", color: "#cf222e", values: values { ($0.errorRate ?? 0) * 100 })],
                markers: markers,
                incidents: incidents,
                drawnThrough: drawnThrough
            ),
        ]
    }

    /// The process charts from `apm run-program`'s samples, on the same buckets as the other charts (the
    /// average of the minutes in each bucket).
    ///
    /// - Parameters:
    ///   - slices: Per-minute process rows.
    ///   - range: The page's range.
    ///   - markers: Deployment markers.
    ///   - now: The current time: buckets not yet settled are left out.
    /// - Returns: CPU and memory charts, or none when no process was watched.
    static func processCharts(
        _ slices: [APIProcessSample],
        range: TimeRange,
        markers: [(at: Double, label: String)],
        now: Int64
    ) -> [SVGChart] {
        guard !slices.isEmpty else { return [] }
        let drawnThrough = settledThrough(now: now, bucketSeconds: range.bucketSeconds)
        let times = Array(stride(from: range.from, to: range.to, by: Int(range.bucketSeconds)))
        var sums = [(cpu: Double, memory: Double, minutes: Int)](repeating: (0, 0, 0), count: times.count)
        for slice in slices {
            let index = Int((slice.bucket - range.from) / range.bucketSeconds)
            guard index >= 0 && index < sums.count else { continue }
            sums[index].cpu += slice.cpuPercent
            sums[index].memory += slice.residentBytes
            sums[index].minutes += 1
        }
        func average(_ value: ((cpu: Double, memory: Double, minutes: Int)) -> Double) -> [Double?] {
            sums.map { $0.minutes > 0 ? value($0) / Double($0.minutes) : nil }
        }
        return [
            SVGChart(
                title: "Process CPU (% of one core)",
                unit: "%",
                times: times,
                series: [.init(label: "CPU", color: "#0969da", values: average(\.cpu))],
                markers: markers,
                drawnThrough: drawnThrough
            ),
            SVGChart(
                title: "Process memory (MiB)",
                unit: "",
                times: times,
                series: [.init(label: "resident", color: "#8250df", values: average { $0.memory / 1_048_576 })],
                markers: markers,
                drawnThrough: drawnThrough
            ),
        ]
    }
}
