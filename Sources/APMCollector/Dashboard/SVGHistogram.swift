import APMCore
import Foundation

/// A latency histogram as bars on a logarithmic duration axis, with the count of each bar on hover.
struct SVGHistogram {
    var histogram: LatencyHistogram
    var apdexT: Double
    /// `apdexT` is a what-if T, not the configured one: the title says so.
    var whatIf = false
    var width = 560.0
    var height = 180.0

    func render() -> String {
        guard let first = histogram.counts.firstIndex(where: { $0 > 0 }) else {
            return
                "<div class=\"chart\"><h3>Latency distribution</h3><div class=\"empty\">No transactions in this range.</div></div>"
        }
        // Group the 1 % buckets into at most 40 bars of equal width on the log axis.
        let lowIndex = histogram.firstIndex + first
        let highIndex = histogram.firstIndex + histogram.counts.count - 1
        let span = max(1, highIndex - lowIndex + 1)
        let perBar = max(1, Int((Double(span) / 40).rounded(.up)))
        var bars: [(low: Double, high: Double, count: UInt64)] = []
        var index = lowIndex
        while index <= highIndex {
            let end = min(highIndex, index + perBar - 1)
            var count: UInt64 = 0
            for bucket in index...end { count += histogram.counts[bucket - histogram.firstIndex] }
            bars.append(
                (LatencyHistogram.lowerBound(ofBucket: index), LatencyHistogram.upperBound(ofBucket: end), count)
            )
            index = end + 1
        }
        let left = 40.0
        let bottom = 24.0
        let plotWidth = width - left - 8
        let plotHeight = height - bottom - 8
        let maximum = Double(bars.map(\.count).max() ?? 1)
        let barWidth = plotWidth / Double(bars.count)
        var svg = """
            <svg class="histogram" role="img" aria-label="Latency distribution" viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" \
            height="\(Int(height))" xmlns="http://www.w3.org/2000/svg" font-size="10">
            """
        for (offset, bar) in bars.enumerated() {
            let barHeight = Double(bar.count) / maximum * plotHeight
            let frustratedAbove = ApdexThreshold.frustratedAbove(seconds: apdexT)
            let color =
                bar.high <= apdexT
                ? "#1a7f37"
                : bar.low >= frustratedAbove ? "#cf222e" : bar.high <= frustratedAbove ? "#bf8700" : "#8c959f"
            let label = "\(Self.ms(bar.low))–\(Self.ms(bar.high)): \(bar.count) transactions"
            svg += "<rect x=\(quoted(left + Double(offset) * barWidth)) y=\(quoted(8 + plotHeight - barHeight)) "
            svg +=
                "width=\(quoted(max(1, barWidth - 1))) height=\(quoted(barHeight)) fill=\"\(color)\"><title>\(HTML.escape(label))</title></rect>"
        }
        for offset in Set([0, bars.count / 2, bars.count - 1]).sorted() {
            let anchor = offset == 0 ? "start" : offset == bars.count - 1 ? "end" : "middle"
            let x = left + Double(offset) * barWidth + (offset == bars.count - 1 ? barWidth : 0)
            svg +=
                "<text x=\(quoted(x)) y=\(quoted(height - 6)) text-anchor=\"\(anchor)\" fill=\"#57606a\">\(Self.ms(bars[offset].low))</text>"
        }
        svg += "<text x=\"0\" y=\"16\" fill=\"#57606a\">\(Int(maximum))</text></svg>"
        return """
            <div class="chart"><h3>Latency distribution (green ≤ T, amber ≤ 4T, red > 4T)</h3>\(svg)\
            <div data-figure="histogram-t">coloured at T = \(apdexT) s\(whatIf ? " (what if)" : "")</div></div>
            """
    }

    private func quoted(_ value: Double) -> String { "\"\(value)\"" }

    static func ms(_ seconds: Double) -> String {
        seconds >= 1
            ? String(format: "%.2f s", seconds)
            : String(format: seconds * 1000 >= 10 ? "%.0f ms" : "%.1f ms", seconds * 1000)
    }
}
