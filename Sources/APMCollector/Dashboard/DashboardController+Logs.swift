import APMCore
import APMStorage
import Foundation
import Hummingbird

extension DashboardController {
    func addLogPages(to router: RouteCollection<Context>) {
        router.get("/apps/:app/logs") { request, context in
            try await self.withApp(request, context) { session, app in
                try await self.logsPage(request, session, app)
            }
        }
    }

    /// The Logs page of an app: lines per level over the range (a stacked histogram), the search (words, level,
    /// trace, transaction, host), a page of matching lines newest first with links to their trace and to the lines
    /// of the same trace, and what the daily cap and the agents dropped.
    func logsPage(_ request: Request, _ session: DashboardSessions.Session, _ app: StoredApp) async throws -> Response {
        let (range, shown) = try pageRange(request)
        let filter = try Self.logFilter(request, range: range)
        let cursor = try Self.logCursor(request)
        let page = try await queries.logs(app: app, filter: filter, after: cursor, limit: 100)
        let histogram = try await queries.logHistogram(app: app, filter: filter, range: range)
        let base = "/apps/\(app.id)/logs"
        // The filters as a query string, to keep them in the next page's link.
        var kept: [(String, String)] = []
        if let text = filter.text { kept.append(("q", text)) }
        if let level = filter.minimumLevel { kept.append(("level", level.rawValue)) }
        if let traceID = filter.traceID { kept.append(("trace_id", traceID)) }
        if let transaction = filter.transaction { kept.append(("transaction", transaction)) }
        if let host = filter.host { kept.append(("host", host)) }
        let keptQuery = kept.map { "&amp;\($0.0)=\(HTML.query($0.1))" }.joined()
        let levelOptions = ([""] + LogLevel.allCases.map(\.rawValue)).map { level in
            "<option value=\"\(level)\"\(filter.minimumLevel?.rawValue == level || (level.isEmpty && filter.minimumLevel == nil) ? " selected" : "")>\(level.isEmpty ? "any level" : "\(level) and above")</option>"
        }.joined()
        let hidden = [("trace_id", filter.traceID), ("transaction", filter.transaction), ("host", filter.host)]
            .compactMap { name, value in
                value.map { "<input type=\"hidden\" name=\"\(name)\" value=\"\(HTML.escape($0))\">" }
            }.joined()
        let search = """
            <form method="get" action="\(base)" class="inline" data-figure="log-search">\(shown.hiddenFields)\(hidden)\
            <input type="search" name="q" value="\(HTML.escape(filter.text ?? ""))" placeholder="words in the message" size="40">\
            <select name="level">\(levelOptions)</select> <button type="submit">Search</button></form>
            """
        let scope = [
            filter.traceID.map { "trace <code data-figure=\"log-trace-filter\">\(HTML.escape($0))</code>" },
            filter.transaction.map { "transaction <b>\(HTML.escape($0))</b>" },
            filter.host.map { "host <b>\(HTML.escape($0))</b>" },
        ].compactMap { $0 }
        let scopeNote =
            scope.isEmpty
            ? ""
            : "<p>Only the lines of \(scope.joined(separator: ", ")) · <a href=\"\(base)?\(shown.query)\">all lines</a></p>"
        let volume = histogram.volume
        var notes: [String] = []
        if volume.droppedByCap > 0 {
            notes.append(
                "\(volume.droppedByCap) lines were not stored: the app reached max_log_records_per_day on these days"
            )
        }
        if volume.droppedByAgent > 0 {
            notes.append("\(volume.droppedByAgent) lines were dropped by the agents (log_forwarding.max_per_harvest)")
        }
        if volume.cut > 0 { notes.append("\(volume.cut) lines were cut to 16 KiB") }
        let totals = LogLevel.allCases.reversed().compactMap { level in
            histogram.totals[level].map {
                "<span class=\"level-\(level.rawValue)\">\(level.rawValue) <b data-figure=\"log-total-\(level.rawValue)\">\($0)</b></span>"
            }
        }.joined(separator: " · ")
        let next =
            page.nextCursor.map {
                "<p><a href=\"\(base)?\(shown.query)\(keptQuery)&amp;cursor=\(HTML.query($0))\" data-figure=\"older-logs\">Older lines</a></p>"
            } ?? ""
        let body = """
            <h1>\(HTML.escape(app.name)): logs</h1>\(appNavigation(app, shown))\(rangePicker(shown, path: base, keep: kept))\(search)\(scopeNote)
            \(Self.logHistogramSVG(histogram))<p data-figure="log-totals">\(totals.isEmpty ? "No lines" : totals)</p>\
            \(notes.map { "<p class=\"warning\" data-figure=\"log-drops\">\(HTML.escape($0)).</p>" }.joined())
            \(page.logs.isEmpty ? "<div class=\"empty\">No log lines match in this range. Lines come from the agent's APMLogHandler, from apm run-program --forward-output and from OpenTelemetry log exports (docs/logs.md).</div>" : Self.logTable(page.logs, app: app, traces: page.traces, showContext: true))\(next)
            """
        return Self.html(HTML.page(title: "\(app.name) logs", user: session.userName, csrf: session.csrf, body: body))
    }

