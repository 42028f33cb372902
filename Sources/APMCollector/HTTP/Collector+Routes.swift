import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

extension Collector {
    typealias Context = CollectorRequestContext

    func makeRouter() -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: SecurityMiddleware(allowedHosts: allowedHosts))
        router.add(middleware: StoreErrorMiddleware { [weak self] message in self?.recordStoreFailure(message) })
        router.add(middleware: AuthenticationMiddleware(authenticator: authenticator, sessions: sessions))
        router.post("/v1/agent/batches") { request, context in try await self.ingest(request, context: context) }
        router.post("/v1/agent/process") { request, context in try await self.ingestProcess(request, context: context) }
        router.post("/v1/traces") { request, context in try await self.ingestOTLPTraces(request, context: context) }
        for signal in ["metrics", "logs"] {
            router.post("/v1/\(signal)") { request, _ in Self.otlpSignalNotRead(signal, request) }
        }
        router.get("/v1/agent/settings") { request, context in try await self.agentSettings(request, context: context) }
        // A deployment marker by app name, with the license key a deploy step has at hand.
        router.post("/v1/agent/deployments") { request, context in
            let key = try context.require(.recordDeployment)
            let body = try await Self.decodeBody(DeploymentRequest.self, request)
            guard let name = body.app,
                let app = try await self.store.apps(accountID: key.accountID).first(where: { $0.name == name })
            else {
                throw APIError(
                    .notFound,
                    code: "not_found",
                    field: "app",
                    message:
                        "no app named \((body.app ?? "").prefix(255)) in this account; it appears on its first report"
                )
            }
            return try Self.json(APIDeployment(try await self.recordDeployment(body, app: app)), status: .created)
        }
        // Readiness: the store reads, its disk has room, and commits succeed. Liveness: the process answers.
        router.get("/healthz") { _, _ in
            let problems = await self.healthProblems()
            return try Self.json(
                HealthReply(status: problems.isEmpty ? "ok" : "unavailable", problems: problems),
                status: problems.isEmpty ? .ok : .serviceUnavailable
            )
        }
        router.get("/livez") { _, _ in
            Self.json(["status": "alive"])
        }
        router.get("/metrics") { _, _ in
            await self.refreshStoreGauges()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: self.metrics.render()))
            )
        }
        addDashboard(to: router)
        let api = router.group("/api/v1")
        api.get("/apps") { request, context in
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
        api.get("/apps/:app") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(try await self.queries.appSummary(app: app, range: range))
        }
        api.get("/apps/:app/overview") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(try await self.queries.overview(app: app, range: range))
        }
        api.get("/apps/:app/summary") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(
                try await self.queries.summary(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            )
        }
        api.get("/apps/:app/series") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(
                try await self.queries.series(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            )
        }
        api.get("/apps/:app/transactions") { request, context in
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
        api.get("/apps/:app/apdex") { request, context in
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
        api.get("/apps/:app/databases") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json([
                "databases": try await self.queries.databases(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            ])
        }
        api.get("/apps/:app/externals") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json([
                "externals": try await self.queries.externals(
                    app: app,
                    transaction: try await self.transaction(request, app: app),
                    range: range
                )
            ])
        }
        api.get("/apps/:app/errors") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            let limit = try Self.integer(request, "limit", default: 50, range: 1...1000)
            return try Self.json(["errors": try await self.queries.errors(app: app, range: range, limit: limit)])
        }
        api.get("/apps/:app/traces") { request, context in
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
        api.get("/apps/:app/traces/:id") { request, context in
            let (app, _) = try await self.appAndRange(request, context)
            guard let id = context.parameters.get("id", as: Int64.self) else {
                throw APIError.badRequest("id", "must be a trace id (an integer)")
            }
            guard let stored = try await self.store.trace(appID: app.id, id: id) else {
                throw APIError(.notFound, code: "not_found", message: "no trace \(id) in this app")
            }
            return try Self.json(stored.trace)
        }
        api.get("/apps/:app/deployments") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json([
                "deployments": try await self.store.deployments(appID: app.id, range: range.from..<range.to).map(
                    APIDeployment.init
                )
            ])
        }
        api.post("/apps/:app/deployments") { request, context in
            let (app, _) = try await self.appAndRange(request, context, permission: .recordDeployment)
            let body = try await Self.decodeBody(DeploymentRequest.self, request)
            return try Self.json(APIDeployment(try await self.recordDeployment(body, app: app)), status: .created)
        }
        api.put("/apps/:app/apdex") { request, context in
            let (app, _) = try await self.appAndRange(request, context, permission: .admin)
            let body = try await Self.decodeBody(ApdexRequest.self, request)
            try await self.administration.setApdex(app: app, transaction: body.transaction, seconds: body.apdexT)
            guard let updated = try await self.store.app(accountID: app.accountID, id: app.id) else {
                throw APIError(.notFound, code: "not_found", message: "no such app")
            }
            return try Self.json(updated)
        }
        api.get("/apps/:app/process") { request, context in
            let (app, range) = try await self.appAndRange(request, context)
            return try Self.json(
                ProcessMetricsResponse(
                    samples: try await self.store.processSlices(appID: app.id, range: range.from..<range.to),
                    events: try await self.store.processEvents(appID: app.id, range: range.from..<range.to)
                )
            )
        }
        api.get("/users") { _, context in
            let key = try context.require(.admin)
            let users = try await self.store.users(accountID: key.accountID).map {
                ["name": $0.name, "created_at": "\($0.createdAt)", "password_changed_at": "\($0.passwordChangedAt)"]
            }
            return try Self.json(["users": users])
        }
        api.post("/users/:name/reset-password") { _, context in
            let key = try context.require(.admin)
            guard let name = context.parameters.get("name"), !name.isEmpty, name.count <= 100 else {
                throw APIError.badRequest("name", "must be a user name")
            }
            guard let password = try await self.administration.resetPassword(user: name, accountID: key.accountID)
            else {
                throw APIError(.notFound, code: "not_found", message: "no user \(name) in this account")
            }
            return Self.json(["user": name, "password": password])
        }
        api.get("/keys") { _, context in
            let key = try context.require(.admin)
            return try Self.json(["keys": try await self.store.licenseKeys(accountID: key.accountID)])
        }
        api.post("/keys") { request, context in
            let key = try context.require(.admin)
            let body = try await Self.decodeBody(KeyRequest.self, request)
            let created = try await self.administration.createLicenseKey(accountID: key.accountID, name: body.name)
            return try Self.json(CreatedKey(key: created.key, record: created.record), status: .created)
        }
        api.delete("/keys/:id") { _, context in
            let key = try context.require(.admin)
            guard let id = context.parameters.get("id", as: Int64.self) else {
                throw APIError.badRequest("id", "must be a key id (an integer)")
            }
            try await self.administration.revokeLicenseKey(accountID: key.accountID, id: id)
            return Response(status: .noContent)
        }
        api.get("/tokens") { _, context in
            let key = try context.require(.admin)
            return try Self.json([
                "tokens": try await self.store.apiTokens(accountID: key.accountID).map(APITokenInfo.init)
            ])
        }
        api.post("/tokens") { request, context in
            let key = try context.require(.admin)
            let body = try await Self.decodeBody(TokenRequest.self, request)
            let created = try await self.administration.createAPIToken(
                accountID: key.accountID,
                name: body.name,
                scope: body.scope
            )
            return try Self.json(
                CreatedToken(token: created.token, record: APITokenInfo(created.record)),
                status: .created
            )
        }
        api.delete("/tokens/:id") { _, context in
            let key = try context.require(.admin)
            guard let id = context.parameters.get("id", as: Int64.self) else {
                throw APIError.badRequest("id", "must be a token id (an integer)")
            }
            try await self.administration.revokeAPIToken(accountID: key.accountID, id: id)
            return Response(status: .noContent)
        }
        return router
    }

    // MARK: Helpers

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

    func range(_ request: Request) throws -> TimeRange {
        let parameters = request.queryFields
        var since: Int64 = 1800
        if let text = parameters["since"] {
            guard let seconds = TimeRange.seconds(parsing: text) else {
                throw APIError.badRequest(
                    "since",
                    "must be a duration such as 30m, 1h, 24h or 7d (1 minute to 400 days), got \(text)"
                )
            }
            since = seconds
        }
        func time(_ name: String) throws -> Int64? {
            guard let text = parameters[name] else { return nil }
            guard let value = Int64(text), value > 946_684_800, value < 4_102_444_800 else {
                throw APIError.badRequest(name, "must be a Unix time in seconds, got \(text)")
            }
            return value
        }
        let from = try time("from")
        let to = try time("to")
        // Without `to` the range ends now: its span is capped all the same.
        let end = to ?? Int64(now())
        if let from, from >= end { throw APIError.badRequest("from", "must be before to (or now, without to)") }
        if let from, end - from > 400 * 86_400 {
            throw APIError.badRequest("from", "the range may span at most 400 days")
        }
        return queries.range(from: from, to: to, since: since)
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
                message: "app \(app.name) has no transaction named \"\(name.prefix(200))\""
                    + (nearest.isEmpty
                        ? " (it has recorded none yet)"
                        : "; the nearest names: " + nearest.map { "\"\($0)\"" }.joined(separator: ", "))
            )
        }
        return name
    }

    static func integer(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.queryFields[name] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    static func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        // Exactly JSON (a form or text/plain, which a page of another site can send without asking, is refused).
        _ = try mediaType(request, accepted: ["application/json"])
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 64 * 1024)
        } catch {
            throw APIError(.contentTooLarge, code: "too_large", message: "the body exceeds 64 KiB")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            let wire = WireFormatError(decodingError: error)
            throw APIError(.badRequest, code: "invalid_value", field: wire.field, message: wire.message)
        }
    }

    static func json(
        _ value: some Encodable,
        status: HTTPResponse.Status = .ok,
        encoder: JSONEncoder? = nil
    ) throws -> Response {
        let encoder =
            encoder
            ?? {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                return encoder
            }()
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
        )
    }

    static func json(_ value: [String: String]) -> Response {
        (try? json(value as [String: String], status: .ok, encoder: nil)) ?? Response(status: .ok)
    }
}

