import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird

extension DashboardController {
    func addDashboardSettings(to router: RouteCollection<Context>) {
        router.get("/apps/:app/settings", use: appSettingsPage)
        router.post("/apps/:app/settings/apdex", use: setApdex)
        addAccountSettings(to: router)
    }

    /// `GET /apps/:app/settings`, the dashboard.
    @Sendable func appSettingsPage(_ request: Request, _ context: Context) async throws -> Response {
        try await self.withApp(request, context) { session, app in
            try await self.settingsPage(session, app, notice: nil)
        }
    }

    /// `POST /apps/:app/settings/apdex`, the dashboard.
    @Sendable func setApdex(_ request: Request, _ context: Context) async throws -> Response {
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

    /// The account's settings (`/settings`): license keys, API tokens and users, which belong to no one app.
    func addAccountSettings(to router: RouteCollection<Context>) {
        router.get("/settings", use: accountSettingsPage)
        for kind in CredentialKind.allCases {
            router.post("/settings/\(kind.apiPath)", use: createCredential(kind))
            router.post("/settings/\(kind.apiPath)/:id/revoke", use: revokeCredential(kind))
        }
        router.post("/settings/users", use: createUser)
        router.post("/settings/users/:name/role", use: setRole)
        router.post("/settings/users/:name/remove", use: removeUser)
        router.post("/settings/users/:name/reset", use: resetPassword)
    }

    /// `GET /settings`, the dashboard.
    @Sendable func accountSettingsPage(_ request: Request, _ context: Context) async throws -> Response {
        try await self.withSession(context) { session in try await self.accountPage(session, notice: nil) }
    }

    /// `POST /settings/keys` and `POST /settings/tokens`, the dashboard.
    func createCredential(_ kind: CredentialKind) -> @Sendable (Request, Context) async throws -> Response {
        { request, context in
            try await self.accountForm(request, context) { session, form in
                let created = try await self.administration.createCredential(
                    kind,
                    accountID: session.accountID,
                    name: (form["name"] ?? "").isEmpty ? nil : form["name"],
                    scope: form["scope"]
                )
                let what = created.record.scope.map { "\($0.rawValue) API token" } ?? "license key"
                return "New \(what) (shown only once): \(created.secret)"
            }
        }
    }

    /// `POST /settings/keys/:id/revoke` and `POST /settings/tokens/:id/revoke`, the dashboard.
    func revokeCredential(_ kind: CredentialKind) -> @Sendable (Request, Context) async throws -> Response {
        { request, context in
            try await self.accountForm(request, context) { session, _ in
                try await self.administration.revokeCredential(
                    kind,
                    accountID: session.accountID,
                    id: context.parameters.get("id", as: Int64.self) ?? 0
                )
                return kind == .licenseKey
                    ? "Key revoked: agents using it are refused from now on." : "Token revoked."
            }
        }
    }

    /// `POST /settings/users`, the dashboard.
    @Sendable func createUser(_ request: Request, _ context: Context) async throws -> Response {
        try await self.accountForm(request, context) { session, form in
            let created = try await self.administration.addUser(
                name: form["name"],
                role: form["role"],
                accountID: session.accountID
            )
            return
                "Added \(created.user.role.rawValue) \(created.user.name); password (shown only once): \(created.password)"
        }
    }

    /// `POST /settings/users/:name/role`, the dashboard.
    @Sendable func setRole(_ request: Request, _ context: Context) async throws -> Response {
        try await self.accountForm(request, context) { session, form in
            let user = try await self.administration.setRole(
                name: context.parameters.get("name") ?? "",
                role: form["role"],
                accountID: session.accountID
            )
            return "\(user.name) is now \(user.role == .admin ? "an admin" : "a viewer")."
        }
    }

    /// `POST /settings/users/:name/remove`, the dashboard.
    @Sendable func removeUser(_ request: Request, _ context: Context) async throws -> Response {
        try await self.accountForm(request, context) { session, _ in
            let name = context.parameters.get("name") ?? ""
            try await self.administration.removeUser(name: name, accountID: session.accountID)
            return "Removed \(name); the user's sessions have ended."
        }
    }

    /// `POST /settings/users/:name/reset`, the dashboard.
    @Sendable func resetPassword(_ request: Request, _ context: Context) async throws -> Response {
        try await self.accountForm(request, context) { session, _ in
            let name = context.parameters.get("name") ?? ""
            guard
                let password = try await self.administration.resetPassword(user: name, accountID: session.accountID)
            else { throw APIError(.notFound, code: "not_found", message: "no user \(name) in this account") }
            return "New password for \(name) (shown only once): \(password)"
        }
    }

    /// A page that needs a signed-in user but no app.
    func withSession(
        _ context: Context,
        _ body: (DashboardSessions.Session) async throws -> Response
    ) async throws -> Response {
        guard let session = context.session else { return Response.redirect(to: "/login", type: .normal) }
        return try await body(session)
    }

    /// Runs a checked account form and shows the page again with what happened, or the refusal and its status.
    private func accountForm(
        _ request: Request,
        _ context: Context,
        _ body: @escaping (DashboardSessions.Session, [String: String]) async throws -> String
    ) async throws -> Response {
        try await withSession(context) { session in
            let form = try await Self.form(request)
            try Self.checkCSRF(form, session)
            do {
                return try await self.accountPage(session, notice: try await body(session, form))
            } catch let error as APIError where error.status != .forbidden {
                let notice = error.field.isEmpty ? error.message : "\(error.field): \(error.message)"
                return try await self.accountPage(session, notice: notice, status: error.status)
            }
        }
    }

    /// The check every form that changes something goes through: its CSRF token, and the user's role (a viewer
    /// reads every page and changes nothing; the pages show a viewer no forms, and this refuses a posted one).
    static func checkCSRF(_ form: [String: String], _ session: DashboardSessions.Session) throws {
        guard form["csrf"] == session.csrf else {
            throw APIError(
                .forbidden,
                code: "csrf",
                message: "the form's CSRF token is missing or wrong; reload the page"
            )
        }
        guard session.role == .admin else {
            throw APIError(
                .forbidden,
                code: "viewer",
                message: "\(session.userName) is a viewer: viewers read every page and change nothing; an admin can "
                    + "change that on the settings page or with `apm users set-role \(session.userName) admin`"
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
        let form =
            session.role == .admin
            ? """
            <form method="post" action="/apps/\(app.id)/settings/apdex">\(csrf)<label>T <input name="t" size="6" value="\(app.apdexT)"> s</label> \
            <label>for transaction <input name="transaction" placeholder="(the whole app)"></label> <button type="submit">Set</button></form>
            """ : ""
        let body = """
            <h1>\(HTML.escape(app.name)): settings</h1>\(appNavigation(app, .standard))
            \(notice.map { "<div class=\"warn\">\(HTML.escape($0))</div>" } ?? "")
            <h2>Apdex T</h2><p>The app's T is <b data-figure="app-t">\(app.apdexT) s</b>. New data uses a changed T at once; agents learn it from their next delivery.</p>
            \(form)
            \(overrides.isEmpty ? "" : "<table><tr><th>transaction</th><th class=\"n\">T</th></tr>\(overrides)</table>")
            <p>License keys, API tokens and users belong to the account: <a href="/settings">account settings</a>.</p>
            """
        return Self.html(
            HTML.page(title: "Settings", user: session.userName, csrf: session.csrf, body: body),
            status: status
        )
    }

    /// Keys, tokens and users; a viewer sees the lists without the forms.
    func accountPage(
        _ session: DashboardSessions.Session,
        notice: String?,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let admin = session.role == .admin
        let csrf = "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(session.csrf))\">"
        func button(_ action: String, _ label: String, _ fields: String = "") -> String {
            admin
                ? "<form method=\"post\" action=\"\(action)\">\(csrf)\(fields)<button type=\"submit\">\(label)</button></form>"
                : ""
        }
        let keys = try await administration.credentials(.licenseKey, accountID: session.accountID).map { key in
            let action = key.revokedAt == nil ? button("/settings/keys/\(key.id)/revoke", "Revoke") : "revoked"
            return
                "<tr><td>\(HTML.escape(key.name))</td><td><code>\(HTML.escape(key.prefix))…</code></td><td>\(Self.clockTime(key.createdAt))</td><td>\(action)</td></tr>"
        }.joined()
        let tokens = try await administration.credentials(.apiToken, accountID: session.accountID).map { token in
            let action = token.revokedAt == nil ? button("/settings/tokens/\(token.id)/revoke", "Revoke") : "revoked"
            return
                "<tr><td>\(HTML.escape(token.name))</td><td>\(token.scope?.rawValue ?? "")</td><td><code>\(HTML.escape(token.prefix))…</code></td><td>\(Self.clockTime(token.createdAt))</td><td>\(action)</td></tr>"
        }.joined()
        let users = try await administration.users(accountID: session.accountID).map { user in
            let path = "/settings/users/\(HTML.query(user.name))"
            let other: UserRole = user.role == .admin ? .viewer : .admin
            return """
                <tr data-user="\(HTML.escape(user.name))"><td>\(HTML.escape(user.name))</td><td data-figure="role">\(user.role.rawValue)</td>\
                <td>\(Self.clockTime(user.passwordChangedAt))</td>\
                <td>\(button("\(path)/role", "Make \(other.rawValue)", "<input type=\"hidden\" name=\"role\" value=\"\(other.rawValue)\">"))</td>\
                <td>\(button("\(path)/reset", "New password"))</td><td>\(button("\(path)/remove", "Remove"))</td></tr>
                """
        }.joined()
        let forms = (
            keys: button("/settings/keys", "Create a key", "<input name=\"name\" placeholder=\"name\"> "),
            tokens: button(
                "/settings/tokens",
                "Create a token",
                "<input name=\"name\" placeholder=\"name\"> <select name=\"scope\"><option value=\"read\">read</option><option value=\"admin\">admin</option></select> "
            ),
            users: button(
                "/settings/users",
                "Add a user",
                "<input name=\"name\" placeholder=\"login name\" required> <select name=\"role\"><option value=\"viewer\">viewer</option><option value=\"admin\">admin</option></select> "
            )
        )
        let body = """
            <h1>Account settings</h1>
            \(admin ? "" : "<div class=\"warn\" data-figure=\"viewer\">You are a viewer: you read every page and change nothing.</div>")
            \(notice.map { "<div class=\"warn\">\(HTML.escape($0))</div>" } ?? "")
            <h2>License keys</h2><table><tr><th>name</th><th>prefix</th><th>created</th><th></th></tr>\(keys)</table>\(forms.keys)
            <p><small>License keys go in agents' and exporters' configuration; they can only send data.</small></p>
            <h2>API tokens</h2><table><tr><th>name</th><th>scope</th><th>prefix</th><th>created</th><th></th></tr>\(tokens)</table>\(forms.tokens)
            <p><small>API tokens read the JSON API and drive <code>apm report</code> (<code>APM_API_TOKEN</code>); an admin token also manages keys, tokens, users and T.</small></p>
            <h2>Users</h2><table><tr><th>user</th><th>role</th><th>password changed</th><th></th><th></th><th></th></tr>\(users)</table>\(forms.users)
            <p><small>A viewer reads every page and changes nothing; an admin changes everything. A removed user's sessions end at once. \
            The same from a shell: <code>apm users add|list|remove|set-role</code>.</small></p>
            """
        return Self.html(
            HTML.page(title: "Account settings", user: session.userName, csrf: session.csrf, body: body),
            status: status
        )
    }
}
