public import APMStorage
import Foundation
import GRDB

extension SQLiteStore {
    /// Creates a user.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - name: The login name.
    ///   - passwordHash: The hash.
    /// - Returns: The user.
    ///   - role: What the user may do.
    public func createUser(
        accountID: Int64,
        name: String,
        passwordHash: String,
        role: UserRole,
        now: Double
    ) async throws -> StoredUser {
        try await writer.write { db in
            try db.execute(
                sql:
                    "INSERT INTO users (account_id, name, password_hash, created_at, password_changed_at, role) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [accountID, name, passwordHash, now, now, role.rawValue]
            )
            return StoredUser(
                id: db.lastInsertedRowID,
                accountID: accountID,
                name: name,
                passwordHash: passwordHash,
                createdAt: now,
                passwordChangedAt: now,
                role: role
            )
        }
    }

    /// Changes a user's role.
    ///
    /// - Parameters:
    ///   - userID: The user.
    ///   - role: The role.
    public func setRole(userID: Int64, role: UserRole) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE users SET role = ? WHERE id = ?", arguments: [role.rawValue, userID])
        }
    }

    /// Removes a user and the user's sessions.
    ///
    /// - Parameter userID: The user.
    public func deleteUser(userID: Int64) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE user_id = ?", arguments: [userID])
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [userID])
        }
    }

    /// A user by name.
    ///
    /// - Parameter name: The login name.
    /// - Returns: The user or `nil`.
    public func user(named name: String) async throws -> StoredUser? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]).map(Self.user)
        }
    }

    /// An account's users.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Users.
    public func users(accountID: Int64) async throws -> [StoredUser] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM users WHERE account_id = ? ORDER BY name", arguments: [accountID])
                .map(Self.user)
        }
    }

    /// Replaces a password hash.
    ///
    /// - Parameters:
    ///   - userID: The user.
    ///   - passwordHash: The hash.
    public func setPassword(userID: Int64, passwordHash: String, now: Double) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                arguments: [passwordHash, now, userID]
            )
            // A new password ends every session of the user: whoever held the old one is signed out.
            try db.execute(sql: "DELETE FROM sessions WHERE user_id = ?", arguments: [userID])
        }
    }

    static func user(_ row: Row) throws -> StoredUser {
        try StoredUser(row: row)
    }
}
