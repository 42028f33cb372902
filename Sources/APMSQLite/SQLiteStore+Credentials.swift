public import APMStorage
import GRDB

extension SQLiteStore {
    /// As ``CredentialStore`` describes it, on SQLite.
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
        return try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO \(kind.table) (account_id, name, \(kind.hashColumn), prefix, created_at\(scope == nil ? "" : ", scope"))
                    VALUES (?, ?, ?, ?, ?\(scope == nil ? "" : ", ?"))
                    """,
                arguments: [accountID, name, hash, prefix, now] + (scope.map { [$0.rawValue] } ?? [])
            )
            return CredentialRecord(
                id: db.lastInsertedRowID,
                accountID: accountID,
                kind: kind,
                name: name,
                scope: scope,
                prefix: prefix,
                createdAt: now,
                revokedAt: nil
            )
        }
    }

    /// As ``CredentialStore`` describes it, on SQLite.
    public func credentials(_ kind: CredentialKind, accountID: Int64) async throws -> [CredentialRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM \(kind.table) WHERE account_id = ? ORDER BY id",
                arguments: [accountID]
            ).map { try CredentialRecord(row: $0, kind: kind) }
        }
    }

    /// As ``CredentialStore`` describes it, on SQLite.
    public func revokeCredential(_ kind: CredentialKind, accountID: Int64, id: Int64, now: Double) async throws -> Bool
    {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE \(kind.table) SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL",
                arguments: [now, id, accountID]
            )
            return db.changesCount > 0
        }
    }

    /// As ``CredentialStore`` describes it, on SQLite.
    public func activeCredential(_ kind: CredentialKind, hash: String) async throws -> CredentialRecord? {
        try await writer.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT * FROM \(kind.table) WHERE \(kind.hashColumn) = ? AND revoked_at IS NULL",
                arguments: [hash]
            ).map { try CredentialRecord(row: $0, kind: kind) }
        }
    }
}
