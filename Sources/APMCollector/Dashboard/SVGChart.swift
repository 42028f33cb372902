import Foundation

/// Inline SVG charts drawn by the collector: axes with units, a legend, and a `<title>` per point so the
/// browser shows the value on hover. No script, no CDN.
struct SVGChart {
    struct Series {
        var label: String
        var color: String
        var values: [Double?]
    }

    var title: String
    var unit: String
    var times: [Int64]
    var series: [Series]
    var stacked = false
    /// Lines drawn over stacked series without stacking (a p95 line over the stacked breakdown), dashed.
    var overlay: [Series] = []
    var markers: [(at: Double, label: String)] = []
    /// Alert incidents: a red band from opening to resolution (to the chart's end while open).
    var incidents: [(from: Double, to: Double?, label: String)] = []
    /// Buckets starting after this time (Unix seconds) are not drawn: their data is still arriving.
    var drawnThrough: Int64?
    var width = 560.0
    var height = 180.0
    /// Said across an empty plot: why nothing is drawn yet.
    var notice: String?

    /// Sparklines (a row of a table): no axes, labels, points or legend.
    private var compact: Bool { height <= 50 }
    private var left: Double { compact ? 2 : 56 }
    private var right: Double { compact ? 2 : 8 }
    private var top: Double { compact ? 2 : 8 }
    private var bottom: Double { compact ? 2 : 24 }

    /// How long after a bucket ends its data is taken as complete (``CollectorQueries/settleSeconds``).
    static let settleSeconds = CollectorQueries.settleSeconds

    /// `drawnThrough` for a chart of `bucketSeconds` buckets at `now`: a bucket is drawn once it ended
    /// ``settleSeconds`` ago.
    static func settledThrough(now: Int64, bucketSeconds: Int64) -> Int64 {
        now - settleSeconds - bucketSeconds
    }

    func render() -> String {
        guard let drawnThrough else { return rendered() }
        var chart = self
        chart.drawnThrough = nil
        func mask(_ series: Series) -> Series {
            var series = series
            series.values = series.values.enumerated().map { index, value in
                index < times.count && times[index] <= drawnThrough ? value : nil
            }
            return series
        }
        chart.series = series.map(mask)
        chart.overlay = overlay.map(mask)
        let drawsNothing = (chart.series + chart.overlay).allSatisfy { $0.values.allSatisfy { $0 == nil } }
        // Data that is only in buckets still arriving: say when the first point appears, not an empty chart.
        let firstPending = times.indices.first { index in
            (series + overlay).contains { index < $0.values.count && $0.values[index] != nil }
        }
        if drawsNothing, chart.notice == nil, let firstPending {
            let bucket = times.count > 1 ? times[1] - times[0] : 60
            let appears = times[firstPending] + bucket + Self.settleSeconds
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "HH:mm:ss"
            chart.notice =
                "Data is drawn once its minute is complete: the first point appears at "
                + "\(formatter.string(from: Date(timeIntervalSince1970: Double(appears)))) UTC (reload then)"
        }
        return chart.rendered()
    }

    /// Where a value and a bucket are drawn.
    private struct Geometry {
        let left: Double
        let top: Double
        let plotWidth: Double
        let plotHeight: Double
        let maximum: Double
        let count: Int

        func x(_ index: Int) -> Double {
            left + (count <= 1 ? 0 : Double(index) / Double(count - 1) * plotWidth)
        }

        func y(_ value: Double) -> Double { top + plotHeight - (maximum > 0 ? value / maximum * plotHeight : 0) }
    }

    /// The series to draw, and whether each stacks on the ones before it.
    private var drawn: [(series: Series, stacks: Bool)] {
        series.map { (series: $0, stacks: stacked) } + overlay.map { (series: $0, stacks: false) }
    }

    private func geometry() -> Geometry {
        var totals = [Double](repeating: 0, count: times.count)
        var maximum = 0.0
        for (series, stacks) in drawn {
            for (index, value) in series.values.enumerated() where index < totals.count {
                if stacks {
                    totals[index] += value ?? 0
                    maximum = max(maximum, totals[index])
                } else {
                    maximum = max(maximum, value ?? 0)
                }
            }
        }
        return Geometry(
            left: left,
            top: top,
            plotWidth: width - left - right,
            plotHeight: height - top - bottom,
            maximum: Self.niceCeiling(maximum),
            count: times.count
        )
    }

