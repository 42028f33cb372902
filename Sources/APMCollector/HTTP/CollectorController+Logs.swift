import APMCore
import APMStorage
import Hummingbird

extension CollectorController {
    /// The log filter of a request's `level`, `q`, `trace_id`, `transaction` and `host` over a range (the API's
    /// and the dashboard's Logs page's one reading of them).
    static func logFilter(_ request: Request, range: TimeRange) throws -> LogFilter {
        let fields = request.queryFields
        var filter = LogFilter(
            range: (range.from &* 1_000_000_000)..<(range.to &* 1_000_000_000)
        )
        if let text = fields["level"], !text.isEmpty {
            guard let level = LogLevel(name: text) else {
                throw APIError.badRequest(
                    "level",
                    "unknown level \(text.prefix(64)); use one of \(LogLevel.allowedDescription) (lines at or above it)"
                )
            }
            filter.minimumLevel = level
        }
        if let text = fields["q"], !text.isEmpty {
            guard text.utf8.count <= 1024 else { throw APIError.badRequest("q", "is longer than 1024 bytes") }
            filter.text = text
        }
        if let text = fields["trace_id"], !text.isEmpty {
            guard text.utf8.count == 32, text.utf8.allSatisfy({ $0 < 128 && Character(Unicode.Scalar($0)).isHexDigit })
            else {
                throw APIError.badRequest("trace_id", "must be a trace id: 32 hex digits")
            }
            filter.traceID = text.lowercased()
        }
        for (name, maximum) in [("transaction", 1024), ("host", 255)] {
            guard let text = fields[name], !text.isEmpty else { continue }
            guard text.utf8.count <= maximum else {
                throw APIError.badRequest(name, "is longer than \(maximum) bytes")
            }
            if name == "transaction" { filter.transaction = text } else { filter.host = text }
        }
        return filter
    }

    /// The `cursor` of a request: where the previous page of log lines ended.
    static func logCursor(_ request: Request) throws -> LogCursor? {
        guard let text = request.queryFields["cursor"], !text.isEmpty else { return nil }
        guard let cursor = LogCursor(token: text) else {
            throw APIError.badRequest("cursor", "is not a cursor this API gave (next_cursor of the previous page)")
        }
        return cursor
    }
}
