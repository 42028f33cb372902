import Foundation

/// The time range a dashboard page shows, read from its URL and carried in every link so that a page can be
/// bookmarked or shared: a preset (`range=6h`) or a custom range (`from=2026-11-26T10:00&to=2026-11-26T12:00`,
/// in UTC, as an `<input type="datetime-local">` sends it, or as Unix seconds).
struct DashboardRange: Sendable, Equatable {
    /// The presets offered by the picker.
    static let presets = ["30m", "1h", "6h", "24h", "7d"]
    /// The range shown when the URL names none.
    static let defaultPreset = "1h"
    /// The longest custom range, as for the API.
    static let longestSpan: Int64 = 400 * 86_400

    /// The default preset, for links from pages that show no range (its times are not used).
    static let standard = DashboardRange(preset: defaultPreset, from: 0, to: 0)

    /// The preset, or `nil` for a custom range.
    var preset: String?
    /// Start (Unix seconds) as asked, before alignment to buckets.
    var from: Int64
    /// End (Unix seconds) as asked.
    var to: Int64

    /// The query string that selects this range, escaped for an HTML attribute.
    var query: String {
        if let preset { return "range=\(preset)" }
        return "from=\(Self.format(from))&amp;to=\(Self.format(to))"
    }

    /// Hidden form fields that keep this range when another form on the page is sent.
    var hiddenFields: String {
        if let preset { return "<input type=\"hidden\" name=\"range\" value=\"\(preset)\">" }
        return "<input type=\"hidden\" name=\"from\" value=\"\(Self.format(from))\">"
            + "<input type=\"hidden\" name=\"to\" value=\"\(Self.format(to))\">"
    }

    /// A short description for headings: `last 6h` or `2026-11-26 10:00 – 2026-11-26 12:00 UTC`.
    var description: String {
        if let preset { return "last \(preset)" }
        return "\(Self.format(from).replacingOccurrences(of: "T", with: " ")) – "
            + "\(Self.format(to).replacingOccurrences(of: "T", with: " ")) UTC"
    }

    /// Reads the range from a page's query parameters.
    ///
    /// - Parameters:
    ///   - range: The `range` parameter (a preset).
    ///   - from: The `from` parameter.
    ///   - to: The `to` parameter.
    ///   - now: The current time (Unix seconds).
    /// - Returns: The range.
    /// - Throws: ``APIError`` (400) naming the parameter and the accepted forms.
    static func parse(range: String?, from: String?, to: String?, now: Int64) throws -> DashboardRange {
        if from == nil && to == nil || from?.isEmpty == true && to?.isEmpty == true {
            let preset = range.flatMap { $0.isEmpty ? nil : $0 } ?? defaultPreset
            guard presets.contains(preset), let seconds = TimeRange.seconds(parsing: preset) else {
                throw APIError.badRequest(
                    "range",
                    "must be one of \(presets.joined(separator: ", ")), got \(String(preset.prefix(40))); "
                        + "for another span give from and to"
                )
            }
            return DashboardRange(preset: preset, from: now - seconds, to: now)
        }
        guard let from, !from.isEmpty, let to, !to.isEmpty else {
            throw APIError.badRequest(
                from?.isEmpty == false ? "to" : "from",
                "a custom range needs both from and to, e.g. from=2026-11-26T10:00&to=2026-11-26T12:00 (UTC)"
            )
        }
        let start = try time(from, field: "from")
        let end = try time(to, field: "to")
        guard start < end else {
            throw APIError.badRequest("from", "must be before to (got from \(format(start)), to \(format(end)))")
        }
        guard end - start <= longestSpan else {
            throw APIError.badRequest("from", "a custom range may span at most 400 days")
        }
        guard start < now else {
            throw APIError.badRequest("from", "is in the future (now is \(format(now)) UTC)")
        }
        return DashboardRange(preset: nil, from: start, to: min(end, now))
    }

    /// Parses `2026-11-26T10:00`, `2026-11-26T10:00:30`, either with a trailing `Z`, or Unix seconds.
    static func time(_ text: String, field: String) throws -> Int64 {
        let problem = APIError.badRequest(
            field,
            "must be a UTC time such as 2026-11-26T10:00 or Unix seconds, got \(String(text.prefix(40)))"
        )
        if let seconds = Int64(text) {
            guard seconds > 946_684_800, seconds < 4_102_444_800 else { throw problem }
            return seconds
        }
        var trimmed = text
        if trimmed.hasSuffix("Z") { trimmed.removeLast() }
        for pattern in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss"] {
            if let date = formatter(pattern).date(from: trimmed) {
                let seconds = Int64(date.timeIntervalSince1970)
                guard seconds > 946_684_800, seconds < 4_102_444_800 else { throw problem }
                return seconds
            }
        }
        throw problem
    }

    /// `yyyy-MM-ddTHH:mm` in UTC, the form an `<input type="datetime-local">` shows.
    static func format(_ unix: Int64) -> String {
        formatter("yyyy-MM-dd'T'HH:mm").string(from: Date(timeIntervalSince1970: Double(unix)))
    }

    private static func formatter(_ pattern: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.isLenient = false
        formatter.dateFormat = pattern
        return formatter
    }
}
