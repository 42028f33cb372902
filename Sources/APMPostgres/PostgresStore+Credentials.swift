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

    /// As ``CredentialStore`` describes it, on PostgreSQL.
    public func createCredential(
        _ kind: CredentialKind,
        scope: APITokenScope?,
        accountID: Int64,
        name: String,
        hash: String,
        prefix: String,
        now: Double
    ) async throws -> CredentialRecord {
        let scope = kind.storedScope(scope)
        // License keys have no scope column.
        let scopeColumn = scope == nil ? "" : ", scope"
        let scopeValue = scope == nil ? "" : ", $6"
        var query: PostgresQuery = """
            INSERT INTO \(unescaped: kind.table) (account_id, name, \(unescaped: kind.hashColumn), prefix, created_at\(unescaped: scopeColumn))
            VALUES (\(accountID), \(name), \(hash), \(prefix), \(now)\(unescaped: scopeValue)) RETURNING id
            """
        if let scope { query.binds.append(scope.rawValue) }
        let id = try await rows(query).first?.get("id", as: Int64.self) ?? 0
        return CredentialRecord(
            id: id,
            accountID: accountID,
            kind: kind,
            name: name,
            scope: scope,
            prefix: prefix,
            createdAt: now,
            revokedAt: nil
        )
    }

    /// As ``CredentialStore`` describes it, on PostgreSQL.
    public func credentials(_ kind: CredentialKind, accountID: Int64) async throws -> [CredentialRecord] {
        try await rows("SELECT * FROM \(unescaped: kind.table) WHERE account_id = \(accountID) ORDER BY id").map {
            try CredentialRecord(row: PostgresStoredRow($0), kind: kind)
        }
    }

    /// As ``CredentialStore`` describes it, on PostgreSQL.
    public func revokeCredential(_ kind: CredentialKind, accountID: Int64, id: Int64, now: Double) async throws -> Bool
    {
        !(try await rows(
            """
            UPDATE \(unescaped: kind.table) SET revoked_at = \(now)
            WHERE id = \(id) AND account_id = \(accountID) AND revoked_at IS NULL RETURNING id
            """
        ).isEmpty)
    }

    /// As ``CredentialStore`` describes it, on PostgreSQL.
    public func activeCredential(_ kind: CredentialKind, hash: String) async throws -> CredentialRecord? {
        try await rows(
            "SELECT * FROM \(unescaped: kind.table) WHERE \(unescaped: kind.hashColumn) = \(hash) AND revoked_at IS NULL"
        ).first.map { try CredentialRecord(row: PostgresStoredRow($0), kind: kind) }
    }
}
