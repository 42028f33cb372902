import APMStorage
import Foundation
import HTTPTypes
import Hummingbird

extension DashboardController {
    /// The alerts page of an app (`/apps/{id}/alerts`): its conditions, incidents, the account's channels and the
    /// latest notifications, with forms (CSRF-checked) that go through ``AlertAdministration`` as the API does.
    func addDashboardAlerts(to router: RouteCollection<Context>) {
        router.get("/apps/:app/alerts", use: showAlerts)
        router.post("/apps/:app/alerts/conditions", use: createAlertCondition)
        router.post("/apps/:app/alerts/conditions/:id/delete", use: deleteAlertCondition)
        router.post("/apps/:app/alerts/channels", use: createAlertChannel)
        router.post("/apps/:app/alerts/channels/:id/delete", use: deleteAlertChannel)
        router.post("/apps/:app/alerts/channels/:id/test", use: testAlertChannel)
        router.post("/apps/:app/alerts/incidents/:id/acknowledge", use: acknowledgeAlertIncident)
    }

    /// `GET /apps/:app/alerts`, the dashboard.
    @Sendable func showAlerts(_ request: Request, _ context: Context) async throws -> Response {
        try await self.withApp(request, context) { session, app in
            guard request.queryFields["refused"] == "condition" else {
                return try await self.alertsPage(session, app, notice: nil)
            }
            // Back from a refused condition: the form shows what was typed, and the reason is found again
            // from it (it may have changed since: a channel added, a condition deleted).
            let kept = request.queryFields.filter { Self.isConditionField($0.key) }.mapValues {
                String($0.prefix(1024))
            }
            var notice: String?
            do {
                _ = try await self.alerts.checkedCondition(
                    try Self.conditionRequest(kept, app: app),
                    accountID: session.accountID,
                    now: self.now()
                )
            } catch let error as APIError {
                notice = "Condition not created: " + (error.field.isEmpty ? "" : "\(error.field): ") + error.message
            }
            return try await self.alertsPage(session, app, notice: notice, kept: kept)
        }
    }

    /// `POST /apps/:app/alerts/conditions`, the dashboard.
    @Sendable func createAlertCondition(_ request: Request, _ context: Context) async throws -> Response {
        try await self.withApp(request, context) { session, app in
            let form = try await Self.form(request)
            try Self.checkCSRF(form, session)
            do {
                _ = try await self.alerts.createCondition(
                    try Self.conditionRequest(form, app: app),
                    accountID: session.accountID,
                    now: self.now()
                )
                return try await self.alertsPage(session, app, notice: "Condition created.")
            } catch let error as APIError where error.status == .badRequest || error.status == .unprocessableContent {
                // Redirected back to the page (a reload does not post again) with what was typed, which holds
                // nothing secret: names, figures and channel choices.
                let query = form.filter { Self.isConditionField($0.key) }.sorted { $0.key < $1.key }.map {
                    "\($0.key)=\(HTML.query(String($0.value.prefix(1024))))"
                }
                return Response.redirect(
                    to: "/apps/\(app.id)/alerts?" + (["refused=condition"] + query).joined(separator: "&")
                        + "#new-condition",
                    type: .normal
                )
            }
        }
    }

    /// `POST /apps/:app/alerts/conditions/:id/delete`, the dashboard.
    @Sendable func deleteAlertCondition(_ request: Request, _ context: Context) async throws -> Response {
        try await self.alertForm(request, context) { session, _, _ in
            let id = context.parameters.get("id", as: Int64.self) ?? 0
            _ = try await self.store.deleteAlertCondition(
                accountID: session.accountID,
                id: id,
                now: Int64(self.now())
            )
            return "Condition deleted."
        }
    }

    /// `POST /apps/:app/alerts/channels`, the dashboard.
    @Sendable func createAlertChannel(_ request: Request, _ context: Context) async throws -> Response {
        try await self.alertForm(request, context) { session, _, form in
            var channel = AlertChannelRequest()
            channel.name = form["name"]
            channel.kind = form["kind"]
            if form["kind"] == "email" { channel.address = form["url"] } else { channel.url = form["url"] }
            let created = try await self.alerts.createChannel(
                channel,
                accountID: session.accountID,
                now: self.now()
            )
            return created.kind == .webhook
                ? "Channel created. Its signing secret (shown only once): \(created.secret)" : "Channel created."
        }
    }

    /// `POST /apps/:app/alerts/channels/:id/delete`, the dashboard.
    @Sendable func deleteAlertChannel(_ request: Request, _ context: Context) async throws -> Response {
        try await self.alertForm(request, context) { session, _, _ in
            let id = context.parameters.get("id", as: Int64.self) ?? 0
            _ = try await self.store.deleteAlertChannel(accountID: session.accountID, id: id)
            return "Channel deleted."
        }
    }

