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
        routes.get("/apps", use: appList)
        routes.get("/apps/:app", use: app)
        routes.get("/apps/:app/overview", use: overview)
        routes.get("/apps/:app/summary", use: summary)
        routes.get("/apps/:app/series", use: series)
        routes.get("/apps/:app/transactions", use: transactions)
        routes.get("/apps/:app/transactions/breakdown", use: breakdown)
        routes.get("/apps/:app/databases/callers", use: databaseCallers)
        routes.get("/apps/:app/externals/callers", use: externalCallers)
        routes.get("/apps/:app/apdex", use: whatIfApdex)
        routes.get("/apps/:app/databases", use: databases)
        routes.get("/apps/:app/databases/series", use: databaseSeries)
        routes.get("/apps/:app/externals/series", use: externalSeries)
        routes.get("/apps/:app/histogram", use: latencyHistogram)
        routes.get("/apps/:app/externals", use: externals)
        routes.get("/apps/:app/errors", use: errors)
        routes.get("/apps/:app/issues", use: issueList)
        routes.patch("/apps/:app/issues/:issue", use: changeIssueState)
        routes.get("/apps/:app/issues/:issue", use: issue)
        routes.post("/apps/:app/issues/:issue/merge", use: mergeIssues)
        routes.get("/apps/:app/traces", use: traces)
        routes.get("/apps/:app/traces/:id", use: trace)
        routes.get("/apps/:app/logs", use: logs)
        routes.get("/apps/:app/logs/histogram", use: logHistogram)
        routes.get("/apps/:app/deployments", use: deployments)
        routes.get("/apps/:app/process", use: process)
        routes.get("/apps/:app/metrics", use: metricList)
        routes.get("/apps/:app/metrics/:name", use: metric)
        routes.get("/hosts", use: hostList)
        routes.get("/hosts/:host", use: host)
        addAdministrationRoutes(to: routes)
        addAlertRoutes(to: routes)
        return routes
    }

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

    /// The app named in the path (its id), only within the caller's account: another account's app is a 404.
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
