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

    /// Stores a license key's or API token's hash.
    ///
    /// - Parameters:
    ///   - kind: License key or API token.
    ///   - scope: An API token's scope (`nil` for a license key).
    ///   - accountID: The owning account.
    ///   - name: A label.
    ///   - hash: SHA-256 of the secret, hex.
    ///   - prefix: The secret's first characters, for display.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: The record.
    func createCredential(
        _ kind: CredentialKind,
        scope: APITokenScope?,
        accountID: Int64,
        name: String,
        hash: String,
        prefix: String,
        now: Double
    ) async throws -> CredentialRecord

    /// An account's credentials of one kind, revoked ones included.
    ///
    /// - Parameters:
    ///   - kind: License keys or API tokens.
    ///   - accountID: The account.
    /// - Returns: Records by id.
    func credentials(_ kind: CredentialKind, accountID: Int64) async throws -> [CredentialRecord]

    /// Revokes a credential.
    ///
    /// - Parameters:
    ///   - kind: License key or API token.
    ///   - accountID: The owning account.
    ///   - id: The credential's id.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: `false` when no such active credential exists in the account.
    func revokeCredential(_ kind: CredentialKind, accountID: Int64, id: Int64, now: Double) async throws -> Bool

    /// The active credential with this hash.
    ///
    /// - Parameters:
    ///   - kind: License key or API token.
    ///   - hash: SHA-256 of the secret, hex.
    /// - Returns: The record, `nil` when unknown or revoked.
    func activeCredential(_ kind: CredentialKind, hash: String) async throws -> CredentialRecord?
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

    /// ``createCredential(_:scope:accountID:name:hash:prefix:now:)`` now.
    public func createCredential(
        _ kind: CredentialKind,
        scope: APITokenScope? = nil,
        accountID: Int64,
        name: String,
        hash: String,
        prefix: String
    ) async throws -> CredentialRecord {
        try await createCredential(
            kind,
            scope: scope,
            accountID: accountID,
            name: name,
            hash: hash,
            prefix: prefix,
            now: Date().timeIntervalSince1970
        )
    }

    /// ``revokeCredential(_:accountID:id:now:)`` now.
    public func revokeCredential(_ kind: CredentialKind, accountID: Int64, id: Int64) async throws -> Bool {
        try await revokeCredential(kind, accountID: accountID, id: id, now: Date().timeIntervalSince1970)
    }
}
