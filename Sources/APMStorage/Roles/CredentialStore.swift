/// Accounts and the credentials that act for them: license keys (agents) and API tokens (the API, the CLI), stored as hashes.
public protocol CredentialStore: Sendable {
    /// Creates an account.
    ///
    /// - Parameter name: A unique name.
    /// - Returns: The account.
    func createAccount(name: String) async throws -> Account

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
    /// - Returns: The account, or `nil` when one existed.
    /// - Throws: ``StoreError`` (`dataDirectoryNotEmpty`) for data without an account.
    func bootstrap(
        accountName: String,
        keyHash: String,
        keyPrefix: String,
        adminName: String,
        passwordHash: String
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
    /// - Returns: The record.
    func createLicenseKey(
        accountID: Int64,
        name: String,
        keyHash: String,
        prefix: String
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
    /// - Returns: `false` when no such active key exists in the account.
    func revokeLicenseKey(accountID: Int64, id: Int64) async throws -> Bool

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
    /// - Returns: The record.
    func createAPIToken(
        accountID: Int64,
        name: String,
        scope: APITokenScope,
        tokenHash: String,
        prefix: String
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
    /// - Returns: Whether an active token was revoked.
    func revokeAPIToken(accountID: Int64, id: Int64) async throws -> Bool

    /// The active token with this hash.
    ///
    /// - Parameter tokenHash: SHA-256 hex.
    /// - Returns: The record or `nil`.
    func activeAPIToken(hash tokenHash: String) async throws -> APITokenRecord?
}
