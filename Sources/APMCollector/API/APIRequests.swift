import APMStorage
import Foundation

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

/// `POST /users` (name and role) and `PUT /users/{name}/role` (role).
struct UserRequest: Decodable {
    var name: String?
    var role: String?
}

struct CreatedKey: Encodable {
    var key: String
    var record: APILicenseKey
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

/// `PATCH /api/v1/apps/{id}/issues/{issue}` and the dashboard's issue buttons.
/// `POST /api/v1/apps/{id}/issues/{issue}/merge`: the issues merged into `{issue}`.
struct IssueMergeRequest: Decodable {
    /// Ids of other issues of the app.
    var issues: [Int64]
}

struct IssueStateRequest: Decodable {
    /// `unresolved`, `resolved`, `resolved_next_deployment` or `ignored`.
    var state: String
    /// With `ignored`: unresolved again after this many more occurrences.
    var ignoreMoreOccurrences: UInt64?
    /// With `ignored`: unresolved again when it occurs after this Unix time.
    var ignoreUntil: Double?

    enum CodingKeys: String, CodingKey {
        case state
        case ignoreMoreOccurrences = "ignore_more_occurrences"
        case ignoreUntil = "ignore_until"
    }
}
