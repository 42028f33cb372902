import Foundation

/// Accounts and the credentials that act for them: license keys (agents) and API tokens (the API, the CLI), stored as hashes.
public protocol CredentialStore: Sendable {
    /// Creates an account.
    ///
    /// - Parameters:
    ///   - name: A unique name.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: The account.
    func createAccount(name: String, now: Double) async throws -> Account

    /// Creates the first account, its license key and the administrator in one transaction, unless an account
    /// exists. Refuses a store that holds data but no account (it lost its identity): setting up a new account
    /// over it would leave every agent's key rejected.
    ///
    /// - Parameters:
    ///   - accountName: The account's name.
    ///   - keyHash: The license key's hash.
    ///   - keyPrefix: The key's display prefix.
    ///   - adminName: The administrator's login.
    ///   - passwordHash: The administrator's password hash.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: The account, or `nil` when one existed.
    /// - Throws: ``StoreError`` (`dataDirectoryNotEmpty`) for data without an account.
    func bootstrap(
        accountName: String,
        keyHash: String,
        keyPrefix: String,
        adminName: String,
        passwordHash: String,
        now: Double
    ) async throws -> Account?

    /// Every account.
    ///
    /// - Returns: Accounts by id.
    func accounts() async throws -> [Account]

    /// Stores a license key's hash.
    ///
    /// - Parameters:
    ///   - accountID: The owning account.
    ///   - name: A label.
    ///   - keyHash: SHA-256 of the key, hex.
    ///   - prefix: The key's first characters, for display.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: The record.
    func createLicenseKey(
        accountID: Int64,
        name: String,
        keyHash: String,
        prefix: String,
        now: Double
    ) async throws -> LicenseKeyRecord

    /// An account's keys, revoked ones included.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Keys by id.
    func licenseKeys(accountID: Int64) async throws -> [LicenseKeyRecord]

    /// Revokes a key.
    ///
    /// - Parameters:
    ///   - accountID: The owning account.
    ///   - id: The key's id.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: `false` when no such active key exists in the account.
    func revokeLicenseKey(accountID: Int64, id: Int64, now: Double) async throws -> Bool

    /// The active key with this hash.
    ///
    /// - Parameter keyHash: SHA-256 of the key, hex.
    /// - Returns: The key's record, `nil` when unknown or revoked.
    func activeLicenseKey(hash keyHash: String) async throws -> LicenseKeyRecord?

    /// Stores an API token's hash.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - name: A label.
    ///   - scope: What it may do.
    ///   - tokenHash: SHA-256 of the token, hex.
    ///   - prefix: The display prefix.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: The record.
    func createAPIToken(
        accountID: Int64,
        name: String,
        scope: APITokenScope,
        tokenHash: String,
        prefix: String,
        now: Double
    ) async throws -> APITokenRecord

    /// An account's API tokens, revoked ones included.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Tokens by id.
    func apiTokens(accountID: Int64) async throws -> [APITokenRecord]

    /// Revokes a token.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The token.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: Whether an active token was revoked.
    func revokeAPIToken(accountID: Int64, id: Int64, now: Double) async throws -> Bool

    /// The active token with this hash.
    ///
    /// - Parameter tokenHash: SHA-256 hex.
    /// - Returns: The record or `nil`.
    func activeAPIToken(hash tokenHash: String) async throws -> APITokenRecord?
}

/// The same at the wall clock's time, for tools and tests (the collector passes its own clock).
extension CredentialStore {
    /// ``createAccount(name:now:)`` now.
    public func createAccount(name: String) async throws -> Account {
        try await createAccount(name: name, now: Date().timeIntervalSince1970)
    }

    /// ``bootstrap(accountName:keyHash:keyPrefix:adminName:passwordHash:now:)`` now.
    public func bootstrap(
        accountName: String,
        keyHash: String,
        keyPrefix: String,
        adminName: String,
        passwordHash: String
    ) async throws -> Account? {
        try await bootstrap(
            accountName: accountName,
            keyHash: keyHash,
            keyPrefix: keyPrefix,
            adminName: adminName,
            passwordHash: passwordHash,
            now: Date().timeIntervalSince1970
        )
    }

    /// ``createLicenseKey(accountID:name:keyHash:prefix:now:)`` now.
    public func createLicenseKey(
        accountID: Int64,
        name: String,
        keyHash: String,
        prefix: String
    ) async throws
        -> LicenseKeyRecord
    {
        try await createLicenseKey(
            accountID: accountID,
            name: name,
            keyHash: keyHash,
            prefix: prefix,
            now: Date().timeIntervalSince1970
        )
    }

    /// ``revokeLicenseKey(accountID:id:now:)`` now.
    public func revokeLicenseKey(accountID: Int64, id: Int64) async throws -> Bool {
        try await revokeLicenseKey(accountID: accountID, id: id, now: Date().timeIntervalSince1970)
    }

    /// ``createAPIToken(accountID:name:scope:tokenHash:prefix:now:)`` now.
    public func createAPIToken(
        accountID: Int64,
        name: String,
        scope: APITokenScope,
        tokenHash: String,
        prefix: String
    ) async throws -> APITokenRecord {
        try await createAPIToken(
            accountID: accountID,
            name: name,
            scope: scope,
            tokenHash: tokenHash,
            prefix: prefix,
            now: Date().timeIntervalSince1970
        )
    }

    /// ``revokeAPIToken(accountID:id:now:)`` now.
    public func revokeAPIToken(accountID: Int64, id: Int64) async throws -> Bool {
        try await revokeAPIToken(accountID: accountID, id: id, now: Date().timeIntervalSince1970)
    }
}
