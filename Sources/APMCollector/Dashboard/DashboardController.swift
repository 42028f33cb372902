import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The dashboard: HTML pages for a signed-in user (a session cookie; forms carry a CSRF token), each built from
/// the same ``CollectorQueries`` answers as the API.
struct DashboardController: CollectorController {
    let store: any UserStore & AppStore & AlertStore
    let queries: CollectorQueries
    let configuration: CollectorConfiguration
    let sessions: DashboardSessions
    let signInGuard: SignInGuard
    let administration: Administration
    let alerts: AlertAdministration
    let now: @Sendable () -> Double

    var endpoints: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        addRoutes(to: router)
        return router
    }
}

extension DashboardController {
    static let sessionCookie = DashboardSessions.cookie
    static let loginCookie = "apm_login_csrf"

    private func addRoutes(to router: RouteCollection<Context>) {
        router.get("/") { _, _ in Response.redirect(to: "/apps", type: .found) }
        // Browsers ask for an icon on every page; without one each page logs a failed load.
        router.get("/favicon.svg") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "image/svg+xml", .cacheControl: "public, max-age=86400"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: HTML.icon))
            )
        }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/login") { request, _ in try await self.loginPage(request: request, error: nil, status: .ok) }
        router.post("/login") { request, context in try await self.login(request, context: context) }
        router.post("/logout") { request, context in
            let form = try await Self.form(request)
            guard let session = context.session else {
                return Response.redirect(to: "/login", type: .normal)
            }
            guard form["csrf"] == session.csrf else {
                throw APIError(.forbidden, code: "csrf", message: "the form's CSRF token is missing or wrong")
            }
            try await self.sessions.end(request.cookies[Self.sessionCookie]?.value)
            var response = Response.redirect(to: "/login", type: .normal)
            response.headers[values: .setCookie].append(
                "\(Self.sessionCookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
            )
            return response
        }
        router.get("/apps") { request, context in
            guard let session = context.session else {
                return Response.redirect(to: "/login", type: .normal)
            }
            do {
                return try await self.appsPage(request: request, session: session)
            } catch let error as APIError where error.status == .badRequest {
                return self.badRequestPage(session, error, path: "/apps")
            }
        }
        addDashboardPages(to: router)
        addDashboardAlerts(to: router)
        router.get("/apps/:app") { request, context in
            try await self.withApp(request, context) { session, app in
                try await self.overviewPage(request: request, session: session, app: app)
            }
        }
    }

    // MARK: Login

    func loginPage(
        request: Request,
        error: String?,
        status: HTTPResponse.Status,
        retryAfter: Int? = nil
    ) async throws
        -> Response
    {
        let token = try await signInGuard.loginToken()
        let body = """
            <form class="login" method="post" action="/login">
            <h1>Sign in</h1>\(error.map { "<p class=\"error\">\(HTML.escape($0))</p>" } ?? "")
            <label>User <input name="name" autocomplete="username" required></label>
            <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
            <input type="hidden" name="csrf" value="\(token)">
            <button type="submit">Sign in</button>
            <p><small>The first start of <code>apm collector</code> printed the admin password;
            <code>apm users reset-password admin</code> sets a new one.</small></p>
            </form>
            """
        var response = Self.html(HTML.page(title: "Sign in", user: nil, csrf: nil, body: body), status: status)
        response.headers[values: .setCookie].append(
            "\(Self.loginCookie)=\(token); Path=/login; HttpOnly; SameSite=Strict\(Self.secure(request))"
        )
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    func login(_ request: Request, context: Context) async throws -> Response {
        let form = try await Self.form(request)
        // The form's token must be the cookie's, and signed by this installation.
        guard let token = form["csrf"], token == request.cookies[Self.loginCookie]?.value,
            try await signInGuard.isValidLoginToken(token)
        else {
            throw APIError(
                .forbidden,
                code: "csrf",
                message: "the form's CSRF token is missing or wrong; reload the sign-in page"
            )
        }
        let name = String((form["name"] ?? "").prefix(100))
        let address = context.clientAddress(request, trustedProxies: configuration.server.trustedProxies)
        // Counted before the password is checked, so that concurrent guesses are all counted.
        if case .wait(let seconds) = try await signInGuard.reserve(name: name, address: address) {
            let wait = Int(seconds.rounded(.up))
            return try await loginPage(
                request: request,
                error: "Too many failed attempts; try again in \(wait) s.",
                status: .tooManyRequests,
                retryAfter: wait
            )
        }
        let user = try await store.user(named: name)
        // An unknown name costs the same scrypt work as a known one, so timing does not tell which names exist.
        let matches = await PasswordHasher.verifyInBackground(
            form["password"] ?? "",
            against: user?.passwordHash ?? PasswordHasher.unmatchableHash(cost: configuration.passwordHashCost)
        )
        guard let user, matches else {
            return try await loginPage(request: request, error: "Wrong user name or password.", status: .unauthorized)
        }
        try await signInGuard.succeeded(name: name, address: address)
        let created = try await sessions.create(for: user)
        var response = Response.redirect(to: "/apps", type: .normal)
        response.headers[values: HTTPField.Name.setCookie].append(
            "\(Self.sessionCookie)=\(created.token); Path=/; HttpOnly; SameSite=Strict\(Self.secure(request))"
        )
        return response
    }

    /// `; Secure` when the dashboard is reached over HTTPS (directly or through a proxy).
    static func secure(_ request: Request) -> String {
        request.uri.scheme == .https || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
            ? "; Secure" : ""
    }

    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 16 * 1024)
        return FormEncoding.fields(String(buffer: buffer))
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                HTTPField.Name("Content-Security-Policy")!:
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    // MARK: Pages

    /// The range a page shows, from its `range` or `from`/`to` parameters.
    func pageRange(_ request: Request) throws -> (range: TimeRange, shown: DashboardRange) {
        let parameters = request.queryFields
        let shown = try DashboardRange.parse(
            range: parameters["range"],
            from: parameters["from"],
            to: parameters["to"],
            now: queries.now()
        )
        return (queries.range(from: shown.from, to: shown.to), shown)
    }

    /// The preset links and the custom-range form; `keep` are parameters the page needs besides the range.
    func rangePicker(_ shown: DashboardRange, path: String, keep: [(name: String, value: String)] = []) -> String {
        let kept = keep.map { "\($0.name)=\(HTML.query($0.value))&amp;" }.joined()
        let hidden = keep.map { "<input type=\"hidden\" name=\"\($0.name)\" value=\"\(HTML.escape($0.value))\">" }
            .joined()
        let links = DashboardRange.presets.map {
            "<a href=\"\(path)?\(kept)range=\($0)\"\($0 == shown.preset ? " class=\"on\"" : "")>\($0)</a>"
        }.joined()
        return """
            <nav class="range">\(links)<form method="get" action="\(path)"\(shown.preset == nil ? " class=\"on\"" : "")>\(hidden)\
            <label>from <input type="datetime-local" name="from" value="\(DashboardRange.format(shown.from))"></label> \
            <label>to <input type="datetime-local" name="to" value="\(DashboardRange.format(shown.to))"></label> UTC \
            <button type="submit">Show</button></form><span class="shown">\(HTML.escape(shown.description))</span></nav>
            """
    }

    static func apdexClass(_ score: Double?) -> String {
        guard let score else { return "" }
        return score >= 0.94 ? "good" : score >= 0.7 ? "fair" : "poor"
    }

    static func ms(_ seconds: Double?) -> String {
        seconds.map { String(format: "%.1f ms", $0 * 1000) } ?? "–"
    }

    /// An Apdex score as shown: two decimals, or a dash when there were no requests.
    static func score(_ value: Double?) -> String {
        value.map { String(format: "%.2f", $0) } ?? "–"
    }

    /// The four figure cards at the top of the overview and transaction pages.
    static func cards(_ figures: APIFigures) -> String {
        let apdex = figures.apdex
        return """
            <div class="cards" data-cards="overview">\
            <div class="card">Apdex<b class="\(apdexClass(apdex.score))" data-figure="apdex">\(score(apdex.score))</b>\
            <span data-figure="stf">S \(apdex.satisfied) / T \(apdex.tolerating) / F \(apdex.frustrated)</span>, \
            T = <span data-figure="t">\(apdex.t)</span> s\(reclassifiedNote(apdex))</div>\
            <div class="card">Throughput\(throughput(figures))</div>\
            <div class="card">Response time<b data-figure="average">\(ms(figures.average))</b>\
            p95 <span data-figure="p95">\(ms(figures.p95))</span>, p99 <span data-figure="p99">\(ms(figures.p99))</span></div>\
            <div class="card">Error rate<b data-figure="error-rate">\(percent(figures.errorRate))</b>\
            <span data-figure="errors">\(figures.errors)</span> errors</div></div>
            """
    }

    /// The throughput card's figures: the rate the throughput chart ends on (the last complete minute), then the
    /// range's requests and their average rate, labelled as such (it counts minutes before the app existed too).
    static func throughput(_ figures: APIFigures) -> String {
        let requests = "<span data-figure=\"count\">\(figures.count)</span> requests"
        let average = "<span data-figure=\"range-rpm\">\(String(format: "%.1f", figures.rpm)) rpm</span>"
        guard let latest = figures.latestMinute else {
            return "<b data-figure=\"rpm\">\(String(format: "%.1f", figures.rpm)) rpm</b>\(requests), "
                + "\(average) averaged over the range"
        }
        let minute = SVGChart.timeLabels([latest.start])[0]
        return "<b data-figure=\"rpm\">\(latest.count) rpm</b>"
            + "<span data-figure=\"rpm-minute\">in the minute from \(minute) UTC</span><br>"
            + "\(requests) in the range, \(average) on average"
    }

    /// Said under an Apdex whose counts were partly classified again at the T in force (see ``APIApdex/exact``).
    static func reclassifiedNote(_ apdex: APIApdex) -> String {
        guard !apdex.exact else { return "" }
        return
            "<br><small data-figure=\"reclassified\">\(apdex.reclassified) recorded at another T, placed at this one "
            + "from their latency histograms: the score lies between \(score(apdex.scoreMin)) and \(score(apdex.scoreMax))"
            + "</small>"
    }

    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f %%", $0 * 100) } ?? "–"
    }

    /// Apps listed per page of the apps page.
    static let appsPerPage = 50

    func appsPage(request: Request, session: DashboardSessions.Session) async throws -> Response {
        let (range, shown) = try pageRange(request)
        let pageText = request.queryFields["page"] ?? "1"
        guard let pageNumber = Int(pageText), (1...100_000).contains(pageNumber) else {
            throw APIError.badRequest("page", "must be a page number from 1, got \(String(pageText.prefix(40)))")
        }
        let perPage = Self.appsPerPage
        let page = try await queries.appSummaries(
            accountID: session.accountID,
            range: range,
            offset: (pageNumber - 1) * perPage,
            limit: perPage
        )
        var rows = ""
        var warnings = ""
        for summary in page.apps {
            let app = (id: summary.id, name: summary.name, language: summary.language)
            let s = summary.summary
            let spark = SVGChart(
                title: "",
                unit: "rpm",
                times: Array(stride(from: range.from, to: range.to, by: Int(range.bucketSeconds))),
                series: [.init(label: "rpm", color: "#0969da", values: summary.sparkline)],
                drawnThrough: SVGChart.settledThrough(now: queries.now(), bucketSeconds: range.bucketSeconds),
                width: 160,
                height: 40
            ).render()
            rows += """
                <tr data-app="\(HTML.escape(app.name))"><td><a href="/apps/\(app.id)?\(shown.query)">\(HTML.escape(app.name))</a> \
                <small class="language" data-figure="language">\(HTML.escape(app.language))</small></td>\
                <td class="n \(Self.apdexClass(s.apdex.score))" data-figure="apdex">\(Self.score(s.apdex.score))</td>\
                <td class="n" data-figure="stf">\(s.apdex.satisfied)/\(s.apdex.tolerating)/\(s.apdex.frustrated) at T = \(s.apdex.t) s</td>\
                <td class="n" data-figure="rpm">\(String(format: "%.1f", s.rpm))</td><td class="n" data-figure="average">\(Self.ms(s.average))</td>\
                <td class="n" data-figure="p95">\(Self.ms(s.p95))</td>\
                <td class="n" data-figure="error-rate">\(Self.percent(s.errorRate))</td><td>\(spark)</td></tr>
                """
            for warning in summary.warnings {
                warnings += "<div class=\"warn\">\(HTML.escape(app.name)): \(HTML.escape(warning))</div>"
            }
        }
        var pager = ""
        if page.total > perPage {
            let pages = (page.total + perPage - 1) / perPage
            let previous =
                pageNumber > 1 ? "<a href=\"/apps?\(shown.query)&amp;page=\(pageNumber - 1)\">previous</a> " : ""
            let next =
                pageNumber < pages ? " <a href=\"/apps?\(shown.query)&amp;page=\(pageNumber + 1)\">next</a>" : ""
            pager =
                "<p class=\"pager\" data-figure=\"pager\">\(previous)page \(pageNumber) of \(pages) (\(page.total) apps)\(next)</p>"
        }
        let body: String
        if rows.isEmpty && page.total == 0 {
            body =
                "<h1>Apps</h1><div class=\"empty\">No data yet: run <code>apm run-program -- ./YourApp</code> with a config from <code>apm generate-config</code>.</div>"
        } else {
            body = """
                <h1>Apps</h1>\(rangePicker(shown, path: "/apps"))\(warnings)
                <table><thead><tr><th>App</th><th class="n">Apdex</th><th class="n">S/T/F</th><th class="n">rpm</th><th class="n">avg</th>\
                <th class="n">p95</th><th class="n">errors</th><th>throughput</th></tr></thead><tbody>\(rows)</tbody></table>\(pager)
                """
        }
        return Self.html(HTML.page(title: "Apps", user: session.userName, csrf: session.csrf, body: body))
    }

    func overviewPage(request: Request, session: DashboardSessions.Session, app: StoredApp) async throws -> Response {
        let (range, shown) = try pageRange(request)
        let sortKey = request.queryFields["sort"] ?? "time"
        let sortKeys = ["time", "p95", "throughput", "errors", "apdex"]
        guard sortKeys.contains(sortKey) else {
            throw APIError.badRequest(
                "sort",
                "must be one of \(sortKeys.joined(separator: ", ")), got \(String(sortKey.prefix(40)))"
            )
        }
        let overview = try await queries.overview(app: app, range: range)
        let s = overview.app.summary
        let markers = overview.series.deployments.map { (at: $0.at, label: $0.revision) }
        let charts =
            SVGChart.figureCharts(overview.series, t: s.apdex.t, now: queries.now())
            + SVGChart.processCharts(
                try await queries.process(app: app, range: range).samples,
                range: range,
                markers: markers,
                now: queries.now()
            )
        // Ties are broken by name, so that a refresh does not reorder equal rows.
        let rows = overview.transactions.sorted { a, b in
            switch sortKey {
            case "p95": return (a.figures.p95 ?? 0, b.name) > (b.figures.p95 ?? 0, a.name)
            case "throughput": return (a.figures.count, b.name) > (b.figures.count, a.name)
            case "errors": return (a.figures.errorRate ?? 0, b.name) > (b.figures.errorRate ?? 0, a.name)
            case "apdex": return (a.figures.apdex.score ?? 1, a.name) < (b.figures.apdex.score ?? 1, b.name)
            default: return (a.timeConsumed, b.name) > (b.timeConsumed, a.name)
            }
        }.map { row in
            """
            <tr data-transaction="\(HTML.escape(row.name))"><td><a href="/apps/\(app.id)/transaction?name=\(HTML.query(row.name))&amp;\(shown.query)#breakdown">\(HTML.escape(row.name))</a></td>\
            <td class="n" data-figure="share">\(Self.percent(row.share))</td><td class="n" data-figure="average">\(Self.ms(row.figures.average))</td>\
            <td class="n" data-figure="p95">\(Self.ms(row.figures.p95))</td><td class="n" data-figure="rpm">\(String(format: "%.1f", row.figures.rpm))</td>\
            <td class="n" data-figure="error-rate">\(Self.percent(row.figures.errorRate))</td>\
            <td class="n \(Self.apdexClass(row.figures.apdex.score))" data-figure="apdex">\(Self.score(row.figures.apdex.score))</td></tr>
            """
        }.joined()
        func header(_ key: String, _ title: String) -> String {
            "<th class=\"n\"><a href=\"/apps/\(app.id)?\(shown.query)&amp;sort=\(key)\">\(title)</a></th>"
        }
        let warnings = overview.app.warnings.map { "<div class=\"warn\">\(HTML.escape($0))</div>" }.joined()
        let body = """
            <h1>\(HTML.escape(app.name))</h1>\(appNavigation(app, shown))\(rangePicker(shown, path: "/apps/\(app.id)"))\(warnings)
            \(Self.cards(s))
            \(s.count == 0 ? "<div class=\"empty\">No data in this range yet: run <code>apm run-program -- ./YourApp</code>.</div>" : "")
            <div class="charts">\(charts.map { $0.render() }.joined())</div>
            <h2>Transactions</h2>
            <table><thead><tr><th><a href="/apps/\(app.id)?\(shown.query)&amp;sort=time">Transaction</a></th>\(header("time", "time %"))\
            <th class="n">avg</th>\(header("p95", "p95"))\(header("throughput", "rpm"))\(header("errors", "errors"))\(header("apdex", "Apdex"))</tr></thead>\
            <tbody>\(rows)</tbody></table>
            """
        return Self.html(HTML.page(title: app.name, user: session.userName, csrf: session.csrf, body: body))
    }
}
