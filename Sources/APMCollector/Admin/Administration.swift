import APMCore
import APMStorage
import Foundation
import HTTPTypes

/// License keys, API tokens, passwords and Apdex T, administered in one place with one set of rules: the API,
/// the dashboard and the CLI all come here.
struct Administration: Sendable {
    let store: any CredentialStore & UserStore & AppStore & FigureStore & ErrorGroupStore
    let authenticator: CredentialAuthenticator
    let passwordHashCost: Int
    /// The collector's clock (Unix seconds): the store records what it is given.
    let now: @Sendable () -> Double

    /// A label for a key or token: 1 to 100 characters, no control characters; `fallback` when absent.
    static func label(_ text: String?, fallback: String) throws -> String {
        let name = (text ?? fallback).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw APIError.badRequest("name", "must be 1 to 100 characters without control characters")
        }
        return name
    }

    /// The account's license keys or API tokens, revoked ones included.
    func credentials(_ kind: CredentialKind, accountID: Int64) async throws -> [CredentialRecord] {
        try await store.credentials(kind, accountID: accountID)
    }

    /// The account's dashboard users.
    func users(accountID: Int64) async throws -> [StoredUser] {
        try await store.users(accountID: accountID)
    }

    /// Creates a license key or an API token (`scope` `read`, the default, or `admin`; a license key has none).
    ///
    /// - Returns: The secret (shown once) and its record.
    func createCredential(
        _ kind: CredentialKind,
        accountID: Int64,
        name: String?,
        scope: String? = nil
    ) async throws -> (secret: String, record: CredentialRecord) {
        let label = try Self.label(name, fallback: kind == .licenseKey ? "key" : "token")
        var tokenScope: APITokenScope?
        if kind == .apiToken {
            guard let scope = APITokenScope(rawValue: scope ?? "read") else {
                throw APIError.badRequest("scope", "must be read (the default) or admin")
            }
            tokenScope = scope
        }
        let secret = CredentialGenerator.make(kind)
        let record = try await store.createCredential(
            kind,
            scope: tokenScope,
            accountID: accountID,
            name: label,
            hash: CredentialGenerator.hash(secret),
            prefix: CredentialGenerator.displayPrefix(of: secret),
            now: now()
        )
        return (secret, record)
    }

    /// Revokes a license key or an API token; the authenticator forgets what it knew of it at once.
    func revokeCredential(_ kind: CredentialKind, accountID: Int64, id: Int64) async throws {
        guard try await store.revokeCredential(kind, accountID: accountID, id: id, now: now()) else {
            let noun = kind == .licenseKey ? "key" : "API token"
            throw APIError(.notFound, code: "not_found", message: "no active \(noun) \(id) in this account")
        }
        authenticator.invalidate()
    }

    /// Gives a user a new random password, which ends all of the user's sessions.
    ///
    /// - Returns: The new password (shown once), `nil` when the account has no such user.
    func resetPassword(user name: String, accountID: Int64) async throws -> String? {
        guard let user = try await store.user(named: name), user.accountID == accountID else { return nil }
        let password = PasswordHasher.makePassword()
        try await store.setPassword(
            userID: user.id,
            passwordHash: try await PasswordHasher.hashInBackground(password, cost: passwordHashCost),
            now: now()
        )
        return password
    }

    /// Users an account may have.
    static let maxUsers = 100

    /// A login name: 1 to 64 letters, digits and `.-_@`, so that it reads the same in a URL, a shell and a log.
    static func userName(_ text: String?) throws -> String {
        let name = (text ?? "").trimmingCharacters(in: .whitespaces)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@")
        guard (1...64).contains(name.count), name.allSatisfy({ allowed.contains($0) }) else {
            throw APIError.badRequest(
                "name",
                "must be 1 to 64 letters, digits, '.', '-', '_' or '@', got \"\(String(name.prefix(70)))\""
            )
        }
        return name
    }

    /// A role by name.
    static func role(_ text: String?) throws -> UserRole {
        guard let role = UserRole(rawValue: (text ?? "").lowercased()) else {
            throw APIError.badRequest(
                "role",
                "must be viewer (reads everything, changes nothing) or admin, got \"\(String((text ?? "").prefix(40)))\""
            )
        }
        return role
    }

    /// Adds a dashboard user with a random password.
    ///
    /// - Returns: The user and the password (shown once).
    func addUser(name: String?, role: String?, accountID: Int64) async throws -> (user: StoredUser, password: String) {
        let name = try Self.userName(name)
        let role = try Self.role(role)
        guard try await store.user(named: name) == nil else {
            throw APIError(.conflict, code: "exists", message: "a user named \(name) exists; choose another name")
        }
        guard try await store.users(accountID: accountID).count < Self.maxUsers else {
            throw APIError(
                .unprocessableContent,
                code: "limit_reached",
                message: "this account has \(Self.maxUsers) users, the most it may have; remove one first"
            )
        }
        let password = PasswordHasher.makePassword()
        let user = try await store.createUser(
            accountID: accountID,
            name: name,
            passwordHash: try await PasswordHasher.hashInBackground(password, cost: passwordHashCost),
            role: role,
            now: now()
        )
        return (user, password)
    }

    /// Removes a user, whose sessions end at once; never the account's last admin.
    func removeUser(name: String, accountID: Int64) async throws {
        let user = try await accountUser(name, accountID: accountID)
        try await keepAnAdmin(accountID: accountID, without: user)
        try await store.deleteUser(userID: user.id)
    }

    /// Changes a user's role, at once for the user's sessions; never the account's last admin to viewer.
    func setRole(name: String, role: String?, accountID: Int64) async throws -> StoredUser {
        var user = try await accountUser(name, accountID: accountID)
        let role = try Self.role(role)
        if role != .admin { try await keepAnAdmin(accountID: accountID, without: user) }
        try await store.setRole(userID: user.id, role: role)
        user.role = role
        return user
    }

    private func accountUser(_ name: String, accountID: Int64) async throws -> StoredUser {
        guard let user = try await store.user(named: name), user.accountID == accountID else {
            throw APIError(.notFound, code: "not_found", message: "no user \(name) in this account")
        }
        return user
    }

    /// Refuses a change that would leave the account without an admin: nobody could then manage it.
    private func keepAnAdmin(accountID: Int64, without user: StoredUser) async throws {
        guard user.role == .admin else { return }
        let admins = try await store.users(accountID: accountID).filter { $0.role == .admin && $0.id != user.id }
        guard !admins.isEmpty else {
            throw APIError(
                .conflict,
                code: "last_admin",
                message: "\(user.name) is the account's only admin; make another user admin first"
            )
        }
    }

    /// Per-transaction T overrides an app may have: every ingest reply carries them all, so they are bounded.
    static let maxTransactionApdexOverrides = 500

    /// Sets the app's T or a transaction's (`nil` seconds removes a transaction's override): T within
    /// ``ApdexThreshold/allowedSeconds``, a transaction name of 1 to 1,024 bytes, at most
    /// ``maxTransactionApdexOverrides`` overrides per app.
    func setApdex(app: StoredApp, transaction: String?, seconds: Double?) async throws {
        if let seconds {
            guard ApdexThreshold(seconds: seconds) != nil else {
                throw APIError.badRequest("apdex_t", "must be \(ApdexThreshold.allowedDescription)")
            }
        } else if transaction == nil {
            throw APIError.badRequest("apdex_t", "is required for the app's T (null removes a transaction's override)")
        }
        if let transaction {
            guard !transaction.isEmpty, transaction.utf8.count <= 1024 else {
                throw APIError.badRequest("transaction", "must be a transaction name of 1 to 1024 bytes")
            }
            if seconds != nil, app.transactionApdexT[transaction] == nil,
                app.transactionApdexT.count >= Self.maxTransactionApdexOverrides
            {
                throw APIError.badRequest(
                    "transaction",
                    "the app has \(Self.maxTransactionApdexOverrides) per-transaction T overrides, the limit; remove one first (apdex_t null)"
                )
            }
        }
        try await store.setApdex(appID: app.id, transaction: transaction, seconds: seconds)
    }

    /// Records a deployment marker after checking its fields (the API and the ingest endpoint by app name).
    func recordDeployment(_ body: DeploymentRequest, app: StoredApp, now: Double) async throws -> Deployment {
        guard !body.revision.isEmpty, body.revision.count <= 200 else {
            throw APIError.badRequest("revision", "must be 1 to 200 characters")
        }
        guard (body.description ?? "").count <= 2000, (body.user ?? "").count <= 200 else {
            throw APIError.badRequest("description", "description must be at most 2000 characters and user at most 200")
        }
        let at = body.at ?? now
        guard at.isFinite, abs(at - now) < 366 * 86_400 else {
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
