import APMCore
import APMStorage
import Foundation
import Hummingbird

/// The deployments page.
extension DashboardController {
    /// The deployments in the range, newest first, each with the app's figures in the half hour before and after
    /// it (as New Relic's deployment list compares them), and a link to the overview around it.
    func deploymentsPage(
        _ request: Request,
        _ session: DashboardSessions.Session,
        _ app: StoredApp
    ) async throws -> Response {
        let (range, shown) = try pageRange(request)
        let deployments = try await queries.deployments(app: app, range: range).reversed()
        let now = queries.now()
        var rows = ""
        for deployment in deployments.prefix(Self.deploymentsShown) {
            let at = Int64(deployment.at)
            let before = try await queries.summary(
                app: app,
                range: queries.range(from: at - Self.deploymentComparison, to: at)
            )
            let after = try await queries.summary(
                app: app,
                range: queries.range(from: at, to: min(now, at + Self.deploymentComparison))
            )
            func change(_ value: (APIFigures) -> String) -> String {
                "\(value(before)) → \(value(after))"
            }
            rows += """
                <tr data-deployment="\(HTML.escape(deployment.revision))"><td><b>\(HTML.escape(deployment.revision))</b>\
                \(deployment.description.isEmpty ? "" : "<br><small>\(HTML.escape(deployment.description))</small>")</td>\
                <td>\(Self.clockTime(deployment.at))</td><td>\(HTML.escape(deployment.user))</td>\
                <td class="n" data-figure="apdex">\(change { Self.score($0.apdex.score) })</td>\
                <td class="n" data-figure="average">\(change { Self.ms($0.average) })</td>\
                <td class="n" data-figure="error-rate">\(change { Self.percent($0.errorRate) })</td>\
                <td class="n" data-figure="count">\(change { "\($0.count)" })</td>\
                <td><a href="/apps/\(app.id)?from=\(at - 3600)&amp;to=\(min(now, at + 3600))">around it</a></td></tr>
                """
        }
        let more =
            deployments.count > Self.deploymentsShown
            ? "<p>The newest \(Self.deploymentsShown) of \(deployments.count); choose a shorter range for the others.</p>"
            : ""
        let list =
            rows.isEmpty
            ? "<div class=\"empty\">No deployments in this range. Record one with <code>apm deployments record</code> "
                + "or the API (docs/api.md).</div>"
            : "<table><tr><th>revision</th><th>at</th><th>by</th><th class=\"n\">Apdex</th><th class=\"n\">avg</th>"
                + "<th class=\"n\">errors</th><th class=\"n\">requests</th><th></th></tr>\(rows)</table>\(more)"
                + "<p><small>Each figure: the app's web transactions in the 30 minutes before → the 30 minutes after "
                + "(up to now).</small></p>"
        let body = """
            <h1>\(HTML.escape(app.name)): deployments</h1>\(appNavigation(app, shown))\(rangePicker(shown, path: "/apps/\(app.id)/deployments"))
            \(list)
            """
        return Self.html(HTML.page(title: "Deployments", user: session.userName, csrf: session.csrf, body: body))
    }
}
