import Foundation

/// Dashboard users and their roles.
public protocol UserStore: Sendable {
    /// Creates a dashboard user.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - name: A unique login name.
    ///   - passwordHash: The password's hash.
    ///   - role: What the user may do.
    ///   - now: Unix seconds, from the caller's clock.
    /// - Returns: The user.
    func createUser(
        accountID: Int64,
        name: String,
        passwordHash: String,
        role: UserRole,
        now: Double
    ) async throws -> StoredUser

    /// Changes a user's role; it applies to the user's sessions at once (they read it on every request).
    ///
    /// - Parameters:
    ///   - userID: The user.
    ///   - role: The new role.
    func setRole(userID: Int64, role: UserRole) async throws

    /// Removes a user and ends all of the user's sessions.
    ///
    /// - Parameter userID: The user.
    func deleteUser(userID: Int64) async throws

    /// A user by login name.
    ///
    /// - Parameter name: The login name.
    /// - Returns: The user or `nil`.
    func user(named name: String) async throws -> StoredUser?

    /// An account's users.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Users by name.
    func users(accountID: Int64) async throws -> [StoredUser]

    /// Replaces a user's password hash and ends all of the user's sessions.
    ///
    /// - Parameters:
    ///   - userID: The user.
    ///   - passwordHash: The new hash.
    ///   - now: Unix seconds, from the caller's clock.
    func setPassword(userID: Int64, passwordHash: String, now: Double) async throws
}

extension UserStore {
    /// Creates an admin user (the first user of an account, and every user before roles) at the wall clock's
    /// time (tools and tests; the collector passes its own clock).
    public func createUser(accountID: Int64, name: String, passwordHash: String) async throws -> StoredUser {
        try await createUser(
            accountID: accountID,
            name: name,
            passwordHash: passwordHash,
            role: .admin,
            now: Date().timeIntervalSince1970
        )
    }

    /// ``createUser(accountID:name:passwordHash:role:now:)`` at the wall clock's time (tools and tests).
    public func createUser(
        accountID: Int64,
        name: String,
        passwordHash: String,
        role: UserRole
    ) async throws
        -> StoredUser
    {
        try await createUser(
            accountID: accountID,
            name: name,
            passwordHash: passwordHash,
            role: role,
            now: Date().timeIntervalSince1970
        )
    }

    /// ``setPassword(userID:passwordHash:now:)`` at the wall clock's time (tools and tests).
    public func setPassword(userID: Int64, passwordHash: String) async throws {
        try await setPassword(userID: userID, passwordHash: passwordHash, now: Date().timeIntervalSince1970)
    }
}