    /// `POST /apps/:app/alerts/channels/:id/test`, the dashboard.
    @Sendable func testAlertChannel(_ request: Request, _ context: Context) async throws -> Response {
        try await self.alertForm(request, context) { session, _, _ in
            let id = context.parameters.get("id", as: Int64.self) ?? 0
            guard
                let delivery = try await self.alerts.sendTest(
                    accountID: session.accountID,
                    channelID: id,
                    now: self.now()
                )
            else { return "No such channel." }
            return delivery.deliveredAt != nil
                ? "Test notification delivered."
                : "Test notification failed: \(delivery.lastError ?? "no answer"); it is retried."
        }
    }

    /// `POST /apps/:app/alerts/incidents/:id/acknowledge`, the dashboard.
    @Sendable func acknowledgeAlertIncident(_ request: Request, _ context: Context) async throws -> Response {
        try await self.alertForm(request, context) { session, _, _ in
            let id = context.parameters.get("id", as: Int64.self) ?? 0
            _ = try await self.store.acknowledgeAlertIncident(
                accountID: session.accountID,
                id: id,
                by: session.userName,
                at: self.now()
            )
            return "Incident acknowledged."
        }
    }

    /// The fields of the new-condition form.
    static let conditionFields: Set<String> = [
        "name", "metric", "transaction", "warning", "critical", "window_minutes", "for_evaluations", "min_requests",
        "metric_name", "metric_filter",
    ]

    static func isConditionField(_ key: String) -> Bool {
        conditionFields.contains(key) || key.hasPrefix("channel_") && key.count <= 40
    }

    /// The condition a new-condition form asks for.
    static func conditionRequest(_ form: [String: String], app: StoredApp) throws -> AlertConditionRequest {
        var condition = AlertConditionRequest()
        condition.appID = app.id
        condition.name = form["name"]
        condition.metric = form["metric"]
        condition.transaction = (form["transaction"] ?? "").isEmpty ? nil : form["transaction"]
        condition.warning = try number(form, "warning")
        condition.critical = try number(form, "critical")
        condition.windowMinutes = try number(form, "window_minutes").map { Int($0) }
        condition.forEvaluations = try number(form, "for_evaluations").map { Int($0) }
        condition.minRequests = try number(form, "min_requests").map { Int($0) }
        condition.metricName = (form["metric_name"] ?? "").isEmpty ? nil : form["metric_name"]
        condition.metricFilter = (form["metric_filter"] ?? "").isEmpty ? nil : form["metric_filter"]
        condition.channels = form.keys.compactMap { key in
            key.hasPrefix("channel_") ? Int64(key.dropFirst("channel_".count)) : nil
        }.sorted()
        return condition
    }

    /// A number from a form, `nil` when the field is empty.
    private static func number(_ form: [String: String], _ field: String) throws -> Double? {
        let text = (form[field] ?? "").trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        guard let value = Double(text), value.isFinite, abs(value) < 1e15 else {
            throw APIError.badRequest(field, "must be a number")
        }
        return value
    }

    /// Runs a CSRF-checked alerts form and shows the page again with what happened, or with the refusal (400).
    private func alertForm(
        _ request: Request,
        _ context: Context,
        _ body: @escaping (DashboardSessions.Session, StoredApp, [String: String]) async throws -> String
    ) async throws -> Response {
        try await withApp(request, context) { session, app in
            let form = try await Self.form(request)
            try Self.checkCSRF(form, session)
            do {
                let notice = try await body(session, app, form)
                return try await self.alertsPage(session, app, notice: notice)
            } catch let error as APIError where error.status == .badRequest || error.status == .unprocessableContent {
                let notice = error.field.isEmpty ? error.message : "\(error.field): \(error.message)"
                // A refused channel keeps what was typed in its form (answered, not redirected: a webhook URL can
                // be a credential, which an address would keep in the browser's history).
                return try await self.alertsPage(
                    session,
                    app,
                    notice: notice,
                    status: error.status,
                    keptChannel: request.uri.path.hasSuffix("/alerts/channels") ? form : [:]
                )
            }
        }
    }

