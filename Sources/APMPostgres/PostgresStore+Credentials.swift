public import APMStorage
import Foundation
import NIOCore
import PostgresNIO
import Synchronization

extension PostgresStore {
    // MARK: Accounts and keys

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createAccount(name: String, now: Double) async throws -> Account {
        let id =
            try await rows("INSERT INTO accounts (name, created_at) VALUES (\(name), \(now)) RETURNING id")
            .first?.get("id", as: Int64.self) ?? 0
        return Account(id: id, name: name, createdAt: now)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func bootstrap(
        accountName: String,
        keyHash: String,
        keyPrefix: String,
        adminName: String,
        passwordHash: String,
        now: Double
    ) async throws -> Account? {
        try await transaction { [self] connection -> Account? in
            // Collectors starting together on an empty database: the first creates the account, the others wait
            // here and find it.
            try await connection.execute("LOCK TABLE accounts IN EXCLUSIVE MODE", self.logger)
            guard try await connection.rows("SELECT 1 AS one FROM accounts LIMIT 1", self.logger).isEmpty else {
                return nil
            }
            for table in ["apps", "license_keys", "users", "batches"] {
                guard
                    try await connection.rows(
                        PostgresQuery(unsafeSQL: "SELECT 1 AS one FROM \(table) LIMIT 1"),
                        self.logger
                    ).isEmpty
                else {
                    throw StoreError(
                        .dataDirectoryNotEmpty,
                        "the database holds data (\(table)) but no account: it is not a database that swift-apm set up, or it was damaged. Restore a backup, or point postgres_url at an empty database; it was not changed"
                    )
                }
            }
            let id =
                try await connection.rows(
                    "INSERT INTO accounts (name, created_at) VALUES (\(accountName), \(now)) RETURNING id",
                    self.logger
                ).first?.get("id", as: Int64.self) ?? 0
            try await connection.execute(
                """
                INSERT INTO license_keys (account_id, name, key_hash, prefix, created_at)
                VALUES (\(id), 'default', \(keyHash), \(keyPrefix), \(now))
                """,
                self.logger
            )
            try await connection.execute(
                """
                INSERT INTO users (account_id, name, password_hash, created_at, password_changed_at)
                VALUES (\(id), \(adminName), \(passwordHash), \(now), \(now))
                """,
                self.logger
            )
            return Account(id: id, name: accountName, createdAt: now)
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func accounts() async throws -> [Account] {
        try await rows("SELECT id, name, created_at FROM accounts ORDER BY id").map {
            Account(id: try $0.get("id"), name: try $0.get("name"), createdAt: try $0.get("created_at"))
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createLicenseKey(
        accountID: Int64,
        name: String,
        keyHash: String,
        prefix: String,
        now: Double
    ) async throws -> LicenseKeyRecord {
        let id =
            try await rows(
                """
                INSERT INTO license_keys (account_id, name, key_hash, prefix, created_at)
                VALUES (\(accountID), \(name), \(keyHash), \(prefix), \(now)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return LicenseKeyRecord(
            id: id,
            accountID: accountID,
            name: name,
            prefix: prefix,
            createdAt: now,
            revokedAt: nil
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func licenseKeys(accountID: Int64) async throws -> [LicenseKeyRecord] {
        try await rows("SELECT * FROM license_keys WHERE account_id = \(accountID) ORDER BY id").map(Self.licenseKey)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func revokeLicenseKey(accountID: Int64, id: Int64, now: Double) async throws -> Bool {

        !(try await rows(
            """
            UPDATE license_keys SET revoked_at = \(now)
            WHERE id = \(id) AND account_id = \(accountID) AND revoked_at IS NULL RETURNING id
            """
        ).isEmpty)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func activeLicenseKey(hash keyHash: String) async throws -> LicenseKeyRecord? {
        try await rows("SELECT * FROM license_keys WHERE key_hash = \(keyHash) AND revoked_at IS NULL").first.map(
            Self.licenseKey
        )
    }

    static func licenseKey(_ row: PostgresRandomAccessRow) throws -> LicenseKeyRecord {
        try LicenseKeyRecord(row: PostgresStoredRow(row))
    }

    // MARK: API tokens

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createAPIToken(
        accountID: Int64,
        name: String,
        scope: APITokenScope,
        tokenHash: String,
        prefix: String,
        now: Double
    ) async throws -> APITokenRecord {
        let id =
            try await rows(
                """
                INSERT INTO api_tokens (account_id, name, scope, token_hash, prefix, created_at)
                VALUES (\(accountID), \(name), \(scope.rawValue), \(tokenHash), \(prefix), \(now)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return APITokenRecord(
            id: id,
            accountID: accountID,
            name: name,
            scope: scope,
            prefix: prefix,
            createdAt: now,
            revokedAt: nil
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func apiTokens(accountID: Int64) async throws -> [APITokenRecord] {
        try await rows("SELECT * FROM api_tokens WHERE account_id = \(accountID) ORDER BY id").map(Self.apiToken)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func revokeAPIToken(accountID: Int64, id: Int64, now: Double) async throws -> Bool {

        !(try await rows(
            """
            UPDATE api_tokens SET revoked_at = \(now)
            WHERE id = \(id) AND account_id = \(accountID) AND revoked_at IS NULL RETURNING id
            """
        ).isEmpty)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func activeAPIToken(hash tokenHash: String) async throws -> APITokenRecord? {
        try await rows("SELECT * FROM api_tokens WHERE token_hash = \(tokenHash) AND revoked_at IS NULL").first.map(
            Self.apiToken
        )
    }

    static func apiToken(_ row: PostgresRandomAccessRow) throws -> APITokenRecord {
        try APITokenRecord(row: PostgresStoredRow(row))
    }
}
