import APMCore
import APMStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension APIController {
    /// The account's administration, with an admin token (a deployment marker also with a license key): Apdex T,
    /// deployments, users, license keys and API tokens, each through ``Administration`` as the dashboard and the
    /// CLI do.
    func addAdministrationRoutes(to routes: RouteCollection<Context>) {
        routes.post("/apps/:app/deployments", use: recordDeployment)
        routes.put("/apps/:app/apdex", use: setApdex)
        routes.get("/users", use: users)
        routes.post("/users", use: createUser)
        routes.delete("/users/:name", use: deleteUser)
        routes.put("/users/:name/role", use: setRole)
        routes.post("/users/:name/reset-password", use: resetPassword)
        routes.get("/keys", use: licenseKeys)
        routes.post("/keys", use: createLicenseKey)
        routes.delete("/keys/:id", use: revokeLicenseKey)
        routes.get("/tokens", use: apiTokens)
        routes.post("/tokens", use: createAPIToken)
        routes.delete("/tokens/:id", use: revokeAPIToken)
    }

    /// `POST /api/v1/apps/:app/deployments`.
    @Sendable func recordDeployment(_ request: Request, _ context: Context) async throws -> Response {
        let (app, _) = try await self.appAndRange(request, context, permission: .admin)
        let body = try await Self.decodeBody(DeploymentRequest.self, request)
        return try Self.json(
            APIDeployment(try await self.administration.recordDeployment(body, app: app, now: self.now())),
            status: .created
        )
    }

    /// `PUT /api/v1/apps/:app/apdex`.
    @Sendable func setApdex(_ request: Request, _ context: Context) async throws -> Response {
        let (app, _) = try await self.appAndRange(request, context, permission: .admin)
        let body = try await Self.decodeBody(ApdexRequest.self, request)
        try await self.administration.setApdex(app: app, transaction: body.transaction, seconds: body.apdexT)
        guard let updated = try await self.store.app(accountID: app.accountID, id: app.id) else {
            throw APIError(.notFound, code: "not_found", message: "no such app")
        }
        return try Self.json(APIApp(updated))
    }

    /// `GET /api/v1/users`.
    @Sendable func users(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let users = try await self.administration.users(accountID: key.accountID).map {
            [
                "name": $0.name, "role": $0.role.rawValue, "created_at": "\($0.createdAt)",
                "password_changed_at": "\($0.passwordChangedAt)",
            ]
        }
        return try Self.json(["users": users])
    }

    /// `POST /api/v1/users`.
    @Sendable func createUser(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let body = try await Self.decodeBody(UserRequest.self, request)
        let created = try await self.administration.addUser(
            name: body.name,
            role: body.role ?? UserRole.viewer.rawValue,
            accountID: key.accountID
        )
        return try Self.json(
            ["user": created.user.name, "role": created.user.role.rawValue, "password": created.password],
            status: .created
        )
    }

    /// `DELETE /api/v1/users/:name`.
    @Sendable func deleteUser(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        try await self.administration.removeUser(
            name: context.parameters.get("name") ?? "",
            accountID: key.accountID
        )
        return Response(status: .noContent)
    }

    /// `PUT /api/v1/users/:name/role`.
    @Sendable func setRole(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let body = try await Self.decodeBody(UserRequest.self, request)
        let user = try await self.administration.setRole(
            name: context.parameters.get("name") ?? "",
            role: body.role,
            accountID: key.accountID
        )
        return Self.json(["user": user.name, "role": user.role.rawValue])
    }

    /// `POST /api/v1/users/:name/reset-password`.
    @Sendable func resetPassword(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `GET /api/v1/keys`.
    @Sendable func licenseKeys(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        return try Self.json([
            "keys": try await self.administration.licenseKeys(accountID: key.accountID).map(APILicenseKey.init)
        ])
    }

    /// `POST /api/v1/keys`.
    @Sendable func createLicenseKey(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        let body = try await Self.decodeBody(KeyRequest.self, request)
        let created = try await self.administration.createLicenseKey(accountID: key.accountID, name: body.name)
        return try Self.json(CreatedKey(key: created.key, record: APILicenseKey(created.record)), status: .created)
    }

    /// `DELETE /api/v1/keys/:id`.
    @Sendable func revokeLicenseKey(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.badRequest("id", "must be a key id (an integer)")
        }
        try await self.administration.revokeLicenseKey(accountID: key.accountID, id: id)
        return Response(status: .noContent)
    }

    /// `GET /api/v1/tokens`.
    @Sendable func apiTokens(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        return try Self.json([
            "tokens": try await self.administration.apiTokens(accountID: key.accountID).map(APITokenInfo.init)
        ])
    }

    /// `POST /api/v1/tokens`.
    @Sendable func createAPIToken(_ request: Request, _ context: Context) async throws -> Response {
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

    /// `DELETE /api/v1/tokens/:id`.
    @Sendable func revokeAPIToken(_ request: Request, _ context: Context) async throws -> Response {
        let key = try context.require(.admin)
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.badRequest("id", "must be a token id (an integer)")
        }
        try await self.administration.revokeAPIToken(accountID: key.accountID, id: id)
        return Response(status: .noContent)
    }
}
