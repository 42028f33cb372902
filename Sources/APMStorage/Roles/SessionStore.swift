public import Foundation

/// Dashboard sessions, the sign-in throttle and installation secrets, shared by every collector of the store.
public protocol SessionStore: Sendable {
    /// Stores a session; past `maxSessions` live sessions, the one least recently used ends.
    ///
    /// - Parameters:
    ///   - session: The session.
    ///   - maxSessions: Live sessions kept.
    ///   - now: The current time.
    func createSession(_ session: StoredSession, maxSessions: Int, now: Double) async throws

    /// A live session, its expiry moved forward.
    ///
    /// - Parameters:
    ///   - tokenHash: The cookie token's hash.
    ///   - now: The current time.
    ///   - lifetime: Seconds a session lives unused.
    /// - Returns: The session, `nil` when unknown or expired.
    func session(tokenHash: String, now: Double, lifetime: Double) async throws -> StoredSession?

    /// Ends a session.
    ///
    /// - Parameter tokenHash: The cookie token's hash.
    func deleteSession(tokenHash: String) async throws

    /// Live sessions.
    ///
    /// - Returns: The count.
    func sessionCount() async throws -> Int

    /// Counts a sign-in attempt against every key atomically, unless one of them must wait.
    ///
    /// - Parameters:
    ///   - keys: The keys with their policies.
    ///   - now: The current time.
    ///   - maxEntries: Keys remembered; the least recently tried are forgotten first.
    /// - Returns: Whether the attempt may go ahead.
    func reserveSignInAttempt(
        keys: [SignInThrottleKey],
        now: Double,
        maxEntries: Int
    ) async throws
        -> SignInThrottleVerdict

    /// Forgets the counted attempts of keys.
    ///
    /// - Parameter keys: The keys.
    func clearSignInAttempts(keys: [String]) async throws

    /// Keys the sign-in throttle remembers.
    ///
    /// - Returns: The count.
    func signInThrottleCount() async throws -> Int

    /// A random secret of this installation, the same for every collector of the store.
    ///
    /// - Parameter name: The secret's name.
    /// - Returns: 32 bytes.
    func installationSecret(named name: String) async throws -> Data
}
