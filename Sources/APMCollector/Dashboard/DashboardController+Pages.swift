import APMCore
import APMStorage
import Foundation
import Hummingbird

extension DashboardController {
    func addDashboardPages(to router: RouteCollection<Context>) {
        addDashboardSettings(to: router)
        router.get("/apps/:app/transaction") { request, context in
            try await self.withApp(request, context) { session, app in
                try await self.transactionPage(request, session, app)
            }
        }
        router.get("/apps/:app/traces/:id") { request, context in
            try await self.withApp(request, context) { session, app in
                guard let id = context.parameters.get("id", as: Int64.self),
                    let trace = try await self.queries.trace(app: app, id: id)
                else {
                    return Self.html(
                        HTML.page(
                            title: "Not found",
                            user: session.userName,
                            csrf: session.csrf,
                            body: "<h1>No such trace</h1>"
                        ),
                        status: .notFound
                    )
                }
                // The errors of that request: groups whose latest sample came from it.
                let errors = try await self.queries.errors(
                    app: app,
                    range: self.queries.range(
                        from: Int64(trace.start) - 3600,
                        to: Int64(trace.start + trace.duration) + 3600
                    )
                ).filter { $0.sample.traceID == trace.traceID }
                let logs = try await self.queries.logsOfTrace(
                    app: app,
                    traceID: trace.traceID,
                    limit: CollectorQueries.linesPerTrace
                )
                return self.tracePage(session, app, trace, errors: errors, logs: logs)
            }
        }
        router.get("/apps/:app/databases") { request, context in
            try await self.withApp(request, context) { session, app in
                try await self.databasesPage(request, session, app)
            }
        }
        router.get("/apps/:app/deployments") { request, context in
            try await self.withApp(request, context) { session, app in
                try await self.deploymentsPage(request, session, app)
            }
        }
        addIssuePages(to: router)
        addLogPages(to: router)
        addMetricPages(to: router)
    }

    func withApp(
        _ request: Request,
        _ context: Context,
        _ body: (DashboardSessions.Session, StoredApp) async throws -> Response
    ) async throws -> Response {
        guard let session = context.session else {
            return Response.redirect(to: "/login", type: .normal)
        }
        guard let id = context.parameters.get("app", as: Int64.self),
            let app = try await store.app(accountID: session.accountID, id: id)
        else {
            return Self.html(
                HTML.page(title: "Not found", user: session.userName, csrf: session.csrf, body: "<h1>No such app</h1>"),
                status: .notFound
            )
        }
        do {
            return try await body(session, app)
        } catch let error as APIError where error.status == .badRequest {
            return badRequestPage(session, error, path: request.uri.path)
        }
    }

    /// A page's answer to a malformed query parameter: what is wrong, how to fix it, and a way back.
    func badRequestPage(_ session: DashboardSessions.Session, _ error: APIError, path: String) -> Response {
        Self.html(
            HTML.page(
                title: "Bad request",
                user: session.userName,
                csrf: session.csrf,
                body: """
                    <h1>This page's address is not right</h1><p class="error" data-error="\(HTML.escape(error.field))">\
                    \(HTML.escape(error.field)): \(HTML.escape(error.message))</p>\
                    <p><a href="\(HTML.escape(path))?range=\(DashboardRange.defaultPreset)">Show the last hour instead</a></p>
                    """
            ),
            status: .badRequest
        )
    }

    func appNavigation(_ app: StoredApp, _ shown: DashboardRange) -> String {
        let base = "/apps/\(app.id)"
        return """
            <p><a href="\(base)?\(shown.query)">Overview</a> · <a href="\(base)/databases?\(shown.query)">Databases &amp; externals</a> · \
            <a href="\(base)/errors?\(shown.query)">Errors</a> · <a href="\(base)/logs?\(shown.query)">Logs</a> · \
            <a href="\(base)/metrics?\(shown.query)">Metrics</a> · \
            <a href="\(base)/deployments?\(shown.query)">Deployments</a> · \
            <a href="\(base)/alerts">Alerts</a> · <a href="\(base)/settings">Settings</a></p>
            """
    }

