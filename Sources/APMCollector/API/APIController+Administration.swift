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
        for kind in CredentialKind.allCases {
            routes.get("/\(kind.apiPath)", use: listCredentials(kind))
            routes.post("/\(kind.apiPath)", use: createCredential(kind))
            routes.delete("/\(kind.apiPath)/:id", use: revokeCredential(kind))
        }
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

    /// `GET /api/v1/keys` and `GET /api/v1/tokens`.
    func listCredentials(_ kind: CredentialKind) -> @Sendable (Request, Context) async throws -> Response {
        { _, context in
            let caller = try context.require(.admin)
            let records = try await self.administration.credentials(kind, accountID: caller.accountID)
            return try Self.json([kind.apiPath: records.map(APICredential.init)])
        }
    }

    /// `POST /api/v1/keys` (`name`) and `POST /api/v1/tokens` (`name`, `scope`).
    func createCredential(_ kind: CredentialKind) -> @Sendable (Request, Context) async throws -> Response {
        { request, context in
            let caller = try context.require(.admin)
            let body = try await Self.decodeBody(CredentialRequest.self, request)
            let created = try await self.administration.createCredential(
                kind,
                accountID: caller.accountID,
                name: body.name,
                scope: body.scope
            )
            return try Self.json(
                CreatedCredential(kind: kind, secret: created.secret, record: APICredential(created.record)),
                status: .created
            )
        }
    }

    /// `DELETE /api/v1/keys/:id` and `DELETE /api/v1/tokens/:id`.
    func revokeCredential(_ kind: CredentialKind) -> @Sendable (Request, Context) async throws -> Response {
        { _, context in
            let caller = try context.require(.admin)
            guard let id = context.parameters.get("id", as: Int64.self) else {
                throw APIError.badRequest("id", "must be a \(kind.secretField) id (an integer)")
            }
            try await self.administration.revokeCredential(kind, accountID: caller.accountID, id: id)
            return Response(status: .noContent)
        }
    }
}

extension CredentialKind {
    /// The API's collection: `/api/v1/keys`, `/api/v1/tokens` (also the list's field).
    var apiPath: String { self == .licenseKey ? "keys" : "tokens" }
    /// The field that carries a new secret in the API's answer, and the noun of its id.
    var secretField: String { self == .licenseKey ? "key" : "token" }
}
