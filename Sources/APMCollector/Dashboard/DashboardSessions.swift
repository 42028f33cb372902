import APMStorage
import Foundation

/// Dashboard sessions, kept in the store (so that every collector behind a load balancer knows them, and a
/// restart signs nobody out). The cookie holds a random token; the store holds only its hash. A session lives
/// 12 hours past its last use; past `maxSessions` live ones, signing in ends the least recently used.
final class DashboardSessions: Sendable {
    typealias Session = StoredSession

    static let cookie = "apm_session"
    static let lifetime: TimeInterval = 12 * 3600
    static let defaultMaxSessions = 10_000

    let store: any SessionStore
    let maxSessions: Int
    let now: @Sendable () -> Double

    init(
        store: any SessionStore,
        maxSessions: Int = DashboardSessions.defaultMaxSessions,
        now: @escaping @Sendable () -> Double
    ) {
        self.store = store
        self.maxSessions = maxSessions
        self.now = now
    }

    /// 256 random bits, hex.
    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 0xf, radix: 16)
        }.joined()
    }

    /// Starts a session for a user.
    ///
    /// - Parameter user: The signed-in user.
    /// - Returns: The cookie's token and the session.
    func create(for user: StoredUser) async throws -> (token: String, session: StoredSession) {
        let token = Self.token()
        let session = StoredSession(
            tokenHash: CredentialGenerator.hash(token),
            userID: user.id,
            userName: user.name,
            accountID: user.accountID,
            csrf: Self.token(),
            expiresAt: now() + Self.lifetime
        )
        try await store.createSession(session, maxSessions: maxSessions, now: now())
        return (token, session)
    }

    /// The live session of a cookie's token.
    ///
    /// - Parameter token: The cookie's value.
    /// - Returns: The session, `nil` when unknown, expired, or ended (sign-out, password reset).
    func session(for token: String) async throws -> StoredSession? {
        guard token.utf8.count == 64 else { return nil }
        return try await store.session(tokenHash: CredentialGenerator.hash(token), now: now(), lifetime: Self.lifetime)
    }

    /// Ends the session of a cookie's token.
    ///
    /// - Parameter token: The cookie's value.
    func end(_ token: String?) async throws {
        guard let token else { return }
        try await store.deleteSession(tokenHash: CredentialGenerator.hash(token))
    }
}
