import APMStorage
import HTTPTypes

/// Who is calling, as the authentication middleware established it, and what that credential may do.
///
/// Three credentials, as New Relic separates license keys from user API keys:
/// - a **license key** (ingest key, `apm_…`), held by every agent and OpenTelemetry exporter: it may only send
///   data (batches, OTLP, process reports, deployment markers);
/// - an **API token** (`apt_…`), `read` (every figure of the account) or `admin` (read, and users, passwords,
///   keys, tokens, Apdex T);
/// - a **dashboard session** of a signed-in user (the users are the account's administrators).
struct Identity: Sendable {
    /// What a request needs.
    enum Permission: Sendable {
        /// Send data.
        case ingest
        /// Read figures.
        case read
        /// Change settings and credentials.
        case admin
        /// Record a deployment marker: a license key may (a deploy step runs where the app's config is, and a
        /// marker only adds a line to charts, signed with the key's name), as may an admin token.
        case recordDeployment
    }

    enum Credential: Sendable {
        /// A license key or an API token.
        case stored(CredentialRecord)
        case session(StoredSession)
    }

    let credential: Credential

    var accountID: Int64 {
        switch credential {
        case .stored(let record): record.accountID
        case .session(let session): session.accountID
        }
    }

    /// Who did it, for records such as a deployment's user.
    var actor: String {
        switch credential {
        case .stored(let record): "\(record.kind.rawValue) \(record.name) (\(record.prefix)…)"
        case .session(let session): session.userName
        }
    }

    func allows(_ permission: Permission) -> Bool {
        switch credential {
        case .stored(let record) where record.kind == .licenseKey:
            permission == .ingest || permission == .recordDeployment
        case .stored(let token):
            permission == .read || (permission != .ingest && token.scope == .admin)
        case .session: permission != .ingest
        }
    }

    /// The answer to a credential that may not do what it asked.
    func refusal(_ permission: Permission) -> APIError {
        switch (credential, permission) {
        case (.stored(let record), _) where record.kind == .licenseKey:
            APIError(
                .forbidden,
                code: "ingest_key",
                message:
                    "a license key can only send data (agents, OpenTelemetry, run-program); reading or changing anything needs an API token (Authorization: Bearer apt_…): create one on the dashboard's settings page or with `apm tokens create`"
            )
        case (.stored, .ingest):
            APIError(
                .forbidden,
                code: "api_token",
                message: "an API token cannot send data; agents and exporters use a license key (apm_…)"
            )
        case (.stored, _):
            APIError(
                .forbidden,
                code: "read_only_token",
                message:
                    "this API token may only read; changing settings and credentials needs a token with the admin scope"
            )
        case (.session, _):
            APIError(.forbidden, code: "forbidden", message: "a dashboard session cannot send data")
        }
    }
}