    func transactionPage(
        _ request: Request,
        _ session: DashboardSessions.Session,
        _ app: StoredApp
    ) async throws -> Response {
        let (range, shown) = try pageRange(request)
        let parameters = request.queryFields
        let name = String((parameters["name"] ?? "").prefix(1024))
        if let nearest = try await queries.unknownTransaction(app: app, name: name) {
            let links = nearest.map {
                "<li><a href=\"/apps/\(app.id)/transaction?name=\(HTML.query($0))&amp;\(shown.query)\">\(HTML.escape($0))</a></li>"
            }.joined()
            return Self.html(
                HTML.page(
                    title: "Not found",
                    user: session.userName,
                    csrf: session.csrf,
                    body: "<h1>\(HTML.escape(app.name)) has no transaction named \(HTML.escape(name))</h1>"
                        + (links.isEmpty ? "" : "<p>The nearest names:</p><ul>\(links)</ul>")
                        + "<p><a href=\"/apps/\(app.id)?\(shown.query)\">All transactions</a></p>"
                ),
                status: .notFound
            )
        }
        let (series, summary, histogram) = try await queries.transactionView(app: app, transaction: name, range: range)
        let charts = SVGChart.figureCharts(series, t: summary.apdex.t, now: queries.now())
        // The what-if T, when valid, colours the distribution and stays in its field (before: both went back to the
        // configured T, so the bars contradicted the recomputed score).
        let whatIfT = parameters["t"].flatMap(Double.init).flatMap { ApdexThreshold(seconds: $0) != nil ? $0 : nil }
        let distribution = SVGHistogram(
            histogram: histogram.histogram,
            apdexT: whatIfT ?? summary.apdex.t,
            whatIf: whatIfT != nil
        ).render()
        var whatIf = ""
        if let text = parameters["t"], Double(text).map({ ApdexThreshold(seconds: $0) == nil }) ?? true {
            whatIf =
                "<p class=\"error\">T must be a number of seconds from 0.001 to 3600, e.g. 0.3; got \(HTML.escape(String(text.prefix(40))))</p>"
        } else if let text = parameters["t"], let t = Double(text) {
            let answer = try await queries.whatIfApdex(app: app, transaction: name, t: t, range: range)
            whatIf = """
                <p>With T = \(t) s: Apdex <b data-figure="whatif-score">\(answer.score.map { String(format: "%.3f", $0) } ?? "–")</b> \
                (between \(answer.scoreMin.map { String(format: "%.3f", $0) } ?? "–") and \(answer.scoreMax.map { String(format: "%.3f", $0) } ?? "–")); \
                <span data-figure="whatif-stf">S \(answer.satisfied) / T \(answer.tolerating) / F \(answer.frustrated)</span>. \(HTML.escape(answer.resolution))</p>
                """
        }
        let traces = try await queries.traces(app: app, transaction: name, range: range, limit: 200)
        let traceRows = traces.prefix(10).map {
            "<tr><td><a href=\"/apps/\(app.id)/traces/\($0.id)\">\(Self.ms($0.duration))</a></td><td>\(Self.clockTime($0.start))</td><td class=\"n\">\($0.status)</td></tr>"
        }.joined()
        let breakdown = try await queries.breakdown(app: app, transaction: name, range: range)
        let breakdownTable = breakdownTable(breakdown, app: app, shown: shown)
        // The transaction's own error groups (by their latest sample), each linked to its request's trace if kept.
        let traceOf = Dictionary(traces.map { ($0.traceID, $0.id) }, uniquingKeysWith: { first, _ in first })
        let errorRows = try await queries.errors(app: app, range: range).filter { $0.transaction == name }.map {
            group in
            let trace =
                traceOf[group.sample.traceID].map {
                    " · <a href=\"/apps/\(app.id)/traces/\($0)\">the request's trace</a>"
                } ?? ""
            return """
                <tr data-error="\(HTML.escape(group.type))"><td><b>\(HTML.escape(group.type))</b> \(HTML.escape(group.message))\(trace)</td>\
                <td class="n" data-figure="count">\(group.count)</td><td>\(Self.clockTime(group.lastSeen))</td></tr>
                """
        }.joined()
        let body = """
            <h1>\(HTML.escape(app.name)): \(HTML.escape(name))</h1>\(appNavigation(app, shown))\
            \(rangePicker(shown, path: "/apps/\(app.id)/transaction", keep: [("name", name)]))
            \(Self.cards(summary))
            <form class="whatif" method="get" action="/apps/\(app.id)/transaction"><input type="hidden" name="name" value="\(HTML.escape(name))">\
            \(shown.hiddenFields)<label>What if T were <input name="t" size="6" value="\(HTML.escape(String((parameters["t"] ?? "\(summary.apdex.t)").prefix(40))))"> s</label> \
            <button type="submit">Recompute Apdex</button></form>\(whatIf)
            <h2 id="breakdown">Where the time goes</h2>\(breakdownTable)
            <div class="charts">\(distribution)\(charts.map { $0.render() }.joined())</div>
            <h2>Slowest traces</h2>\(traceRows.isEmpty ? "<div class=\"empty\">No traces in this range.</div>" : "<table><tr><th>duration</th><th>at</th><th class=\"n\">status</th></tr>\(traceRows)</table>")
            <h2>Errors</h2>\(errorRows.isEmpty ? "<div class=\"empty\">No errors of this transaction in this range.</div>" : "<table><tr><th>error</th><th class=\"n\">count</th><th>last seen</th></tr>\(errorRows)</table>")
            """
        return Self.html(HTML.page(title: name, user: session.userName, csrf: session.csrf, body: body))
    }

