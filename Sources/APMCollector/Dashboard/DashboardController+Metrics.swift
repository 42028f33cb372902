import APMCore
import APMStorage
import Foundation
import Hummingbird

/// The Hosts pages and each app's Metrics page.
extension DashboardController {
    func addMetricPages(to router: RouteCollection<Context>) {
        router.get("/hosts") { request, context in
            guard let session = context.session else { return Response.redirect(to: "/login", type: .normal) }
            do {
                return try await self.hostsPage(request, session)
            } catch let error as APIError where error.status == .badRequest {
                return self.badRequestPage(session, error, path: "/hosts")
            }
        }
        router.get("/hosts/:host") { request, context in
            guard let session = context.session else { return Response.redirect(to: "/login", type: .normal) }
            let raw = context.parameters.get("host") ?? ""
            let name = raw.removingPercentEncoding ?? raw
            do {
                return try await self.hostPage(request, session, name: String(name.prefix(255)))
            } catch let error as APIError where error.status == .badRequest {
                return self.badRequestPage(session, error, path: "/hosts")
            }
        }
        router.get("/apps/:app/metrics") { request, context in
            try await self.withApp(request, context) { session, app in
                try await self.metricsPage(request, session, app)
            }
        }
    }

    /// Every host the account's apps run on: its CPU now and over the range, memory and load, and the apps on it
    /// with their Apdex, each linked.
    func hostsPage(_ request: Request, _ session: DashboardSessions.Session) async throws -> Response {
        let (range, shown) = try pageRange(request)
        let hosts = try await queries.hosts(accountID: session.accountID, range: range).hosts
        let now = queries.now()
        var rows = ""
        for host in hosts {
            let spark = SVGChart(
                title: "CPU",
                unit: "%",
                times: Array(stride(from: range.from, to: range.to, by: Int(range.bucketSeconds))),
                series: [
                    .init(
                        label: "busy",
                        color: "#0969da",
                        values: Self.slots(host.cpu, range: range) { $0.avg.map { $0 * 100 } }
                    )
                ],
                drawnThrough: SVGChart.settledThrough(now: now, bucketSeconds: range.bucketSeconds),
                width: 160,
                height: 36
            )
            let apps = host.apps.map { app in
                "<a href=\"/apps/\(app.id)?\(shown.query)\">\(HTML.escape(app.name))</a> <small>\(Self.score(app.apdex))</small>"
            }.joined(separator: ", ")
            rows += """
                <tr data-host="\(HTML.escape(host.name))"><td><a href="/hosts/\(HTML.query(host.name))?\(shown.query)">\
                \(HTML.escape(host.name))</a></td>\
                <td class="n" data-figure="cpu">\(Self.percent(host.cpuUtilization))</td><td>\(spark.render())</td>\
                <td class="n" data-figure="memory">\(Self.percent(host.memoryUtilization))</td>\
                <td class="n" data-figure="load">\(host.load1m.map { String(format: "%.2f", $0) } ?? "–")</td>\
                <td>\(apps)</td><td>\(Self.clockTime(host.lastSeen))</td></tr>
                """
        }
        let table =
            rows.isEmpty
            ? "<div class=\"empty\">No host has reported yet. Run an app with <code>apm run-program</code> (it sends "
                + "its host's CPU, memory, disk and network every sample interval), or send OpenTelemetry host metrics "
                + "to <code>/v1/metrics</code> (docs/metrics.md).</div>"
            : "<table><tr><th>host</th><th class=\"n\">CPU</th><th></th><th class=\"n\">memory</th>"
                + "<th class=\"n\">load 1m</th><th>apps (Apdex)</th><th>last seen</th></tr>\(rows)</table>"
        let body = """
            <h1>Hosts</h1>\(rangePicker(shown, path: "/hosts"))\(table)
            """
        return Self.html(HTML.page(title: "Hosts", user: session.userName, csrf: session.csrf, body: body))
    }

