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

/// `POST /keys` (a name) and `POST /tokens` (a name and a scope).
struct CredentialRequest: Decodable {
    var name: String?
    var scope: String?
}

/// `POST /users` (name and role) and `PUT /users/{name}/role` (role).
struct UserRequest: Decodable {
    var name: String?
    var role: String?
}

/// A new key or token: the secret under `key` or `token` (shown once), and its record.
struct CreatedCredential: Encodable {
    var kind: CredentialKind
    var secret: String
    var record: APICredential

    private struct Field: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(secret, forKey: Field(stringValue: kind.secretField))
        try container.encode(record, forKey: Field(stringValue: "record"))
    }
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
