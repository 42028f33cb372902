import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain-text table with aligned columns.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) {
        self.header = header
    }

    mutating func add(_ row: [String]) {
        rows.append(row)
    }

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { Self.visibleWidth($0[column]) }.max() ?? 0 }
        return all.enumerated().map { index, row in
            let line = row.enumerated().map { column, cell in
                cell + String(repeating: " ", count: widths[column] - Self.visibleWidth(cell))
            }.joined(separator: "  ")
            return index == 0
                ? line + "\n" + widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ") : line
        }.joined(separator: "\n")
    }

    /// Width without ANSI colour codes.
    static func visibleWidth(_ text: String) -> Int {
        var width = 0
        var inEscape = false
        for character in text {
            if character == "\u{1B}" {
                inEscape = true
            } else if inEscape {
                if character == "m" { inEscape = false }
            } else {
                width += 1
            }
        }
        return width
    }
}

/// A sparkline of values with block characters.
enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    static func render(_ values: [Double]) -> String {
        guard let maximum = values.max(), maximum > 0 else {
            return String(repeating: "▁", count: min(values.count, 30))
        }
        let step = max(1, values.count / 30)
        return String(
            stride(from: 0, to: values.count, by: step).map { index in
                let value = values[index..<min(values.count, index + step)].max() ?? 0
                return blocks[min(blocks.count - 1, Int((value / maximum) * Double(blocks.count - 1) + 0.5))]
            }
        )
    }
}

/// Colours, only when standard output is a terminal (and NO_COLOR is unset).
struct TerminalStyle {
    let enabled = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    func apdex(_ score: Double?) -> String {
        guard let score else { return "-" }
        let text = String(format: "%.2f", score)
        guard enabled else { return text }
        let color = score >= 0.94 ? "32" : score >= 0.70 ? "33" : "31"
        return "\u{1B}[\(color)m\(text)\u{1B}[0m"
    }

    func bold(_ text: String) -> String { enabled ? "\u{1B}[1m\(text)\u{1B}[0m" : text }

    func warning(_ text: String) -> String { enabled ? "\u{1B}[33m\(text)\u{1B}[0m" : text }
}

/// CSV quoting.
enum CSV {
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