extension Collector {
    /// Records a deployment after checking its fields.
    func recordDeployment(_ body: DeploymentRequest, app: StoredApp) async throws -> Deployment {
        guard !body.revision.isEmpty, body.revision.count <= 200 else {
            throw APIError.badRequest("revision", "must be 1 to 200 characters")
        }
        guard (body.description ?? "").count <= 2000, (body.user ?? "").count <= 200 else {
            throw APIError.badRequest("description", "description must be at most 2000 characters and user at most 200")
        }
        let at = body.at ?? now()
        guard at.isFinite, abs(at - now()) < 366 * 86_400 else {
            throw APIError.badRequest("at", "must be a Unix time within a year of now")
        }
        return try await store.recordDeployment(
            appID: app.id,
            at: at,
            revision: body.revision,
            description: body.description ?? "",
            user: body.user ?? ""
        )
    }
}

struct DeploymentRequest: Decodable {
    /// The app's name (`POST /v1/agent/deployments` only).
    var app: String?
    var revision: String
    var description: String?
    var user: String?
    var at: Double?
}

struct ApdexRequest: Decodable {
    var apdexT: Double?
    var transaction: String?

    enum CodingKeys: String, CodingKey {
        case apdexT = "apdex_t"
        case transaction
    }
}

struct KeyRequest: Decodable {
    var name: String?
}

struct CreatedKey: Encodable {
    var key: String
    var record: LicenseKeyRecord
}

struct HealthReply: Encodable {
    var status: String
    var problems: [String]
}

struct TokenRequest: Decodable {
    var name: String?
    var scope: String?
}

/// An API token as the API shows it: never the token, only its prefix.
struct APITokenInfo: Encodable {
    var id: Int64
    var name: String
    var scope: String
    var prefix: String
    var createdAt: Double
    var revokedAt: Double?

    init(_ record: APITokenRecord) {
        id = record.id
        name = record.name
        scope = record.scope.rawValue
        prefix = record.prefix
        createdAt = record.createdAt
        revokedAt = record.revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, scope, prefix
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }
}

struct CreatedToken: Encodable {
    var token: String
    var record: APITokenInfo
}
