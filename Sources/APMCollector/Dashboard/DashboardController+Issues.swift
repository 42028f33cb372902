import APMCore
import APMStorage
import Foundation
import Hummingbird

/// The errors page (the issue list) and the page of one issue, with the buttons that change an issue's state and
/// the form that merges issues.
extension DashboardController {
    func addIssuePages(to router: RouteCollection<Context>) {
        router.get("/apps/:app/errors") { request, context in
            try await self.withApp(request, context) { session, app in try await self.errorsPage(request, session, app)
            }
        }
        router.get("/apps/:app/errors/:issue") { request, context in
            try await self.withApp(request, context) { session, app in
                try await self.issuePage(request, session, app, id: context.parameters.get("issue", as: Int64.self))
            }
        }
        // An issue's state buttons (admins): the same rule as the API's PATCH, then back to the page it came from
        // (a reload does not post again).
        router.post("/apps/:app/errors/:issue/state") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                var more: UInt64?
                if let text = form["ignore_more_occurrences"], !text.isEmpty {
                    guard let value = UInt64(text) else {
                        throw APIError.badRequest("ignore_more_occurrences", "must be a whole number from 1 to 10^12")
                    }
                    more = value
                }
                _ = try await self.administration.changeIssueState(
                    IssueStateRequest(state: form["state"] ?? "", ignoreMoreOccurrences: more),
                    groupID: context.parameters.get("issue", as: Int64.self) ?? 0,
                    app: app,
                    by: session.userName,
                    now: self.now()
                )
                return Response.redirect(to: Self.back(form, app: app), type: .normal)
            }
        }
        // Merging (admins): the ids typed into the issue page's form join that issue.
        router.post("/apps/:app/errors/:issue/merge") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                let text = form["issues"] ?? ""
                let ids = text.split(whereSeparator: { $0 == "," || $0 == " " }).map { Int64($0) }
                guard !ids.isEmpty, ids.count <= 100, ids.allSatisfy({ $0 != nil }) else {
                    throw APIError.badRequest("issues", "must be issue ids separated by commas, e.g. 12, 15")
                }
                let target = context.parameters.get("issue", as: Int64.self) ?? 0
                _ = try await self.administration.mergeIssues(
                    IssueMergeRequest(issues: ids.compactMap { $0 }),
                    into: target,
                    app: app,
                    by: session.userName,
                    now: self.now()
                )
                return Response.redirect(to: "/apps/\(app.id)/errors/\(target)", type: .normal)
            }
        }
    }

    /// Back to the page a form came from: only this app's errors pages, in printable ASCII.
    static func back(_ form: [String: String], app: StoredApp) -> String {
        let asked = form["back"] ?? ""
        return asked.hasPrefix("/apps/\(app.id)/errors") && asked.utf8.allSatisfy({ $0 > 32 && $0 < 127 })
            ? asked : "/apps/\(app.id)/errors"
    }

    /// An issue's state, who set it, and (for admins) the buttons that change it.
    func issueState(
        _ group: APIErrorGroup,
        app: StoredApp,
        session: DashboardSessions.Session,
        back: String
    ) -> String {
        let status = group.status
        var text = "<b>\(status.state.replacingOccurrences(of: "_", with: " "))</b>"
        if let by = status.changedBy, let at = status.changedAt {
            text += "<br><small>by \(HTML.escape(by)) at \(Self.clockTime(at))</small>"
        }
        if let count = status.ignoreUntilCount { text += "<br><small>until \(count) in all</small>" }
        guard session.role == .admin else { return text }
        let csrf = "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(session.csrf))\">"
        func button(_ state: ErrorGroupState, _ label: String, extra: String = "") -> String {
            """
            <form method="post" action="/apps/\(app.id)/errors/\(group.id)/state">\(csrf)\
            <input type="hidden" name="state" value="\(state.rawValue)"><input type="hidden" name="back" value="\(HTML.escape(back))">\
            \(extra)<button type="submit">\(label)</button></form>
            """
        }
        let current = ErrorGroupState(rawValue: status.state) ?? .unresolved
        var buttons: [String] = []
        if current != .resolved { buttons.append(button(.resolved, "Resolve")) }
        if current != .resolvedInNextDeployment {
            buttons.append(button(.resolvedInNextDeployment, "Resolve in next deployment"))
        }
        if current != .ignored {
            buttons.append(button(.ignored, "Ignore"))
            buttons.append(
                button(
                    .ignored,
                    "Ignore until 100 more",
                    extra: "<input type=\"hidden\" name=\"ignore_more_occurrences\" value=\"100\">"
                )
            )
        }
        if current != .unresolved && current != .regressed { buttons.append(button(.unresolved, "Reopen")) }
        return text + "<div class=\"issue-actions\">\(buttons.joined())</div>"
    }

    func errorsPage(_ request: Request, _ session: DashboardSessions.Session, _ app: StoredApp) async throws -> Response
    {
        let (range, shown) = try pageRange(request)
        let stateName = request.queryFields["state"] ?? ""
        let state = ErrorGroupState(rawValue: stateName)
        let groups = try await queries.errors(
            app: app,
            range: range,
            filter: ErrorGroupFilter(states: state.map { [$0] })
        )
        let traceOf = Dictionary(
            try await queries.traces(app: app, range: range, limit: 500).map { ($0.traceID, $0.id) },
            uniquingKeysWith: { first, _ in first }
        )
        let back = "/apps/\(app.id)/errors?\(shown.query)\(state.map { "&state=\($0.rawValue)" } ?? "")"
        let rows = groups.map { group in
            let trace =
                traceOf[group.sample.traceID].map {
                    "<br><a href=\"/apps/\(app.id)/traces/\($0)\" data-figure=\"sample-trace\">the trace of this request</a>"
                } ?? ""
            let spark = SVGChart(
                title: "",
                unit: "",
                times: Array(stride(from: range.from, to: range.to, by: Int(range.bucketSeconds))),
                series: [.init(label: "errors", color: "#cf222e", values: group.sparkline.map { Double($0) })],
                drawnThrough: SVGChart.settledThrough(now: queries.now(), bucketSeconds: range.bucketSeconds),
                width: 160,
                height: 40
            ).render()
            return """
                <tr data-error="\(HTML.escape(group.type))"><td class="stack"><a href="/apps/\(app.id)/errors/\(group.id)?\(shown.query)" data-figure="issue-link"><b>\(HTML.escape(group.type))</b></a><br>\(HTML.escape(group.message))<details><summary>sample</summary>\
                \(Self.stackHTML(group.sample))</details></td>\
                <td><a href="/apps/\(app.id)/transaction?name=\(HTML.query(group.transaction))&amp;\(shown.query)">\(HTML.escape(group.transaction))</a>\(trace)</td><td class="n" data-figure="count">\(group.count)</td><td>\(Self.clockTime(group.firstSeen))</td>\
                <td>\(Self.clockTime(group.lastSeen))</td><td>\(spark)</td>\
                <td data-figure="state">\(issueState(group, app: app, session: session, back: back))</td></tr>
                """
        }.joined()
        let filters = ([("", "all")] + ErrorGroupState.allCases.map { ($0.rawValue, $0.rawValue) }).map {
            value,
            label in
            let selected = value == (state?.rawValue ?? "")
            let link = "/apps/\(app.id)/errors?\(shown.query)\(value.isEmpty ? "" : "&amp;state=\(value)")"
            return
                "<a href=\"\(link)\"\(selected ? " class=\"on\"" : "")>\(label.replacingOccurrences(of: "_", with: " "))</a>"
        }.joined(separator: " · ")
        let body = """
            <h1>\(HTML.escape(app.name)): errors</h1>\(appNavigation(app, shown))\(rangePicker(shown, path: "/apps/\(app.id)/errors"))
            <p class="filters" data-figure="state-filter">\(filters)</p>
            \(rows.isEmpty ? "<div class=\"empty\">No errors in this range.</div>" : "<table><tr><th>error</th><th>transaction</th><th class=\"n\">count</th><th>first seen</th><th>last seen</th><th>trend</th><th>state</th></tr>\(rows)</table>")
            """
        return Self.html(HTML.page(title: "Errors", user: session.userName, csrf: session.csrf, body: body))
    }

    /// One issue: its state and buttons, occurrences over the range, counts by transaction, host and deployment,
    /// the deployments of its first and latest occurrence, and its latest samples with their stack, request and
    /// trace.
    func issuePage(
        _ request: Request,
        _ session: DashboardSessions.Session,
        _ app: StoredApp,
        id: Int64?
    ) async throws -> Response {
        let (range, shown) = try pageRange(request)
        guard let id, let detail = try await queries.issue(app: app, id: id, range: range) else {
            return Self.html(
                HTML.page(
                    title: "Not found",
                    user: session.userName,
                    csrf: session.csrf,
                    body: "<h1>No such issue</h1><p><a href=\"/apps/\(app.id)/errors\">Errors</a></p>"
                ),
                status: .notFound
            )
        }
        let issue = detail.issue
        let base = "/apps/\(app.id)"
        let back = "\(base)/errors/\(id)?\(shown.query)"
        func deployment(_ deployment: APIDeployment?) -> String {
            deployment.map { "<br><small>deployment <code>\(HTML.escape($0.revision))</code></small>" } ?? ""
        }
        let chart = SVGChart(
            title: "Occurrences",
            unit: "",
            times: Array(stride(from: range.from, to: range.to, by: Int(range.bucketSeconds))),
            series: [.init(label: "occurrences", color: "#cf222e", values: issue.sparkline.map { Double($0) })],
            drawnThrough: SVGChart.settledThrough(now: queries.now(), bucketSeconds: range.bucketSeconds),
            width: 1120
        ).render()
        let deploymentRows = detail.deployments.map {
            "<tr><td>\($0.revision.isEmpty ? "before the first deployment" : "<code>\(HTML.escape($0.revision))</code>")</td><td class=\"n\">\($0.count)</td></tr>"
        }.joined()
        let samples = Self.sampleHTML(detail.samples, app: app)
        let merge =
            session.role == .admin
            ? """
            <h2>Merge</h2><form method="post" action="\(base)/errors/\(id)/merge" data-figure="merge">\
            <input type="hidden" name="csrf" value="\(HTML.escape(session.csrf))">\
            <label>Issues to merge into this one <input name="issues" placeholder="12, 15" size="20"></label> \
            <button type="submit">Merge</button></form><p><small>Their counts, samples and fingerprints join this issue; \
            their later occurrences count here.</small></p>
            """ : ""
        let body = """
            <h1>\(HTML.escape(app.name)): <span data-figure="issue-type">\(HTML.escape(issue.type))</span></h1>\(appNavigation(app, shown))\
            \(rangePicker(shown, path: "\(base)/errors/\(id)"))
            <p data-figure="issue-message">\(HTML.escape(issue.message))</p>
            <div class="cards" data-cards="issue">\
            <div class="card">State<div data-figure="state">\(issueState(issue, app: app, session: session, back: back))</div></div>\
            <div class="card">In this range<b data-figure="count">\(issue.count)</b></div>\
            <div class="card">All time<b data-figure="total-count">\(detail.totalCount)</b></div>\
            <div class="card">Users affected<b data-figure="users">\(issue.usersAffected ?? 0)</b></div>\
            <div class="card">First seen<span data-figure="first-seen">\(Self.clockTime(issue.firstSeen))\(deployment(detail.firstSeenDeployment))</span></div>\
            <div class="card">Last seen<span data-figure="last-seen">\(Self.clockTime(issue.lastSeen))\(deployment(detail.lastSeenDeployment))</span></div>\
            </div>
            <div class="charts">\(chart)</div>
            \(Self.facetTable("transaction", detail.transactions) { "\(base)/transaction?name=\(HTML.query($0))&amp;\(shown.query)" })\
            \(Self.facetTable("host", detail.hosts) { _ in nil })\
            \(deploymentRows.isEmpty ? "" : "<h2>By deployment</h2><table data-figure=\"by-deployment\"><tr><th>deployment</th><th class=\"n\">count in range</th></tr>\(deploymentRows)</table>")
            <h2>Latest occurrences</h2>\(samples.isEmpty ? "<div class=\"empty\">No occurrence kept (retention deleted them).</div>" : samples)
            \(merge)
            """
        return Self.html(HTML.page(title: issue.type, user: session.userName, csrf: session.csrf, body: body))
    }

    /// A table of an issue's counts by one facet, each value a link when `link` gives one.
    static func facetTable(_ title: String, _ counts: [APIFacetCount], link: (String) -> String?) -> String {
        guard !counts.isEmpty else { return "" }
        let rows = counts.map { count in
            let value =
                link(count.value).map { "<a href=\"\($0)\">\(HTML.escape(count.value))</a>" }
                ?? HTML.escape(count.value)
            return
                "<tr><td>\(value)</td><td class=\"n\">\(count.count)</td><td>\(Self.clockTime(count.lastSeen))</td></tr>"
        }.joined()
        return """
            <h2>By \(title)</h2><table data-figure="by-\(title)"><tr><th>\(title)</th><th class="n">count</th><th>last seen</th></tr>\(rows)</table>
            """
    }

    /// An issue's latest samples: when and where, the request's attributes, the stack, the trace's link and its
    /// log lines.
    static func sampleHTML(_ samples: [APIIssueSample], app: StoredApp) -> String {
        let base = "/apps/\(app.id)"
        return samples.map { sample in
            let request = sample.sample.attributes.filter { key, _ in
                key.hasPrefix("http.") || key.hasPrefix("url.") || key.hasPrefix("request.")
            }.sorted { $0.key < $1.key }.map { "<li>\(HTML.escape($0.key)) <code>\(HTML.escape($0.value))</code></li>" }
                .joined()
            let trace =
                sample.traceRowID.map {
                    " · <a href=\"\(base)/traces/\($0)\" data-figure=\"sample-trace\">its trace</a>"
                } ?? ""
            return """
                <div class="sample" data-figure="sample"><p>\(Self.clockTime(sample.at)) · host \(HTML.escape(sample.host)) · \
                \(HTML.escape(sample.sample.transaction))\(sample.sample.status > 0 ? " · status \(sample.sample.status)" : "")\(trace)</p>\
                \(request.isEmpty ? "" : "<ul class=\"request\" data-figure=\"request\">\(request)</ul>")\(Self.stackHTML(sample.sample))\
                \(sample.logs.isEmpty ? "" : "<details open><summary>Log lines of its trace</summary>\(Self.logTable(sample.logs, app: app, showContext: false))</details>")</div>
                """
        }.joined()
    }
}
