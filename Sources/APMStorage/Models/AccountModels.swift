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

/// A license key as stored: only its SHA-256 hash and a short prefix for display, never the key.
public struct LicenseKeyRecord: Sendable, Hashable {
    /// The key's id.
    public var id: Int64
    /// The owning account.
    public var accountID: Int64
    /// A label (`default`, `ci`, ...).
    public var name: String
    /// The first characters of the key, to tell keys apart.
    public var prefix: String
    /// Creation time (Unix seconds).
    public var createdAt: Double
    /// Revocation time, `nil` while the key is active.
    public var revokedAt: Double?

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - accountID: The account.
    ///   - name: The label.
    ///   - prefix: The display prefix.
    ///   - createdAt: Creation time.
    ///   - revokedAt: Revocation time.
    public init(id: Int64, accountID: Int64, name: String, prefix: String, createdAt: Double, revokedAt: Double?) {
        self.id = id
        self.accountID = accountID
        self.name = name
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
