import Foundation
import Testing

@testable import APMCollector

/// Axis labels fit their margin, and a stacked chart is drawn as areas.
@Suite struct SVGChartTests {
    /// Before: a chart of large millisecond values labelled its axis "100000 ms", cut to ".00000 ms".
    @Test func axisLabelsSwitchUnitsAndFitTheirMargin() {
        let cases: [(Double, String, String)] = [
            (0, "ms", "0.0 ms"), (45.26, "ms", "45.3 ms"), (950, "ms", "950 ms"), (12_500, "ms", "12.5 s"),
            (100_000, "ms", "100 s"), (150_000, "ms", "2.5 min"), (90_000_000, "ms", "1500 min"),
            (250, "rpm", "250 rpm"), (12_345, "rpm", "12.3k rpm"),
        ]
        for (value, unit, expected) in cases {
            #expect(SVGChart.format(value, unit) == expected)
        }
        // Every nice axis maximum from 1 ms to 10 days fits 9 characters (56 px at the chart's font size).
        var value = 1.0
        while value < 864_000_000 {
            let label = SVGChart.format(SVGChart.niceCeiling(value), "ms")
            #expect(label.count <= 9, "\(label)")
            value *= 1.7
        }
    }

    @Test func stackedSeriesAreAreasWithTheLegendInBandOrder() {
        let chart = SVGChart(
            title: "Response time by category (ms per request)",
            unit: "ms",
            times: [0, 60, 120],
            series: [
                .init(label: "database", color: "#bf8700", values: [100, 120, nil]),
                .init(label: "external", color: "#8250df", values: [0, 0, nil]),
                .init(label: "application", color: "#0969da", values: [50, 40, nil]),
            ],
            stacked: true
        )
        let svg = chart.render()
        for label in ["database", "external", "application"] {
            #expect(svg.contains("<polygon class=\"band\" data-series=\"\(label)\""), "\(label)")
        }
        #expect(svg.contains(#"data-series="external" data-value="0.000""#))
        let legend = svg[svg.range(of: "</svg><div>")!.upperBound...]
        let order = ["application", "external", "database"].map { legend.range(of: $0)!.lowerBound }
        #expect(order == order.sorted())
    }
}