    private func rendered() -> String {
        let plot = geometry()
        var svg = """
            <svg class="chart-svg" role="img" aria-label="\(HTML.escape(title))" viewBox="0 0 \(Int(width)) \(Int(height))" \
            width="\(Int(width))" height="\(Int(height))" xmlns="http://www.w3.org/2000/svg" font-size="10">
            """
        let timeLabels = compact ? [] : Self.timeLabels(times)
        if !compact { svg += axes(plot, timeLabels: timeLabels) }
        var baseline = [Double](repeating: 0, count: times.count)
        for (series, stacks) in drawn {
            svg += marks(of: series, stacks: stacks, on: &baseline, plot, timeLabels: timeLabels)
        }
        svg += incidentsAndDeployments(plot)
        if let notice, !compact {
            svg +=
                "<text class=\"notice\" x=\"\(left + plot.plotWidth / 2)\" y=\"\(top + plot.plotHeight / 2)\" text-anchor=\"middle\" fill=\"#57606a\">\(HTML.escape(notice))</text>"
        }
        svg += "</svg>"
        if compact {
            let total = series.first?.values.compactMap { $0 }.reduce(0, +) ?? 0
            let summary =
                "<title>\(HTML.escape(series.first?.label ?? "")): \(Self.format(total, unit)) in all</title></svg>"
            return svg.replacingOccurrences(of: "</svg>", with: summary)
        }
        return
            "<div class=\"chart\"><h3>\(HTML.escape(title))</h3>\(svg)<div>\(legend(for: svg).joined(separator: " &nbsp; "))</div></div>"
    }

    /// The Y axis (0, half, max, with units) and the X axis (first, middle and last time).
    private func axes(_ plot: Geometry, timeLabels: [String]) -> String {
        var svg = ""
        for fraction in [0.0, 0.5, 1.0] {
            let value = plot.maximum * fraction
            svg +=
                "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(plot.y(value))\" y2=\"\(plot.y(value))\" stroke=\"#e3e6ea\"/>"
            svg +=
                "<text x=\"\(left - 4)\" y=\"\(plot.y(value) + 3)\" text-anchor=\"end\" fill=\"#57606a\">\(HTML.escape(Self.format(value, unit)))</text>"
        }
        for index in Set([0, times.count / 2, max(0, times.count - 1)]).sorted() where index < times.count {
            let anchor = index == 0 ? "start" : index == times.count - 1 ? "end" : "middle"
            svg +=
                "<text x=\"\(plot.x(index))\" y=\"\(height - 6)\" text-anchor=\"\(anchor)\" fill=\"#57606a\">\(timeLabels[index])</text>"
        }
        return svg
    }

    /// One series: its band when it stacks (on `baseline`, which it raises), its lines and its points.
    private func marks(
        of series: Series,
        stacks: Bool,
        on baseline: inout [Double],
        _ plot: Geometry,
        timeLabels: [String]
    ) -> String {
        var svg = ""
        let dash = stacked && !stacks ? " stroke-dasharray=\"5,3\"" : ""
        var points: [(Double, Double, Double?)] = []
        var below: [Double] = []
        for index in times.indices {
            let value = index < series.values.count ? series.values[index] : nil
            below.append(stacks ? baseline[index] : 0)
            let top = (stacks ? baseline[index] : 0) + (value ?? 0)
            points.append((plot.x(index), plot.y(top), value))
            if stacks { baseline[index] = top }
        }
        // A stacked series is an area between the series below it and its own top (New Relic's breakdown):
        // drawn as lines only, a zero series would lie on the one below and read as its value.
        if stacks {
            var run: [Int] = []
            for index in times.indices + [times.count] {
                if index < times.count, points[index].2 != nil {
                    run.append(index)
                    continue
                }
                if !run.isEmpty {
                    let upper = run.map { "\(points[$0].0),\(points[$0].1)" }
                    let lower = run.reversed().map { "\(points[$0].0),\(plot.y(below[$0]))" }
                    svg +=
                        "<polygon class=\"band\" data-series=\"\(HTML.escape(series.label))\" fill=\"\(series.color)\" fill-opacity=\"0.45\" stroke=\"none\" points=\"\((upper + lower).joined(separator: " "))\"/>"
                    run = []
                }
            }
        }
        // A bucket without data is a gap in the line, not a zero; so is a zero in a stacked band, whose line
        // and points would lie on the band below and read as its values.
        func shown(_ value: Double?) -> Bool { value != nil && !(stacks && value == 0) }
        var run: [String] = []
        for point in points + [(0, 0, nil)] {
            if shown(point.2) {
                run.append("\(point.0),\(point.1)")
            } else if !run.isEmpty {
                svg +=
                    "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.5\"\(dash) points=\"\(run.joined(separator: " "))\"/>"
                run = []
            }
        }
        for (index, point) in points.enumerated() where shown(point.2) && !compact {
            let label =
                "\(series.label) \(timeLabels[index]): \(point.2.map { Self.format($0, unit) } ?? "no data")"
            // The value in data-value (the unit's number), for tests that read the chart back.
            svg +=
                "<circle cx=\"\(point.0)\" cy=\"\(point.1)\" r=\"2.5\" fill=\"\(series.color)\" data-series=\"\(HTML.escape(series.label))\" data-value=\"\(point.2.map { String(format: "%.3f", $0) } ?? "")\"><title>\(HTML.escape(label))</title></circle>"
        }
        return svg
    }