    /// Log lines as a table: time, level, host, message (with attributes), and with `showContext` the
    /// transaction and links to the trace and to the lines of the same trace.
    static func logTable(
        _ lines: [APILogRecord],
        app: StoredApp,
        traces: [String: Int64] = [:],
        showContext: Bool
    ) -> String {
        let rows = lines.map { line -> String in
            let milliseconds = (line.timeUnixNano % 1_000_000_000) / 1_000_000
            let time =
                clockTime(Double(line.timeUnixNano / 1_000_000_000)).dropLast()
                + ".\(String(format: "%03d", milliseconds))"
            let attributes = line.attributes.sorted { $0.key < $1.key }.map {
                "\(HTML.escape($0.key))=<code>\(HTML.escape($0.value))</code>"
            }.joined(separator: " ")
            var context = ""
            if showContext {
                if let transaction = line.transaction { context += HTML.escape(transaction) }
                if let traceID = line.traceID {
                    context +=
                        " <a href=\"/apps/\(app.id)/logs?trace_id=\(traceID)&amp;range=7d\" data-figure=\"log-trace-lines\">its trace's lines</a>"
                    if let row = traces[traceID] {
                        context += " · <a href=\"/apps/\(app.id)/traces/\(row)\" data-figure=\"log-trace\">trace</a>"
                    }
                }
            }
            return """
                <tr data-log="\(line.id)" class="level-\(line.level.rawValue)"><td class="time">\(time)</td>\
                <td data-figure="log-level">\(line.level.rawValue)</td><td>\(HTML.escape(line.host))</td>\
                <td class="message"><span data-figure="log-message">\(HTML.escape(line.message))</span>\
                \(attributes.isEmpty ? "" : "<br><small>\(attributes)</small>")</td>\
                \(showContext ? "<td>\(context)</td>" : "")</tr>
                """
        }.joined()
        return """
            <table class="logs" data-figure="logs"><tr><th>time (UTC)</th><th>level</th><th>host</th><th>message</th>\
            \(showContext ? "<th>transaction and trace</th>" : "")</tr>\(rows)</table>
            """
    }

    /// Lines per level per bucket, stacked (the most severe on top), with the bucket's counts in its title.
    static func logHistogramSVG(_ histogram: APILogHistogram) -> String {
        let width = 900.0
        let height = 120.0
        let buckets = max(1, Int((histogram.to - histogram.from) / max(histogram.bucketSeconds, 60)))
        let barWidth = width / Double(buckets)
        let highest = histogram.buckets.map { $0.counts.values.reduce(0, +) }.max() ?? 0
        guard highest > 0 else { return "" }
        let colors: [LogLevel: String] = [
            .trace: "#afb8c1", .debug: "#8c959f", .info: "#0969da", .warn: "#bf8700", .error: "#cf222e",
            .fatal: "#82071e",
        ]
        var bars = ""
        for bucket in histogram.buckets {
            let x = Double(bucket.start - histogram.from) / Double(max(histogram.bucketSeconds, 60)) * barWidth
            var y = height
            let title = LogLevel.allCases.compactMap { level in bucket.counts[level].map { "\(level.rawValue) \($0)" } }
                .joined(separator: ", ")
            for level in LogLevel.allCases {
                guard let count = bucket.counts[level], count > 0 else { continue }
                let barHeight = max(1, Double(count) / Double(highest) * (height - 4))
                y -= barHeight
                bars +=
                    "<rect x=\"\(String(format: "%.1f", x))\" y=\"\(String(format: "%.1f", y))\" width=\"\(String(format: "%.1f", max(1, barWidth - 1)))\" height=\"\(String(format: "%.1f", barHeight))\" fill=\"\(colors[level] ?? "#0969da")\"><title>\(clockTime(Double(bucket.start))): \(title)</title></rect>"
            }
        }
        return """
            <svg class="chart" data-figure="log-histogram" viewBox="0 0 \(Int(width)) \(Int(height))" width="100%" height="\(Int(height))" role="img" aria-label="log lines per level">\(bars)</svg>
            """
    }
}
