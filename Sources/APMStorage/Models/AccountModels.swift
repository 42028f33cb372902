/// An account: owns license keys and apps.
public struct Account: Sendable, Hashable {
    /// The account's id.
    public var id: Int64
    /// The account's name.
    public var name: String
    /// Creation time (Unix seconds).
    public var createdAt: Double

    /// Creates an account value.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - name: The name.
    ///   - createdAt: Creation time.
    public init(id: Int64, name: String, createdAt: Double) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// What a credential is: an agent's license key (`apm_…`: it may send data and record deployments) or an API
/// token (`apt_…`: the API and the CLI, with a scope). Both are 160 random bits shown once and stored only as a
/// SHA-256 hash; one set of rules creates, lists, revokes and recognises them.
public enum CredentialKind: String, Sendable, Hashable, CaseIterable {
    /// An agent's or exporter's key.
    case licenseKey = "license key"
    /// A token of the API and the CLI.
    case apiToken = "API token"

    /// What every credential of this kind starts with.
    public var prefix: String {
        switch self {
        case .licenseKey: "apm_"
        case .apiToken: "apt_"
        }
    }

    /// The kind of a presented credential, told by its prefix.
    ///
    /// - Parameter credential: What a request presented.
    public init(presented credential: String) {
        self = credential.hasPrefix(CredentialKind.apiToken.prefix) ? .apiToken : .licenseKey
    }

    /// The scope a credential of this kind is stored with: an API token's, `read` when none was given; none for
    /// a license key.
    ///
    /// - Parameter scope: The scope asked for.
    /// - Returns: The scope stored.
    package func storedScope(_ scope: APITokenScope?) -> APITokenScope? {
        self == .apiToken ? scope ?? .read : nil
    }

    /// The table that holds this kind (both backends name it alike).
    package var table: String {
        switch self {
        case .licenseKey: "license_keys"
        case .apiToken: "api_tokens"
        }
    }

    /// The column of the hash.
    package var hashColumn: String {
        switch self {
        case .licenseKey: "key_hash"
        case .apiToken: "token_hash"
        }
    }
}

/// A license key or API token as stored: only its SHA-256 hash and a short prefix for display, never the secret.
public struct CredentialRecord: Sendable, Hashable {
    /// The credential's id (per kind).
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// A license key or an API token.
    public var kind: CredentialKind
    /// A label (`default`, `ci`, ...).
    public var name: String
    /// What an API token may do; `nil` for a license key.
    public var scope: APITokenScope?
    /// The first characters of the secret, to tell credentials apart.
    public var prefix: String
    /// Creation time (Unix seconds).
    public var createdAt: Double
    /// Revocation time, `nil` while the credential is active.
    public var revokedAt: Double?

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - kind: License key or API token.
    ///   - name: The label.
    ///   - scope: An API token's scope.
    ///   - prefix: The display prefix.
    ///   - createdAt: Creation time.
    ///   - revokedAt: Revocation time.
    public init(
        id: Int64,
        accountID: Int64,
        kind: CredentialKind,
        name: String,
        scope: APITokenScope? = nil,
        prefix: String,
        createdAt: Double,
        revokedAt: Double?
    ) {
        self.id = id
        self.accountID = accountID
        self.kind = kind
        self.name = name
        self.scope = scope
        self.prefix = prefix
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// A dashboard user. The password is stored only as a salted scrypt hash.
public struct StoredUser: Sendable, Hashable {
    /// The id.
    public var id: Int64
    /// The account.
    public var accountID: Int64
    /// The login name.
    public var name: String
    /// The password hash (`scrypt$N$r$p$salt$hash`).
    public var passwordHash: String
    /// Creation time (Unix seconds).
    public var createdAt: Double
    /// Last password change (Unix seconds).
    public var passwordChangedAt: Double
    /// What the user may do.
    public var role: UserRole

    /// Creates a user value.
    ///
    /// - Parameters:
    ///   - id: Id.
    ///   - accountID: Account.
    ///   - name: Name.
    ///   - passwordHash: Hash.
    ///   - createdAt: Creation time.
    ///   - passwordChangedAt: Last password change.
    public init(
        id: Int64,
        accountID: Int64,
        name: String,
        passwordHash: String,
        createdAt: Double,
        passwordChangedAt: Double,
        role: UserRole = .admin
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.passwordChangedAt = passwordChangedAt
        self.role = role
    }
}

/// What a dashboard user may do.
public enum UserRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// Reads every page of the account; changes nothing, and sees no credential (channel URLs are redacted).
    case viewer
    /// Reads and changes everything: apps' T, keys, tokens, users, alerts.
    case admin
}
