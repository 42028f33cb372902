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
        case licenseKey(LicenseKeyRecord)
        case apiToken(APITokenRecord)
        case session(StoredSession)
    }

    let credential: Credential

    var accountID: Int64 {
        switch credential {
        case .licenseKey(let key): key.accountID
        case .apiToken(let token): token.accountID
        case .session(let session): session.accountID
        }
    }

    /// Who did it, for records such as a deployment's user.
    var actor: String {
        switch credential {
        case .licenseKey(let key): "license key \(key.name) (\(key.prefix)…)"
        case .apiToken(let token): "API token \(token.name) (\(token.prefix)…)"
        case .session(let session): session.userName
        }
    }

    func allows(_ permission: Permission) -> Bool {
        switch (credential, permission) {
        case (.licenseKey, .ingest), (.licenseKey, .recordDeployment): true
        case (.licenseKey, _): false
        case (.apiToken, .read): true
        case (.apiToken(let token), .admin), (.apiToken(let token), .recordDeployment): token.scope == .admin
        case (.apiToken, .ingest): false
        case (.session, .read), (.session, .admin), (.session, .recordDeployment): true
        case (.session, .ingest): false
        }
    }

    /// The answer to a credential that may not do what it asked.
    func refusal(_ permission: Permission) -> APIError {
        switch (credential, permission) {
        case (.licenseKey, _):
            APIError(
                .forbidden,
                code: "ingest_key",
                message:
                    "a license key can only send data (agents, OpenTelemetry, run-program); reading or changing anything needs an API token (Authorization: Bearer apt_…): create one on the dashboard's settings page or with `apm tokens create`"
            )
        case (.apiToken, .ingest):
            APIError(
                .forbidden,
                code: "api_token",
                message: "an API token cannot send data; agents and exporters use a license key (apm_…)"
            )
        case (.apiToken, _):
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
