import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// The JSON API under `/api/v1` (docs/api.md): what the dashboard shows, read through ``CollectorQueries`` with
/// an API token; and the account's administration (Apdex T, deployments, users, keys, tokens) with an admin token.
struct APIController: CollectorController {
    let store: any AppStore & FigureStore & AlertStore
    let queries: CollectorQueries
    let administration: Administration
    let alerts: AlertAdministration
    let now: @Sendable () -> Double

    var endpoints: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.get("/apps") { request, context in
            let key = try context.require(.read)
            let range = try self.range(request)
            let limit = try Self.integer(request, "limit", default: 100, range: 1...500)
            let offset = try Self.integer(request, "offset", default: 0, range: 0...1_000_000)
            let page = try await self.queries.appSummaries(
                accountID: key.accountID,
                range: range,
                offset: offset,
                limit: limit
            )
            return try Self.json(APIAppList(apps: page.apps, total: page.total, offset: offset, limit: limit))
        }
        routes.get("/apps/:app") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(try await self.queries.appSummary(app: app, range: range))
        }
        routes.get("/apps/:app/overview") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(try await self.queries.overview(app: app, range: range))
        }
        routes.get("/apps/:app/summary") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(
                try await self.queries.summary(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            )
        }
        routes.get("/apps/:app/series") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(
                try await self.queries.series(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            )
        }
        routes.get("/apps/:app/transactions") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            let orderText = request.queryFields["order"] ?? "time"
            guard let order = CollectorQueries.TransactionOrder(rawValue: orderText) else {
                throw APIError.badRequest(
                    "order",
                    "unknown order \(orderText); use one of \(CollectorQueries.TransactionOrder.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            let limit = try Self.integer(request, "limit", default: 50, range: 1...1000)
            return try Self.json([
                "transactions": try await self.queries.transactions(app: app, range: range, order: order, limit: limit)
            ])
        }
        routes.get("/apps/:app/transactions/breakdown") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            guard let transaction = try await self.transaction(request, app: app) else {
                throw APIError.badRequest(
                    "transaction",
                    "is required: the transaction to break down, e.g. transaction=GET%20%2Forders"
                )
            }
            return try Self.json(try await self.queries.breakdown(app: app, transaction: transaction, range: range))
        }
        routes.get("/apps/:app/databases/callers") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json([
                "callers": try await self.queries.callers(app: app, category: .datastore, range: range)
            ])
        }
        routes.get("/apps/:app/externals/callers") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json([
                "callers": try await self.queries.callers(app: app, category: .external, range: range)
            ])
        }
        routes.get("/apps/:app/apdex") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            let transaction = try await self.transaction(request, app: app)
            let t: Double
            if let text = request.queryFields["t"] {
                guard let value = Double(text), ApdexThreshold(seconds: value) != nil else {
                    throw APIError.badRequest("t", "must be a number of seconds from 0.001 to 3600, e.g. t=0.3")
                }
                t = value
            } else {
                t = transaction.flatMap { app.transactionApdexT[$0] } ?? app.apdexT
            }
            return try Self.json(
                try await self.queries.whatIfApdex(app: app, transaction: transaction, t: t, range: range)
            )
        }
        routes.get("/apps/:app/databases") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json([
                "databases": try await self.queries.databases(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            ])
        }
        routes.get("/apps/:app/databases/series") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            let top = try Self.integer(request, "top", default: 5, range: 1...20)
            return try Self.json(try await self.queries.databaseTimeSeries(app: app, range: range, top: top))
        }
        routes.get("/apps/:app/externals/series") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            let top = try Self.integer(request, "top", default: 5, range: 1...20)
            return try Self.json(try await self.queries.externalTimeSeries(app: app, range: range, top: top))
        }
        routes.get("/apps/:app/histogram") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(
                try await self.queries.latencyHistogram(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            )
        }
        routes.get("/apps/:app/externals") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json([
                "externals": try await self.queries.externals(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            ])
        }
        routes.get("/apps/:app/errors") { request, context in
            try await self.issues(request, context, key: "errors")
        }
        routes.get("/apps/:app/issues") { request, context in
            try await self.issues(request, context, key: "issues")
        }
        routes.patch("/apps/:app/issues/:issue") { request, context in
            let (app, _) = try await self.appAndRange(request, context, permission: .admin)
            let identity = try context.require(.admin)
            let issue = try Self.issueID(context)
            let body = try await Self.decodeBody(IssueStateRequest.self, request)
            let status = try await self.administration.changeIssueState(
                body,
                groupID: issue,
                app: app,
                by: identity.actor,
                now: self.now()
            )
            return try Self.json(APIIssueStatus(status))
        }
        routes.get("/apps/:app/issues/:issue") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            let issue = try Self.issueID(context)
            guard let detail = try await self.queries.issue(app: app, id: issue, range: range) else {
                throw APIError(.notFound, code: "not_found", message: "no issue \(issue) in app \(app.id)")
            }
            return try Self.json(detail)
        }
        routes.post("/apps/:app/issues/:issue/merge") { request, context in
            let (app, _) = try await self.appAndRange(request, context, permission: .admin)
            let identity = try context.require(.admin)
            let issue = try Self.issueID(context)
            let body = try await Self.decodeBody(IssueMergeRequest.self, request)
            let merged = try await self.administration.mergeIssues(
                body,
                into: issue,
                app: app,
                by: identity.actor,
                now: self.now()
            )
            return try Self.json(["merged": merged])
        }
        routes.get("/apps/:app/traces") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            let limit = try Self.integer(request, "limit", default: 20, range: 1...500)
            return try Self.json(
                [
                    "traces": try await self.queries.traces(
                        app: app,
                        transaction: try await self.transaction(request, app: app),
                        range: range,
                        limit: limit
                    )
                ])
        }
        routes.get("/apps/:app/traces/:id") { request, context in
            let (app, _) = try await self.appAndRange(request, context)
            guard let id = context.parameters.get("id", as: Int64.self) else {
                throw APIError.badRequest("id", "must be a trace id (an integer)")
            }
            guard let trace = try await self.queries.trace(app: app, id: id) else {
                throw APIError(.notFound, code: "not_found", message: "no trace \(id) in this app")
            }
            return try Self.json(trace)
        }
        routes.get("/apps/:app/logs") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(
                try await self.queries.logs(
                    app: app,
                    filter: try Self.logFilter(request, range: range),
                    after: try Self.logCursor(request),
                    limit: try Self.integer(request, "limit", default: 100, range: 1...1000)
                )
            )
        }
        routes.get("/apps/:app/logs/histogram") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(
                try await self.queries.logHistogram(
                    app: app,
                    filter: try Self.logFilter(request, range: range),
                    range: range
                )
            )
        }
        routes.get("/apps/:app/deployments") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(["deployments": try await self.queries.deployments(app: app, range: range)])
        }
        routes.get("/apps/:app/process") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(try await self.queries.process(app: app, range: range))
        }
        addAdministrationRoutes(to: routes)
        addAlertRoutes(to: routes)
        return routes
    }

    /// The app named in the path (its id), only within the caller's account: another account's app is a 404.
    /// The error groups (issues) of an app over a range, optionally in some states (`state=resolved,ignored`).
    func issues(_ request: Request, _ context: Context, key: String) async throws -> Response {
        let (app, range) = try await appAndRange(request, context)
        let limit = try Self.integer(request, "limit", default: 50, range: 1...1000)
        var states: Set<ErrorGroupState>?
        if let text = request.uri.queryParameters.get("state"), !text.isEmpty {
            states = []
            for name in text.split(separator: ",") {
                guard let state = ErrorGroupState(rawValue: String(name)) else {
                    let allowed = ErrorGroupState.allCases.map(\.rawValue).joined(separator: ", ")
                    throw APIError.badRequest("state", "must be a comma-separated list of \(allowed)")
                }
                states?.insert(state)
            }
        }
        var filter = ErrorGroupFilter(states: states)
        if let transaction = request.uri.queryParameters.get("transaction"), !transaction.isEmpty {
            filter.transaction = String(transaction)
        }
        if let revision = request.uri.queryParameters.get("deployment"), !revision.isEmpty {
            filter.firstSeen = try await firstSeenRange(ofDeployment: String(revision), app: app)
        }
        switch request.uri.queryParameters.get("new") {
        case nil, "false": break
        case "true":
            let within = Double(range.from)..<Double(range.to)
            filter.firstSeen = filter.firstSeen?.clamped(to: within) ?? within
        default:
            throw APIError.badRequest("new", "must be true (only issues first seen in the range) or false")
        }
        let orderName = request.uri.queryParameters.get("order") ?? ErrorGroupOrder.count.rawValue
        guard let order = ErrorGroupOrder(rawValue: orderName) else {
            throw APIError.badRequest(
                "order",
                "must be one of \(ErrorGroupOrder.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return try Self.json([
            key: try await queries.errors(app: app, range: range, limit: limit, filter: filter, order: order)
        ])
    }

    /// The `{issue}` of the path.
    static func issueID(_ context: Context) throws -> Int64 {
        guard let issue = context.parameters.get("issue", as: Int64.self) else {
            throw APIError.badRequest("issue", "must be an issue id (an integer)")
        }
        return issue
    }

    /// The times a deployment was in effect: from it to the next one (or forever), for `deployment=`.
    func firstSeenRange(ofDeployment revision: String, app: StoredApp) async throws -> Range<Double> {
        let deployments = try await store.deployments(appID: app.id, range: 0..<Int64.max).sorted { $0.at < $1.at }
        guard let index = deployments.lastIndex(where: { $0.revision == revision }) else {
            throw APIError.badRequest(
                "deployment",
                "no deployment with revision \"\(revision.prefix(100))\" in app \(app.id) (GET …/deployments lists them)"
            )
        }
        let end = index + 1 < deployments.count ? deployments[index + 1].at : Double.greatestFiniteMagnitude
        return deployments[index].at..<end
    }

    func appAndRange(
        _ request: Request,
        _ context: Context,
        permission: Identity.Permission = .read
    ) async throws -> (StoredApp, TimeRange) {
        let key = try context.require(permission)
        guard let id = context.parameters.get("app", as: Int64.self) else {
            throw APIError.badRequest("app", "must be an app id (an integer)")
        }
        guard let app = try await store.app(accountID: key.accountID, id: id) else {
            throw APIError(.notFound, code: "not_found", message: "no app \(id) in this account")
        }
        return (app, try range(request))
    }

    /// The range of the request's `since`, `from` and `to`.
    func range(_ request: Request) throws -> TimeRange {
        try Self.range(request, queries: queries, now: now())
    }

    /// The `transaction` parameter: a name the app recorded, or a 404 naming the nearest known names (an
    /// unknown name answered 200 with zeros, which looks like a transaction nobody called).
    func transaction(_ request: Request, app: StoredApp) async throws -> String? {
        guard let name = request.queryFields["transaction"] else { return nil }
        guard !name.isEmpty, name.utf8.count <= 1024 else {
            throw APIError.badRequest("transaction", "must be a transaction name of 1 to 1024 bytes")
        }
        if let nearest = try await queries.unknownTransaction(app: app, name: name) {
            throw APIError(
                .notFound,
                code: "unknown_transaction",
                field: "transaction",
                // Read after its field: `transaction "GET /x" not found in app shop; …`.
                message: "\"\(name.prefix(200))\" not found in app \(app.name)"
                    + (nearest.isEmpty
                        ? " (it has recorded none yet)"
                        : "; the nearest names: " + nearest.map { "\"\($0)\"" }.joined(separator: ", "))
            )
        }
        return name
    }
}
