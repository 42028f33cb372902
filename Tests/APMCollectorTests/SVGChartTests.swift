import APMStorage
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
        // A zero band has no line or points of its own: they would lie on the band below (issue #24, item 20).
        #expect(!svg.contains(#"data-series="external" data-value"#))
        #expect(!svg.contains(##"stroke="#8250df""##))
        let legend = svg[svg.range(of: "</svg><div>")!.upperBound...]
        let order = ["application", "external", "database"].map { legend.range(of: $0)!.lowerBound }
        #expect(order == order.sorted())
    }

    /// Before: in an app's first minute every chart was empty without a word while the cards counted requests.
    @Test func aChartWithOnlyUnsettledDataSaysWhenItsFirstPointAppears() {
        let chart = SVGChart(
            title: "Throughput",
            unit: "rpm",
            times: [600, 660, 720],
            series: [.init(label: "rpm", color: "#0969da", values: [nil, nil, 12])],
            drawnThrough: 660
        )
        let svg = chart.render()
        #expect(!svg.contains("<circle"))
        #expect(svg.contains("the first point appears at 00:13:15 UTC"))
        // With nothing at all, no promise.
        var empty = chart
        empty.series[0].values = [nil, nil, nil]
        #expect(!empty.render().contains("first point"))
    }

    /// Before: the deployment line and the incident band had no legend.
    @Test func markersAndIncidentsAreNamedInTheLegend() {
        let chart = SVGChart(
            title: "Apdex",
            unit: "",
            times: [0, 60, 120, 180],
            series: [.init(label: "Apdex", color: "#1a7f37", values: [1, 0.5, 0.6, 1])],
            markers: [(at: 60, label: "v2")],
            incidents: [(from: 60, to: 120, label: "#1 critical")]
        )
        let svg = chart.render()
        let legend = svg[svg.range(of: "</svg><div>")!.upperBound...]
        #expect(legend.contains("alert incident"))
        #expect(legend.contains("deployment"))
        #expect(!SVGChart(title: "x", unit: "", times: [0, 60], series: []).render().contains("deployment"))
    }

    /// The band covers the data that breached: from the first bad window's start to the last bad window's end
    /// (before: from the evaluation that opened it, after the dip, to the one that resolved it, after recovery).
    @Test func anIncidentBandCoversTheWindowsThatBreached() throws {
        let condition = AlertConditionRecord(
            accountID: 1,
            appID: 1,
            transaction: nil,
            name: "Apdex",
            metric: .apdex,
            windowMinutes: 5,
            warning: 0.9,
            critical: 0.7,
            forEvaluations: 3,
            minRequests: 1,
            channelIDs: [],
            createdAt: 0
        )
        var incident = APIAlertIncident(
            AlertIncidentRecord(
                accountID: 1,
                conditionID: 1,
                appID: 1,
                transaction: nil,
                severity: .critical,
                openedAt: 10_000,
                openedValue: 0.4,
                lastValue: 0.4
            )
        )
        incident.resolvedAt = 12_000
        incident.state = "resolved"
        let shown = incident.withBreach(of: condition)
        let (from, to): (Int64, Int64) = (10_000 - 2 * 60 - 300, 12_000 - 300)
        #expect(shown.breachFrom == from)
        #expect(shown.breachTo == to)
    }
}
