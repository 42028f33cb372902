import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird

extension DashboardController {
    func addDashboardSettings(to router: RouteCollection<Context>) {
        router.get("/apps/:app/settings") { request, context in
            try await self.withApp(request, context) { session, app in
                try await self.settingsPage(session, app, notice: nil)
            }
        }
        router.post("/apps/:app/settings/apdex") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                let transaction = (form["transaction"] ?? "").trimmingCharacters(in: .whitespaces)
                guard let seconds = Double(form["t"] ?? ""), ApdexThreshold(seconds: seconds) != nil else {
                    return try await self.settingsPage(
                        session,
                        app,
                        notice: "T must be a number of seconds from 0.001 to 3600.",
                        status: .badRequest
                    )
                }
                guard transaction.utf8.count <= 1024 else {
                    return try await self.settingsPage(
                        session,
                        app,
                        notice: "The transaction name is too long.",
                        status: .badRequest
                    )
                }
                do {
                    try await self.administration.setApdex(
                        app: app,
                        transaction: transaction.isEmpty ? nil : transaction,
                        seconds: seconds
                    )
                } catch let error as APIError {
                    return try await self.settingsPage(session, app, notice: error.message, status: .badRequest)
                }
                return Response.redirect(to: "/apps/\(app.id)/settings", type: .normal)
            }
        }
        router.post("/apps/:app/settings/keys") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                let name = (form["name"] ?? "").isEmpty ? nil : form["name"]
                do {
                    let created = try await self.administration.createLicenseKey(
                        accountID: session.accountID,
                        name: name
                    )
                    return try await self.settingsPage(
                        session,
                        app,
                        notice: "New license key (shown only once): \(created.key)"
                    )
                } catch let error as APIError {
                    return try await self.settingsPage(session, app, notice: error.message, status: .badRequest)
                }
            }
        }
        router.post("/apps/:app/settings/keys/:id/revoke") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                if let id = context.parameters.get("id", as: Int64.self) {
                    try? await self.administration.revokeLicenseKey(accountID: session.accountID, id: id)
                }
                return Response.redirect(to: "/apps/\(app.id)/settings", type: .normal)
            }
        }
        router.post("/apps/:app/settings/tokens") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                do {
                    let created = try await self.administration.createAPIToken(
                        accountID: session.accountID,
                        name: (form["name"] ?? "").isEmpty ? nil : form["name"],
                        scope: form["scope"]
                    )
                    return try await self.settingsPage(
                        session,
                        app,
                        notice: "New \(created.record.scope.rawValue) API token (shown only once): \(created.token)"
                    )
                } catch let error as APIError {
                    return try await self.settingsPage(session, app, notice: error.message, status: .badRequest)
                }
            }
        }
        router.post("/apps/:app/settings/tokens/:id/revoke") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                if let id = context.parameters.get("id", as: Int64.self) {
                    try? await self.administration.revokeAPIToken(accountID: session.accountID, id: id)
                }
                return Response.redirect(to: "/apps/\(app.id)/settings", type: .normal)
            }
        }
        router.post("/apps/:app/settings/users/:name/reset") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                guard let name = context.parameters.get("name"),
                    let password = try await self.administration.resetPassword(user: name, accountID: session.accountID)
                else {
                    return try await self.settingsPage(session, app, notice: "No such user.", status: .notFound)
                }
                return try await self.settingsPage(
                    session,
                    app,
                    notice: "New password for \(name) (shown only once): \(password)"
                )
            }
        }
    }

    static func checkCSRF(_ form: [String: String], _ session: DashboardSessions.Session) throws {
        guard form["csrf"] == session.csrf else {
            throw APIError(
                .forbidden,
                code: "csrf",
                message: "the form's CSRF token is missing or wrong; reload the page"
            )
        }
    }

    func settingsPage(
        _ session: DashboardSessions.Session,
        _ app: StoredApp,
        notice: String?,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let csrf = "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(session.csrf))\">"
        let overrides = app.transactionApdexT.sorted { $0.key < $1.key }.map {
            "<tr><td>\(HTML.escape($0.key))</td><td class=\"n\">\($0.value) s</td></tr>"
        }.joined()
        let keys = try await administration.licenseKeys(accountID: session.accountID).map { key in
            let action =
                key.revokedAt == nil
                ? "<form method=\"post\" action=\"/apps/\(app.id)/settings/keys/\(key.id)/revoke\">\(csrf)<button type=\"submit\">Revoke</button></form>"
                : "revoked"
            return
                "<tr><td>\(HTML.escape(key.name))</td><td><code>\(HTML.escape(key.prefix))…</code></td><td>\(Self.clockTime(key.createdAt))</td><td>\(action)</td></tr>"
        }.joined()
        let tokens = try await administration.apiTokens(accountID: session.accountID).map { token in
            let action =
                token.revokedAt == nil
                ? "<form method=\"post\" action=\"/apps/\(app.id)/settings/tokens/\(token.id)/revoke\">\(csrf)<button type=\"submit\">Revoke</button></form>"
                : "revoked"
            return
                "<tr><td>\(HTML.escape(token.name))</td><td>\(token.scope.rawValue)</td><td><code>\(HTML.escape(token.prefix))…</code></td><td>\(Self.clockTime(token.createdAt))</td><td>\(action)</td></tr>"
        }.joined()
        let users = try await administration.users(accountID: session.accountID).map { user in
            """
            <tr><td>\(HTML.escape(user.name))</td><td>\(Self.clockTime(user.passwordChangedAt))</td>\
            <td><form method="post" action="/apps/\(app.id)/settings/users/\(HTML.query(user.name))/reset">\(csrf)<button type="submit">New password</button></form></td></tr>
            """
        }.joined()
        let body = """
            <h1>\(HTML.escape(app.name)): settings</h1>\(appNavigation(app, .standard))
            \(notice.map { "<div class=\"warn\">\(HTML.escape($0))</div>" } ?? "")
            <h2>Apdex T</h2><p>The app's T is <b data-figure="app-t">\(app.apdexT) s</b>. New data uses a changed T at once; agents learn it from their next delivery.</p>
            <form method="post" action="/apps/\(app.id)/settings/apdex">\(csrf)<label>T <input name="t" size="6" value="\(app.apdexT)"> s</label> \
            <label>for transaction <input name="transaction" placeholder="(the whole app)"></label> <button type="submit">Set</button></form>
            \(overrides.isEmpty ? "" : "<table><tr><th>transaction</th><th class=\"n\">T</th></tr>\(overrides)</table>")
            <h2>License keys</h2><table><tr><th>name</th><th>prefix</th><th>created</th><th></th></tr>\(keys)</table>
            <form method="post" action="/apps/\(app.id)/settings/keys">\(csrf)<input name="name" placeholder="name"> <button type="submit">Create a key</button></form>
            <p><small>License keys go in agents' and exporters' configuration; they can only send data.</small></p>
            <h2>API tokens</h2><table><tr><th>name</th><th>scope</th><th>prefix</th><th>created</th><th></th></tr>\(tokens)</table>
            <form method="post" action="/apps/\(app.id)/settings/tokens">\(csrf)<input name="name" placeholder="name"> \
            <select name="scope"><option value="read">read</option><option value="admin">admin</option></select> <button type="submit">Create a token</button></form>
            <p><small>API tokens read the JSON API and drive <code>apm report</code> (<code>APM_API_TOKEN</code>); an admin token also manages keys, tokens, users and T.</small></p>
            <h2>Users</h2><table><tr><th>user</th><th>password changed</th><th></th></tr>\(users)</table>
            """
        return Self.html(
            HTML.page(title: "Settings", user: session.userName, csrf: session.csrf, body: body),
            status: status
        )
    }
}
