import APMCore
import APMStorage
import Foundation
import Hummingbird

/// The handlers of the figures, issues, traces and logs routes (the route table is ``APIController/endpoints``).
extension APIController {
    /// `GET /api/v1/apps`: The account's apps with their figures over the range, a page at a time.
    @Sendable func appList(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `GET /api/v1/apps/:app`: One app's figures over the range.
    @Sendable func app(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json(try await self.queries.appSummary(app: app, range: range))
    }

    /// `GET /api/v1/apps/:app/overview`: The overview page's figures: throughput, response time, Apdex, errors and the
    /// breakdown.
    @Sendable func overview(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json(try await self.queries.overview(app: app, range: range))
    }

    /// `GET /api/v1/apps/:app/summary`: Totals of the app or of one transaction.
    @Sendable func summary(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json(
            try await self.queries.summary(
                app: app,
                transaction: try await self.transaction(request, app: app),
                range: range
            )
        )
    }

    /// `GET /api/v1/apps/:app/series`: Per-bucket figures of the app or of one transaction.
    @Sendable func series(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json(
            try await self.queries.series(
                app: app,
                transaction: try await self.transaction(request, app: app),
                range: range
            )
        )
    }

    /// `GET /api/v1/apps/:app/transactions`: The transactions, in the requested order.
    @Sendable func transactions(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `GET /api/v1/apps/:app/transactions/breakdown`: Where one transaction's time goes: database, external and its
    /// own code, per segment.
    @Sendable func breakdown(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        guard let transaction = try await self.transaction(request, app: app) else {
            throw APIError.badRequest(
                "transaction",
                "is required: the transaction to break down, e.g. transaction=GET%20%2Forders"
            )
        }
        return try Self.json(try await self.queries.breakdown(app: app, transaction: transaction, range: range))
    }

    /// `GET /api/v1/apps/:app/databases/callers`: The transactions that call each database operation.
    @Sendable func databaseCallers(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json([
            "callers": try await self.queries.callers(app: app, category: .datastore, range: range)
        ])
    }

    /// `GET /api/v1/apps/:app/externals/callers`: The transactions that call each external host.
    @Sendable func externalCallers(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json([
            "callers": try await self.queries.callers(app: app, category: .external, range: range)
        ])
    }

    /// `GET /api/v1/apps/:app/apdex`: The Apdex the range would have had at another T (`t=`).
    @Sendable func whatIfApdex(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `GET /api/v1/apps/:app/databases`: Database operations of the app or of one transaction.
    @Sendable func databases(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json([
            "databases": try await self.queries.databases(
                app: app,
                transaction: try await self.transaction(request, app: app),
                range: range
            )
        ])
    }

    /// `GET /api/v1/apps/:app/databases/series`: Database time per bucket for the top operations.
    @Sendable func databaseSeries(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        let top = try Self.integer(request, "top", default: 5, range: 1...20)
        return try Self.json(try await self.queries.databaseTimeSeries(app: app, range: range, top: top))
    }

    /// `GET /api/v1/apps/:app/externals/series`: External time per bucket for the top hosts.
    @Sendable func externalSeries(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        let top = try Self.integer(request, "top", default: 5, range: 1...20)
        return try Self.json(try await self.queries.externalTimeSeries(app: app, range: range, top: top))
    }

    /// `GET /api/v1/apps/:app/histogram`: The response-time histogram of the app or of one transaction.
    @Sendable func latencyHistogram(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json(
            try await self.queries.latencyHistogram(
                app: app,
                transaction: try await self.transaction(request, app: app),
                range: range
            )
        )
    }

    /// `GET /api/v1/apps/:app/externals`: External hosts of the app or of one transaction.
    @Sendable func externals(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json([
            "externals": try await self.queries.externals(
                app: app,
                transaction: try await self.transaction(request, app: app),
                range: range
            )
        ])
    }

    /// `GET /api/v1/apps/:app/errors`: The error groups (the older name of issues).
    @Sendable func errors(_ request: Request, _ context: Context) async throws -> Response {
        try await self.issues(request, context, key: "errors")
    }

    /// `GET /api/v1/apps/:app/issues`: The issues (error groups).
    @Sendable func issueList(_ request: Request, _ context: Context) async throws -> Response {
        try await self.issues(request, context, key: "issues")
    }

    /// `PATCH /api/v1/apps/:app/issues/:issue`: Resolves, ignores or reopens an issue (admin).
    @Sendable func changeIssueState(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `GET /api/v1/apps/:app/issues/:issue`: One issue with its samples, facets and series.
    @Sendable func issue(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        let issue = try Self.issueID(context)
        guard let detail = try await self.queries.issue(app: app, id: issue, range: range) else {
            throw APIError(.notFound, code: "not_found", message: "no issue \(issue) in app \(app.id)")
        }
        return try Self.json(detail)
    }

    /// `POST /api/v1/apps/:app/issues/:issue/merge`: Merges issues into this one (admin).
    @Sendable func mergeIssues(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `GET /api/v1/apps/:app/traces`: The slowest traces of the app or of one transaction.
    @Sendable func traces(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `GET /api/v1/apps/:app/traces/:id`: One trace with its segments and log lines.
    @Sendable func trace(_ request: Request, _ context: Context) async throws -> Response {
        let (app, _) = try await self.appAndRange(request, context)
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.badRequest("id", "must be a trace id (an integer)")
        }
        guard let trace = try await self.queries.trace(app: app, id: id) else {
            throw APIError(.notFound, code: "not_found", message: "no trace \(id) in this app")
        }
        return try Self.json(trace)
    }

    /// `GET /api/v1/apps/:app/logs`: Log lines, newest first, a page at a time.
    @Sendable func logs(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `GET /api/v1/apps/:app/logs/histogram`: Log lines per level per bucket.
    @Sendable func logHistogram(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json(
            try await self.queries.logHistogram(
                app: app,
                filter: try Self.logFilter(request, range: range),
                range: range
            )
        )
    }

    /// `GET /api/v1/apps/:app/deployments`: Deployments in the range.
    @Sendable func deployments(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json(["deployments": try await self.queries.deployments(app: app, range: range)])
    }

    /// `GET /api/v1/apps/:app/process`: Process samples and events from `apm run-program`.
    @Sendable func process(_ request: Request, _ context: Context) async throws -> Response {
        let (app, range) = try await self.appAndRange(request, context)
        return try Self.json(try await self.queries.process(app: app, range: range))
    }
}