    func alertsPage(
        _ session: DashboardSessions.Session,
        _ app: StoredApp,
        notice: String?,
        status: HTTPResponse.Status = .ok,
        kept: [String: String] = [:],
        keptChannel: [String: String] = [:]
    ) async throws -> Response {
        /// A field of the new-condition form: what was typed when the form comes back refused, else its default.
        func typed(_ field: String, _ standard: String = "") -> String { HTML.escape(kept[field] ?? standard) }
        let csrf = "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(session.csrf))\">"
        let base = "/apps/\(app.id)/alerts"
        // A viewer sees no forms, and channel URLs only to their host: a Slack webhook URL is itself a credential.
        let admin = session.role == .admin
        let conditions = try await store.alertConditions(accountID: session.accountID).filter { $0.appID == app.id }
        let names = Dictionary(conditions.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let channels = try await store.alertChannels(accountID: session.accountID)
        let channelNames = Dictionary(channels.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let incidents = try await store.alertIncidents(accountID: session.accountID, openOnly: false, limit: 200)
            .filter { $0.appID == app.id }.prefix(30)
        let deliveries = try await store.alertDeliveries(accountID: session.accountID, limit: 20)
        let conditionRows = Self.conditionRows(
            conditions: conditions,
            channelNames: channelNames,
            base: base,
            csrf: csrf
        )
        let incidentRows = Self.incidentRows(incidents, conditionNames: names, base: base, csrf: csrf)
        let channelRows = Self.channelRows(channels, admin: admin, base: base, csrf: csrf)
        let deliveryRows = Self.deliveryRows(deliveries, channelNames: channelNames)
        let metricOptions = AlertMetric.allCases.map {
            "<option value=\"\($0.rawValue)\"\(kept["metric"] == $0.rawValue ? " selected" : "")>\($0.rawValue)</option>"
        }.joined()
        let channelChoices = channels.map {
            "<label><input type=\"checkbox\" name=\"channel_\($0.id)\"\(kept["channel_\($0.id)"] != nil ? " checked" : "")> \(HTML.escape($0.name))</label>"
        }.joined(separator: " ")
        let kinds = ["webhook", "slack", "email"].map {
            "<option value=\"\($0)\"\(keptChannel["kind"] == $0 ? " selected" : "")>\($0)</option>"
        }.joined()
        let body = """
            <h1>\(HTML.escape(app.name)): alerts</h1>\(appNavigation(app, .standard))
            \(notice.map { "<div class=\"warn\">\(HTML.escape($0))</div>" } ?? "")
            <h2>Incidents</h2>
            <table><tr><th>#</th><th>condition</th><th>severity</th><th>state</th><th>opened</th><th class="n">figure</th>\
            <th>resolved</th><th class="n">latest</th><th></th></tr>\(incidentRows)</table>
            <h2>Conditions</h2>
            <table><tr><th>name</th><th>transaction</th><th>metric</th><th class="n">warning</th><th class="n">critical</th>\
            <th class="n">window × evaluations</th><th class="n">min requests</th><th>channels</th><th></th></tr>\(conditionRows)</table>
            <form id="new-condition" method="post" action="\(base)/conditions">\(csrf)<input name="name" placeholder="name" value="\(typed("name"))" required> \
            <select name="metric">\(metricOptions)</select> <input name="warning" size="6" placeholder="warning" value="\(typed("warning"))"> \
            <input name="critical" size="6" placeholder="critical" value="\(typed("critical"))"> <label>window <input name="window_minutes" size="3" value="\(typed("window_minutes", "5"))"> min</label> \
            <label>for <input name="for_evaluations" size="3" value="\(typed("for_evaluations", "1"))"></label> <label>min requests <input name="min_requests" size="5" value="\(typed("min_requests", "10"))"></label> \
            <input name="transaction" placeholder="transaction (whole app)" value="\(typed("transaction"))"> \
            <input name="metric_name" placeholder="metric (metric_above/below)" value="\(typed("metric_name"))"> \
            <input name="metric_filter" size="12" placeholder="key=value" value="\(typed("metric_filter"))"> \(channelChoices) <button type="submit">Create a condition</button></form>
            <p><small>Apdex, throughput_below and metric_below breach below their thresholds, the others above; no_data has none. \
            metric_above and metric_below watch a stored metric (a gauge's mean, a counter's rate, a histogram's p95 over the window, the worst series), e.g. system.cpu.utilization with state=idle below 0.1. \
            A minute is evaluated \(configuration.alerts.evaluationDelay) s after it ends. See docs/alerts.md.</small></p>
            <h2>Channels</h2>
            <table><tr><th>name</th><th>kind</th><th>URL</th><th></th></tr>\(channelRows)</table>
            <form method="post" action="\(base)/channels">\(csrf)<input name="name" placeholder="name" value="\(HTML.escape(keptChannel["name"] ?? ""))" required> \
            <select name="kind">\(kinds)</select> \
            <input name="url" size="40" placeholder="https://… (or an address for email)" value="\(HTML.escape(keptChannel["url"] ?? ""))" required> <button type="submit">Add a channel</button></form>
            <h2>Latest notifications</h2>
            <table><tr><th>created</th><th>channel</th><th>event</th><th>status</th><th class="n">attempts</th><th>last error</th></tr>\(deliveryRows)</table>
            """
        return Self.html(
            HTML.page(
                title: "Alerts",
                user: session.userName,
                csrf: session.csrf,
                body: admin ? body : Self.withoutForms(body)
            ),
            status: status
        )
    }

    /// The conditions' table rows.
    static func conditionRows(
        conditions: [AlertConditionRecord],
        channelNames: [Int64: String],
        base: String,
        csrf: String
    ) -> String {
        func figure(_ value: Double?) -> String { value.map { String(format: "%.3g", $0) } ?? "–" }
        return conditions.map { condition in
            """
            <tr><td>\(HTML.escape(condition.name))</td><td>\(HTML.escape(condition.transaction ?? "(whole app)"))</td>\
            <td>\(condition.metric.rawValue)\(condition.metric.watchesMetric ? " " + HTML.escape(condition.metricName + (condition.metricFilter.isEmpty ? "" : " {\(condition.metricFilter)}")) : "")</td><td class="n">\(figure(condition.warning))</td>\
            <td class="n">\(figure(condition.critical))</td><td class="n">\(condition.windowMinutes) min × \(condition.forEvaluations)</td>\
            <td class="n">\(condition.minRequests)</td>\
            <td>\(condition.channelIDs.map { HTML.escape(channelNames[$0] ?? "#\($0)") }.joined(separator: ", "))</td>\
            <td><form method="post" action="\(base)/conditions/\(condition.id)/delete">\(csrf)<button type="submit">Delete</button></form></td></tr>
            """
        }.joined()
    }

    /// The incidents' table rows, an open one with its acknowledge button.
    static func incidentRows(
        _ incidents: some Sequence<AlertIncidentRecord>,
        conditionNames names: [Int64: String],
        base: String,
        csrf: String
    ) -> String {
        func figure(_ value: Double?) -> String { value.map { String(format: "%.3g", $0) } ?? "–" }
        return incidents.map { incident in
            let acknowledge =
                incident.acknowledgedBy.map { "acknowledged by \(HTML.escape($0))" }
                ?? (incident.resolvedAt == nil
                    ? "<form method=\"post\" action=\"\(base)/incidents/\(incident.id)/acknowledge\">\(csrf)<button type=\"submit\">Acknowledge</button></form>"
                    : "")
            return """
                <tr data-incident="\(incident.resolvedAt == nil ? "open" : "resolved")"><td>\(incident.id)</td>\
                <td>\(HTML.escape(names[incident.conditionID] ?? "(deleted condition)"))</td>\
                <td>\(incident.severity.rawValue)</td><td>\(incident.resolvedAt == nil ? "<b>open</b>" : "resolved")</td>\
                <td>\(Self.clockTime(Double(incident.openedAt)))</td><td class="n">\(figure(incident.openedValue))</td>\
                <td>\(incident.resolvedAt.map { Self.clockTime(Double($0)) } ?? "")</td>\
                <td class="n">\(figure(incident.resolvedValue ?? incident.lastValue))</td><td>\(acknowledge)</td></tr>
                """
        }.joined()
    }

    /// The channels' table rows: a viewer sees a channel's URL only to its host (a Slack webhook URL is itself a credential).
    static func channelRows(_ channels: [AlertChannelRecord], admin: Bool, base: String, csrf: String) -> String {
        channels.map { channel in
            """
            <tr><td>\(HTML.escape(channel.name))</td><td>\(channel.kind.rawValue)</td>\
            <td><code data-figure="channel-url">\(HTML.escape(admin ? channel.target : APIAlertChannel.redacted(channel.target, kind: channel.kind)))</code></td>\
            <td><form method="post" action="\(base)/channels/\(channel.id)/test">\(csrf)<button type="submit">Send a test</button></form> \
            <form method="post" action="\(base)/channels/\(channel.id)/delete">\(csrf)<button type="submit">Delete</button></form></td></tr>
            """
        }.joined()
    }

    /// The latest notifications' table rows.
    static func deliveryRows(_ deliveries: [AlertDeliveryRecord], channelNames: [Int64: String]) -> String {
        deliveries.map { delivery in
            let shown = APIAlertDelivery(delivery)
            return """
                <tr><td>\(Self.clockTime(delivery.createdAt))</td><td>\(HTML.escape(channelNames[delivery.channelID] ?? "#\(delivery.channelID)"))</td>\
                <td>\(delivery.event.rawValue)</td><td>\(shown.status)</td><td class="n">\(delivery.attempts)</td>\
                <td>\(HTML.escape(delivery.lastError ?? ""))</td></tr>
                """
        }.joined()
    }

    /// A page's body without its forms, for a viewer, who may not send them.
    static func withoutForms(_ body: String) -> String {
        var result = ""
        var rest = Substring(body)
        while let start = rest.range(of: "<form ") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].range(of: "</form>") else { return result }
            rest = rest[end.upperBound...]
        }
        return result + rest
    }
}
