import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird

extension Collector {
    func addDashboardSettings(to router: Router<Context>) {
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
                    try await self.setApdex(
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
                let name = String((form["name"] ?? "key").prefix(100))
                let created = try await self.createLicenseKey(
                    accountID: session.accountID,
                    name: name.isEmpty ? "key" : name
                )
                return try await self.settingsPage(
                    session,
                    app,
                    notice: "New license key (shown only once): \(created.key)"
                )
            }
        }
        router.post("/apps/:app/settings/keys/:id/revoke") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                if let id = context.parameters.get("id", as: Int64.self),
                    try await self.store.revokeLicenseKey(accountID: session.accountID, id: id)
                {
                    self.authenticator.invalidate()
                }
                return Response.redirect(to: "/apps/\(app.id)/settings", type: .normal)
            }
        }
        router.post("/apps/:app/settings/users/:name/reset") { request, context in
            try await self.withApp(request, context) { session, app in
                let form = try await Self.form(request)
                try Self.checkCSRF(form, session)
                guard let name = context.parameters.get("name"),
                    let password = try await self.resetPassword(user: name, accountID: session.accountID)
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
        let keys = try await store.licenseKeys(accountID: session.accountID).map { key in
            let action =
                key.revokedAt == nil
                ? "<form method=\"post\" action=\"/apps/\(app.id)/settings/keys/\(key.id)/revoke\">\(csrf)<button type=\"submit\">Revoke</button></form>"
                : "revoked"
            return
                "<tr><td>\(HTML.escape(key.name))</td><td><code>\(HTML.escape(key.prefix))…</code></td><td>\(Self.clockTime(key.createdAt))</td><td>\(action)</td></tr>"
        }.joined()
        let users = try await store.users(accountID: session.accountID).map { user in
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
            <h2>Users</h2><table><tr><th>user</th><th>password changed</th><th></th></tr>\(users)</table>
            """
        return Self.html(
            HTML.page(title: "Settings", user: session.userName, csrf: session.csrf, body: body),
            status: status
        )
    }
}
