import APMStorage
import Foundation
import HTTPTypes
import Hummingbird

extension APIController {
    /// `/api/v1/alerts/...`: conditions, channels, incidents and notifications (docs/alerts.md). Reading takes a
    /// read token; changing takes an admin token or a dashboard session.
    func addAlertRoutes(to routes: RouteCollection<Context>) {
        routes.get("/alerts/conditions", use: alertConditions)
        routes.post("/alerts/conditions", use: createAlertCondition)
        routes.delete("/alerts/conditions/:id", use: deleteAlertCondition)
        routes.get("/alerts/channels", use: alertChannels)
        routes.post("/alerts/channels", use: createAlertChannel)
        routes.delete("/alerts/channels/:id", use: deleteAlertChannel)
        routes.post("/alerts/channels/:id/test", use: testAlertChannel)
        routes.get("/alerts/incidents", use: alertIncidents)
        routes.post("/alerts/incidents/:id/acknowledge", use: acknowledgeAlertIncident)
        routes.get("/alerts/deliveries", use: alertDeliveries)
    }

    /// `GET /api/v1/alerts/conditions`.
    @Sendable func alertConditions(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.read)
        let conditions = try await self.store.alertConditions(accountID: key.accountID)
        return try Self.json(["conditions": conditions.map(APIAlertCondition.init)])
    }

    /// `POST /api/v1/alerts/conditions`.
    @Sendable func createAlertCondition(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let body = try await Self.decodeBody(AlertConditionRequest.self, request)
        let created = try await self.alerts.createCondition(body, accountID: key.accountID, now: self.now())
        return try Self.json(APIAlertCondition(created), status: .created)
    }

    /// `DELETE /api/v1/alerts/conditions/:id`.
    @Sendable func deleteAlertCondition(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let id = try Self.pathID(context)
        guard try await self.store.deleteAlertCondition(accountID: key.accountID, id: id, now: Int64(self.now()))
        else { throw APIError(.notFound, code: "not_found", message: "no alert condition \(id) in this account") }
        return Response(status: .noContent)
    }

    /// `GET /api/v1/alerts/channels`.
    @Sendable func alertChannels(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.read)
        let channels = try await self.store.alertChannels(accountID: key.accountID)
        // A channel's URL is a credential (a Slack webhook is one, a webhook may carry user:password@):
        // whole for admins, scheme and host only for read tokens.
        let whole = key.allows(.admin)
        return try Self.json(["channels": channels.map { APIAlertChannel($0, redacted: !whole) }])
    }

    /// `POST /api/v1/alerts/channels`.
    @Sendable func createAlertChannel(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let body = try await Self.decodeBody(AlertChannelRequest.self, request)
        let created = try await self.alerts.createChannel(body, accountID: key.accountID, now: self.now())
        return try Self.json(APIAlertChannel(created, showingSecret: true), status: .created)
    }

    /// `DELETE /api/v1/alerts/channels/:id`.
    @Sendable func deleteAlertChannel(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let id = try Self.pathID(context)
        guard try await self.store.deleteAlertChannel(accountID: key.accountID, id: id) else {
            throw APIError(.notFound, code: "not_found", message: "no alert channel \(id) in this account")
        }
        return Response(status: .noContent)
    }

    /// `POST /api/v1/alerts/channels/:id/test`.
    @Sendable func testAlertChannel(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let id = try Self.pathID(context)
        guard
            let delivery = try await self.alerts.sendTest(accountID: key.accountID, channelID: id, now: self.now())
        else { throw APIError(.notFound, code: "not_found", message: "no alert channel \(id) in this account") }
        return try Self.json(APIAlertDelivery(delivery))
    }

    /// `GET /api/v1/alerts/incidents`.
    @Sendable func alertIncidents(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.read)
        let state = request.uri.queryParameters.get("state") ?? "all"
        guard state == "all" || state == "open" else { throw APIError.badRequest("state", "must be open or all") }
        let limit = try Self.integer(request, "limit", default: 100, range: 1...1000)
        let incidents = try await self.store.alertIncidents(
            accountID: key.accountID,
            openOnly: state == "open",
            limit: limit
        )
        return try Self.json(["incidents": incidents.map(APIAlertIncident.init)])
    }

    /// `POST /api/v1/alerts/incidents/:id/acknowledge`.
    @Sendable func acknowledgeAlertIncident(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let id = try Self.pathID(context)
        guard
            try await self.store.acknowledgeAlertIncident(
                accountID: key.accountID,
                id: id,
                by: key.actor,
                at: self.now()
            ), let incident = try await self.store.alertIncident(id: id)
        else { throw APIError(.notFound, code: "not_found", message: "no incident \(id) in this account") }
        return try Self.json(APIAlertIncident(incident))
    }

    /// `GET /api/v1/alerts/deliveries`.
    @Sendable func alertDeliveries(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.read)
        let limit = try Self.integer(request, "limit", default: 50, range: 1...1000)
        let deliveries = try await self.store.alertDeliveries(accountID: key.accountID, limit: limit)
        return try Self.json(["deliveries": deliveries.map(APIAlertDelivery.init)])
    }

    private static func pathID(_ context: Context) throws -> Int64 {
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.badRequest("id", "must be an id (an integer)")
        }
        return id
    }
}