    /// The breakdown of a transaction: each segment's share of its time with a bar, calls per request, call
    /// times, and a link to the segment's page filtered to the transaction.
    func breakdownTable(_ breakdown: APITransactionBreakdown, app: StoredApp, shown: DashboardRange) -> String {
        guard breakdown.count > 0 else { return "<div class=\"empty\">No requests in this range.</div>" }
        let rows = breakdown.rows.map { row in
            let name: String
            switch row.category {
            case "database", "external":
                let anchor =
                    row.category == "database" ? "op-\(HTML.query(row.name))" : "host-\(HTML.query(row.target))"
                name =
                    "<a href=\"/apps/\(app.id)/databases?transaction=\(HTML.query(breakdown.transaction))&amp;\(shown.query)#\(anchor)\">\(HTML.escape(row.name))</a>"
            default: name = HTML.escape(row.name)
            }
            let bar = String(format: "%.1f", min(max(row.share, 0), 1) * 100)
            return """
                <tr data-segment="\(HTML.escape(row.name))"><td>\(name)</td><td data-figure="category">\(row.category)</td>\
                <td class="n" data-figure="share">\(Self.percent(row.share))</td>\
                <td><div class="bar"><div style="width:\(bar)%"></div></div></td>\
                <td class="n" data-figure="calls-per-request">\(String(format: "%.2f", row.callsPerTransaction))</td>\
                <td class="n" data-figure="average">\(Self.ms(row.average))</td><td class="n" data-figure="p95">\(Self.ms(row.p95))</td><td class="n" data-figure="max">\(Self.ms(row.max))</td>\
                <td class="n" data-figure="time">\(String(format: "%.2f s", row.time))</td></tr>
                """
        }.joined()
        return """
            <table class="breakdown"><tr><th>segment</th><th>category</th><th class="n">% of time</th><th></th><th class="n">calls per request</th>\
            <th class="n">avg per call</th><th class="n">p95 per call</th><th class="n">slowest call</th><th class="n">time</th></tr>\(rows)</table>
            <p><small>Each segment's own time (its children's excluded), so the rows add up to the transaction's \
            \(String(format: "%.2f s", breakdown.totalTime)) over \(breakdown.count) requests; <i>application</i> is the transaction's own code.</small></p>
            """
    }

