import APMStorage
import Foundation

/// An app and its Apdex settings (the answer of `PUT /api/v1/apps/{id}/apdex`).
public struct APIApp: Codable, Sendable, Hashable {
    /// The app's id.
    public var id: Int64
    /// Its account.
    public var accountID: Int64
    /// Its name, as agents report it.
    public var name: String
    /// Its Apdex T in seconds.
    public var apdexT: Double
    /// Transactions with a T of their own.
    public var transactionApdexT: [String: Double]
    /// When it first reported (Unix seconds).
    public var createdAt: Double
    /// When it last reported.
    public var lastSeenAt: Double
    /// The language its agent reported.
    public var language: String
    /// The version of its agent.
    public var agentVersion: String

    init(_ app: StoredApp) {
        id = app.id
        accountID = app.accountID
        name = app.name
        apdexT = app.apdexT
        transactionApdexT = app.transactionApdexT
        createdAt = app.createdAt
        lastSeenAt = app.lastSeenAt
        language = app.language
        agentVersion = app.agentVersion
    }

    enum CodingKeys: String, CodingKey {
        case id
        case accountID = "account_id"
        case name
        case apdexT = "apdex_t"
        case transactionApdexT = "transaction_apdex_t"
        case createdAt = "created_at"
        case lastSeenAt = "last_seen_at"
        case language
        case agentVersion = "agent_version"
    }
}

/// A license key or API token as the API shows it: never the secret, only its prefix (both are stored hashed). A
/// key carries its account; a token its scope.
public struct APICredential: Codable, Sendable, Hashable {
    /// The key's or token's id.
    public var id: Int64
    /// A license key's account (absent for tokens).
    public var accountID: Int64?
    /// Its label.
    public var name: String
    /// An API token's scope, `read` or `admin` (absent for keys).
    public var scope: String?
    /// The secret's first characters, to tell credentials apart.
    public var prefix: String
    /// When it was created (Unix seconds).
    public var createdAt: Double
    /// When it was revoked, if it was.
    public var revokedAt: Double?

    init(_ record: CredentialRecord) {
        id = record.id
        accountID = record.kind == .licenseKey ? record.accountID : nil
        name = record.name
        scope = record.scope?.rawValue
        prefix = record.prefix
        createdAt = record.createdAt
        revokedAt = record.revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case accountID = "account_id"
        case name, scope, prefix
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }
}