    /// One host: its apps and its charts (CPU per state, memory, load, disk space, disk and network traffic).
    func hostPage(_ request: Request, _ session: DashboardSessions.Session, name: String) async throws -> Response {
        let (range, shown) = try pageRange(request)
        guard let detail = try await queries.host(named: name, accountID: session.accountID, range: range) else {
            return Self.html(
                HTML.page(
                    title: "Not found",
                    user: session.userName,
                    csrf: session.csrf,
                    body:
                        "<h1>No app reports metrics from host \(HTML.escape(name))</h1><p><a href=\"/hosts\">All hosts</a></p>"
                ),
                status: .notFound
            )
        }
        let now = queries.now()
        let apps = detail.host.apps.map { app in
            "<li><a href=\"/apps/\(app.id)?\(shown.query)\">\(HTML.escape(app.name))</a>: Apdex \(Self.score(app.apdex)) "
                + "(T = \(app.apdexT) s)</li>"
        }.joined()
        let charts = detail.charts.map { SVGChart.metricChart($0.metric, title: $0.title, now: now).render() }.joined()
        let body = """
            <h1>Host \(HTML.escape(name))</h1><p><a href="/hosts?\(shown.query)">All hosts</a></p>\
            \(rangePicker(shown, path: "/hosts/\(HTML.query(name))"))<h2>Apps on it</h2><ul>\(apps)</ul>\
            \(charts.isEmpty ? "<div class=\"empty\">No app sends this host's own figures (system.*): run an app on it with <code>apm run-program</code>.</div>" : "<div class=\"charts\">\(charts)</div>")
            """
        return Self.html(HTML.page(title: "Host \(name)", user: session.userName, csrf: session.csrf, body: body))
    }

    /// An app's metrics: the list, and the chart of the one picked, grouped by an attribute of its series.
    func metricsPage(
        _ request: Request,
        _ session: DashboardSessions.Session,
        _ app: StoredApp
    ) async throws
        -> Response
    {
        let (range, shown) = try pageRange(request)
        let fields = request.queryFields
        let metrics = try await queries.metrics(app: app).metrics
        let picked = fields["name"].flatMap { name in metrics.first { $0.name == name } }
        let groupBy = fields["group_by"].flatMap { $0.isEmpty ? nil : String($0.prefix(255)) }
        var chart = ""
        if let picked,
            let metric = try await queries.metric(
                app: app,
                name: picked.name,
                range: range,
                groupBy: groupBy
            )
        {
            chart = SVGChart.metricChart(metric, now: queries.now()).render()
            if metric.groups.count > SVGChart.maxGroups {
                chart += "<p>The first \(SVGChart.maxGroups) of \(metric.groups.count) groups are drawn.</p>"
            }
        }
        let rows = metrics.map { metric in
            let link = "/apps/\(app.id)/metrics?name=\(HTML.query(metric.name))&amp;\(shown.query)"
            let groups = (["host"] + metric.attributeKeys).map { key in
                "<a href=\"\(link)&amp;group_by=\(HTML.query(key))\">\(HTML.escape(key))</a>"
            }.joined(separator: " ")
            return """
                <tr data-metric="\(HTML.escape(metric.name))"><td><a href="\(link)">\(HTML.escape(metric.name))</a></td>\
                <td>\(metric.kind.rawValue)</td><td>\(HTML.escape(metric.unit))</td><td class="n">\(metric.series)</td>\
                <td>\(groups)</td><td>\(Self.clockTime(metric.lastSeen))</td></tr>
                """
        }.joined()
        let list =
            metrics.isEmpty
            ? "<div class=\"empty\">No metrics from this app yet. An OpenTelemetry SDK sends its runtime metrics to "
                + "<code>/v1/metrics</code>; <code>apm run-program</code> sends its host's (docs/metrics.md).</div>"
            : "<table><tr><th>metric</th><th>kind</th><th>unit</th><th class=\"n\">series</th><th>group by</th>"
                + "<th>last seen</th></tr>\(rows)</table>"
        let keep = [picked.map { ("name", $0.name) }, groupBy.map { ("group_by", $0) }].compactMap { $0 }
        let body = """
            <h1>\(HTML.escape(app.name)): metrics</h1>\(appNavigation(app, shown))\
            \(rangePicker(shown, path: "/apps/\(app.id)/metrics", keep: keep))\(chart)\(list)
            """
        return Self.html(HTML.page(title: "Metrics", user: session.userName, csrf: session.csrf, body: body))
    }

    /// Points placed in the range's buckets (`nil` where a bucket has none).
    static func slots(_ points: [APIMetricPoint], range: TimeRange, _ value: (APIMetricPoint) -> Double?) -> [Double?] {
        var values = [Double?](repeating: nil, count: Int((range.to - range.from) / range.bucketSeconds))
        for point in points {
            let slot = Int((point.time - range.from) / range.bucketSeconds)
            if slot >= 0 && slot < values.count { values[slot] = value(point) }
        }
        return values
    }
}
