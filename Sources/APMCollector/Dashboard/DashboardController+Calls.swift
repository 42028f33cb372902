import APMCore
import APMStorage
import Foundation
import Hummingbird

/// The databases and externals pages: calls per operation or host, their charts.
extension DashboardController {
    func databasesPage(
        _ request: Request,
        _ session: DashboardSessions.Session,
        _ app: StoredApp
    ) async throws -> Response {
        let (range, shown) = try pageRange(request)
        // `?transaction=`: the operations and hosts of one transaction (from its breakdown); else the app's.
        let transaction = request.queryFields["transaction"].flatMap { $0.isEmpty ? nil : String($0.prefix(1024)) }
        if let transaction, try await queries.unknownTransaction(app: app, name: transaction) != nil {
            throw APIError.badRequest("transaction", "\(app.name) has no transaction named \(transaction)")
        }
        var (databases, externals, databaseSeries, externalSeries) = try await queries.callsView(app: app, range: range)
        if let transaction {
            databases = try await queries.databases(app: app, transaction: transaction, range: range)
            externals = try await queries.externals(app: app, transaction: transaction, range: range)
        }
        let databaseChart = Self.callChart(
            databaseSeries,
            title: "Time spent in the top database operations",
            now: queries.now()
        )
        let externalChart = Self.callChart(
            externalSeries,
            title: "Time spent calling the top external hosts",
            now: queries.now()
        )
        // Time by caller: who calls each operation and host, with their part of its time.
        func callerList(_ callers: [APISegmentCaller]) -> String {
            guard !callers.isEmpty else { return "" }
            let items = callers.prefix(5).map { caller in
                """
                <li data-caller="\(HTML.escape(caller.transaction))"><a href="/apps/\(app.id)/transaction?name=\(HTML.query(caller.transaction))&amp;\(shown.query)">\(HTML.escape(caller.transaction))</a> \
                <span data-figure="caller-share">\(Self.percent(caller.share))</span> of its time, \
                <span data-figure="caller-calls">\(String(format: "%.2f", caller.callsPerTransaction))</span> calls per request</li>
                """
            }.joined()
            return
                "<ul class=\"callers\">\(items)\(callers.count > 5 ? "<li>and \(callers.count - 5) more</li>" : "")</ul>"
        }
        let databaseCallers = Dictionary(
            grouping: try await queries.callers(app: app, category: .datastore, range: range),
            by: \.name
        )
        let externalCallers = Dictionary(
            grouping: try await queries.callers(app: app, category: .external, range: range),
            by: \.name
        )
        let databaseRows = databases.map {
            "<tr id=\"op-\(HTML.query($0.name))\" data-operation=\"\(HTML.escape($0.name))\"><td>\(HTML.escape($0.name))\(callerList(databaseCallers[$0.name] ?? []))</td><td class=\"n\" data-figure=\"calls\">\($0.calls)</td><td class=\"n\" data-figure=\"average\">\(Self.ms($0.average))</td><td class=\"n\" data-figure=\"total\">\(String(format: "%.2f s", $0.totalTime))</td><td class=\"stack\">\($0.slowestStatement.isEmpty ? "<small>none reported (record_sql = off, or not SQL)</small>" : "<code>\(HTML.escape($0.slowestStatement))</code>")</td></tr>"
        }.joined()
        let externalRows = externals.map {
            "<tr id=\"host-\(HTML.query($0.host))\" data-host=\"\(HTML.escape($0.host))\"><td>\(HTML.escape($0.host))\(callerList(externalCallers[$0.host] ?? []))</td><td class=\"n\" data-figure=\"calls\">\($0.calls)</td><td class=\"n\" data-figure=\"errors\">\($0.errors)</td><td class=\"n\" data-figure=\"average\">\(Self.ms($0.average))</td><td class=\"n\" data-figure=\"total\">\(String(format: "%.2f s", $0.totalTime))</td></tr>"
        }.joined()
        let filter =
            transaction.map {
                "<div class=\"warn\" data-figure=\"filter\">The operations and hosts of <a href=\"/apps/\(app.id)/transaction?name=\(HTML.query($0))&amp;\(shown.query)\">\(HTML.escape($0))</a> (the charts are the app's). "
                    + "<a href=\"/apps/\(app.id)/databases?\(shown.query)\">Show the whole app's</a></div>"
            } ?? ""
        let body = """
            <h1>\(HTML.escape(app.name)): databases and externals</h1>\(appNavigation(app, shown))\(rangePicker(shown, path: "/apps/\(app.id)/databases", keep: transaction.map { [("transaction", $0)] } ?? []))\(filter)
            <h2>Database operations</h2><div class="charts">\(databaseChart)</div>\(databaseRows.isEmpty ? "<div class=\"empty\">No database calls in this range.</div>" : "<table><tr><th>operation and its callers</th><th class=\"n\">calls</th><th class=\"n\">avg</th><th class=\"n\">total</th><th>slowest statement</th></tr>\(databaseRows)</table>")
            <h2>External hosts</h2><div class="charts">\(externalChart)</div>\(externalRows.isEmpty ? "<div class=\"empty\">No external calls in this range.</div>" : "<table><tr><th>host and its callers</th><th class=\"n\">calls</th><th class=\"n\">errors</th><th class=\"n\">avg</th><th class=\"n\">total</th></tr>\(externalRows)</table>")
            """
        return Self.html(HTML.page(title: "Databases", user: session.userName, csrf: session.csrf, body: body))
    }

    /// A chart of the time spent per bucket in the top operations or hosts, or nothing when there are none.
    /// The title says the bucket (the axis labels carry the unit, which switches from ms to s to min), and the
    /// chart is as wide as the page: it is the only one in its row.
    static func callChart(_ series: APICallTimeSeries, title: String, now: Int64) -> String {
        guard !series.lines.isEmpty else { return "" }
        let colors = ["#0969da", "#bf8700", "#8250df", "#1a7f37", "#cf222e"]
        let bucket = series.bucketSeconds
        let per =
            bucket == 60
            ? "minute" : bucket % 3600 == 0 ? "\(bucket / 3600)-hour bucket" : "\(bucket / 60)-minute bucket"
        return SVGChart(
            title: "\(title), per \(per)",
            unit: "ms",
            times: Array(stride(from: series.from, to: series.to, by: Int(series.bucketSeconds))),
            series: zip(series.lines, colors).map { line, color in
                SVGChart.Series(label: line.name, color: color, values: line.seconds.map { $0.map { $0 * 1000 } })
            },
            drawnThrough: SVGChart.settledThrough(now: now, bucketSeconds: series.bucketSeconds),
            width: 1120
        ).render()
    }

    /// How long before and after a deployment its figures are compared.
    static let deploymentComparison: Int64 = 1800

    /// Deployments listed on one page.
    static let deploymentsShown = 50
}
