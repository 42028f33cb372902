public import APMStorage
import Foundation
import NIOCore
import PostgresNIO
import Synchronization

extension PostgresStore {
    // MARK: Users

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createUser(
        accountID: Int64,
        name: String,
        passwordHash: String,
        role: UserRole,
        now: Double
    ) async throws -> StoredUser {
        let id =
            try await rows(
                """
                INSERT INTO users (account_id, name, password_hash, created_at, password_changed_at, role)
                VALUES (\(accountID), \(name), \(passwordHash), \(now), \(now), \(role.rawValue)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return StoredUser(
            id: id,
            accountID: accountID,
            name: name,
            passwordHash: passwordHash,
            createdAt: now,
            passwordChangedAt: now,
            role: role
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func setRole(userID: Int64, role: UserRole) async throws {
        try await execute("UPDATE users SET role = \(role.rawValue) WHERE id = \(userID)")
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func deleteUser(userID: Int64) async throws {
        try await transaction { [self] connection in
            try await connection.execute("DELETE FROM sessions WHERE user_id = \(userID)", self.logger)
            try await connection.execute("DELETE FROM users WHERE id = \(userID)", self.logger)
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func user(named name: String) async throws -> StoredUser? {
        try await rows("SELECT * FROM users WHERE name = \(name)").first.map(Self.user)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func users(accountID: Int64) async throws -> [StoredUser] {
        try await rows("SELECT * FROM users WHERE account_id = \(accountID) ORDER BY name COLLATE \"C\"").map(Self.user)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func setPassword(userID: Int64, passwordHash: String, now: Double) async throws {
        try await transaction { [self] connection in
            try await connection.execute(
                "UPDATE users SET password_hash = \(passwordHash), password_changed_at = \(now) WHERE id = \(userID)",
                self.logger
            )
            // A new password ends every session of the user: whoever held the old one is signed out.
            try await connection.execute("DELETE FROM sessions WHERE user_id = \(userID)", self.logger)
        }
    }

    static func user(_ row: PostgresRandomAccessRow) throws -> StoredUser {
        try StoredUser(row: PostgresStoredRow(row))
    }
}