    /// Alert incidents as shaded spans and deployments as dashed lines, within the chart's times.
    private func incidentsAndDeployments(_ plot: Geometry) -> String {
        guard let first = times.first, let last = times.last, last > first else { return "" }
        var svg = ""
        func x(_ time: Double) -> Double { left + (time - Double(first)) / Double(last - first) * plot.plotWidth }
        for incident in incidents where incident.from <= Double(last) && (incident.to ?? .infinity) >= Double(first) {
            let startX = x(max(incident.from, Double(first)))
            let endX = x(min(incident.to ?? Double(last), Double(last)))
            svg +=
                "<rect data-incident=\"\(HTML.escape(incident.label))\" x=\"\(startX)\" y=\"\(top)\" width=\"\(max(endX - startX, 1))\" height=\"\(plot.plotHeight)\" fill=\"#cf222e\" fill-opacity=\"0.12\">"
            svg += "<title>Incident \(HTML.escape(incident.label))</title></rect>"
        }
        for marker in markers where marker.at >= Double(first) && marker.at <= Double(last) {
            let markerX = x(marker.at)
            svg +=
                "<line x1=\"\(markerX)\" x2=\"\(markerX)\" y1=\"\(top)\" y2=\"\(top + plot.plotHeight)\" stroke=\"#8250df\" stroke-dasharray=\"3,3\">"
            svg += "<title>Deployment \(HTML.escape(marker.label))</title></line>"
        }
        return svg
    }

    /// The legend: a stacked chart's reads top to bottom as the bands do; the marks over the data are named too,
    /// once any is drawn.
    private func legend(for svg: String) -> [String] {
        var legend = ((stacked ? series.reversed() : series) + overlay).map {
            "<span style=\"color:\($0.color)\">■</span> \(HTML.escape($0.label))"
        }
        if svg.contains("data-incident=") {
            legend.append("<span style=\"color:#cf222e;opacity:.35\">■</span> alert incident (the data that breached)")
        }
        if svg.contains("<title>Deployment ") {
            legend.append("<span style=\"color:#8250df\">┆</span> deployment")
        }
        return legend
    }

    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// A value with its unit, in at most 8 characters so that an axis label fits its 56-pixel margin: long
    /// durations in seconds or minutes, large rates in thousands.
    static func format(_ value: Double, _ unit: String) -> String {
        switch unit {
        case "ms":
            if value >= 120_000 { return String(format: value >= 6_000_000 ? "%.0f min" : "%.1f min", value / 60_000) }
            if value >= 10_000 { return String(format: value >= 100_000 ? "%.0f s" : "%.1f s", value / 1000) }
            return String(format: value >= 100 ? "%.0f ms" : "%.1f ms", value)
        case "%": return String(format: "%.1f %%", value)
        case "rpm":
            if value >= 10_000 { return String(format: value >= 1_000_000 ? "%.0fk rpm" : "%.1fk rpm", value / 1000) }
            return String(format: value >= 100 ? "%.0f rpm" : "%.1f rpm", value)
        default: return String(format: "%.2f", value)
        }
    }

    /// Labels for the times on the x axis and in hover titles: `HH:mm` (UTC), with the date when the times span
    /// more than a day.
    static func timeLabels(_ times: [Int64]) -> [String] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = (times.last ?? 0) - (times.first ?? 0) >= 86_400 ? "MM-dd HH:mm" : "HH:mm"
        return times.map { formatter.string(from: Date(timeIntervalSince1970: Double($0))) }
    }
}
