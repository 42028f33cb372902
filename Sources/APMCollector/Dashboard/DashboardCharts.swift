extension SVGChart {
    /// The charts of a series of figures, the same for an app and for one transaction: response time stacked
    /// by category with the p95 line, percentiles, throughput, Apdex with its T, and error rate, each with the
    /// range's deployment markers.
    ///
    /// - Parameters:
    ///   - series: The series (one point per bucket).
    ///   - t: The Apdex T shown in the Apdex chart's title.
    /// - Returns: The charts, in page order.
    static func figureCharts(_ series: APISeries, t: Double) -> [SVGChart] {
        let points = series.points
        let times = points.map(\.start)
        let markers = series.deployments.map { (at: $0.at, label: $0.revision) }
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
                markers: markers
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
                markers: markers
            ),
            SVGChart(
                title: "Throughput",
                unit: "rpm",
                times: times,
                series: [.init(label: "requests per minute", color: "#0969da", values: points.map(\.rpm))],
                markers: markers
            ),
            SVGChart(
                title: "Apdex (T = \(t) s)",
                unit: "",
                times: times,
                series: [.init(label: "Apdex", color: "#1a7f37", values: points.map(\.apdex.score))],
                markers: markers
            ),
            SVGChart(
                title: "Error rate",
                unit: "%",
                times: times,
                series: [.init(label: "errors", color: "#cf222e", values: values { ($0.errorRate ?? 0) * 100 })],
                markers: markers
            ),
        ]
    }
}