    func tracePage(
        _ session: DashboardSessions.Session,
        _ app: StoredApp,
        _ trace: TransactionTrace,
        errors: [APIErrorGroup] = [],
        logs: [APILogRecord] = []
    ) -> Response {
        let scale = trace.duration > 0 ? 600 / trace.duration : 0
        let rows = trace.segments.enumerated().map { index, segment in
            var depth = 0
            var parent = segment.parent
            while let p = parent, depth < 20 {
                depth += 1
                parent = trace.segments[p].parent
            }
            let detail = [segment.statement, segment.url].filter { !$0.isEmpty }.map {
                "<code>\(HTML.escape($0))</code>"
            }.joined(separator: " ")
            return """
                <tr data-segment="\(index)"><td style="padding-left:\(8 + depth * 16)px">\(HTML.escape(segment.name)) \(detail)</td><td class="n">\(Self.ms(segment.duration))</td>\
                <td class="n" data-figure="share">\(Self.percent(trace.duration > 0 ? segment.duration / trace.duration : nil))</td>\
                <td><svg width="610" height="10"><rect x="\(segment.offset * scale)" width="\(max(1, segment.duration * scale))" height="10" fill="\(segment.isError ? "#cf222e" : "#0969da")"/></svg></td></tr>
                """
        }.joined()
        let attributes = trace.attributes.sorted { $0.key < $1.key }.map {
            "<li>\(HTML.escape($0.key)) = \(HTML.escape($0.value))</li>"
        }.joined()
        let request = ["http.request.method", "http.route", "url.path", "http.response.status_code"].compactMap { key in
            trace.attributes[key].map { "\(key) <code>\(HTML.escape($0))</code>" }
        }.joined(separator: " · ")
        let errorRows = errors.map {
            "<li data-error=\"\(HTML.escape($0.type))\"><b>\(HTML.escape($0.type))</b> \(HTML.escape($0.sample.message))</li>"
        }.joined()
        let transactionLink =
            "/apps/\(app.id)/transaction?name=\(HTML.query(trace.transaction))&amp;from=\(Int64(trace.start) - 1800)&amp;to=\(Int64(trace.start) + 1800)"
        let body = """
            <p><a href="/apps/\(app.id)">\(HTML.escape(app.name))</a> › <a href="\(transactionLink)" data-figure="transaction-link">\(HTML.escape(trace.transaction))</a></p>
            <h1>\(HTML.escape(trace.transaction)) · \(Self.ms(trace.duration))</h1>
            <p>At \(Self.clockTime(trace.start)); status \(trace.status)\(trace.isError ? ", failed" : "")\
            \(trace.droppedSegments > 0 ? "; \(trace.droppedSegments) segments not kept" : ""). W3C trace id <code data-figure="trace-id">\(HTML.escape(trace.traceID))</code></p>
            \(request.isEmpty ? "" : "<p data-figure=\"request\">\(request)</p>")
            <table class="waterfall"><tr><th>segment</th><th class="n">duration</th><th class="n">of the trace</th><th>timeline</th></tr>\(rows)</table>
            \(errorRows.isEmpty ? "" : "<h2>Errors of this request</h2><ul>\(errorRows)</ul>")
            <h2>Logs of this request</h2>\(logs.isEmpty ? "<div class=\"empty\">No log lines of this trace were stored.</div>" : Self.logTable(logs, app: app, showContext: false))
            \(attributes.isEmpty ? "" : "<h2>Attributes</h2><ul>\(attributes)</ul>")
            """
        return Self.html(HTML.page(title: "Trace", user: session.userName, csrf: session.csrf, body: body))
    }

    /// A sample's stack: symbolicated frames with the app's own first and the libraries' folded, or the text
    /// stack as the platform gave it; each in a box that scrolls (a long frame never widens the page).
    static func stackHTML(_ sample: ErrorSample) -> String {
        guard let frames = sample.frames, !frames.isEmpty else {
            return "<pre>\(HTML.escape(sample.message))\n\(HTML.escape(sample.stack.joined(separator: "\n")))</pre>"
        }
        func item(_ frame: StackFrame) -> String {
            let place = frame.file.isEmpty ? "" : " <small>\(HTML.escape(frame.file)):\(frame.line)</small>"
            return "<li><code>\(HTML.escape(frame.function))</code>\(place)</li>"
        }
        let app = frames.filter(\.inApp)
        let libraries = frames.filter { !$0.inApp }
        return """
            <pre>\(HTML.escape(sample.message))</pre><div class="frames">\
            <ol data-figure="app-frames">\(app.map(item).joined())</ol>\
            \(libraries.isEmpty ? "" : "<details><summary>\(libraries.count) library frames</summary><ol data-figure=\"library-frames\">\(libraries.map(item).joined())</ol></details>")\
            </div>
            """
    }

    static func clockTime(_ unix: Double) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: unix)) + "Z"
    }
}
