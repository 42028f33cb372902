public import APMStorage
public import Foundation
import GRDB

extension SQLiteStore {
    // MARK: Sessions

    /// Stores a session; past `maxSessions` live sessions, the one least recently used ends.
    ///
    /// - Parameters:
    ///   - session: The session.
    ///   - maxSessions: Live sessions kept.
    ///   - now: The current time.
    public func createSession(_ session: StoredSession, maxSessions: Int, now: Double) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [now])
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sessions") ?? 0
            if count >= maxSessions {
                // Sliding expiry: the earliest to expire is the least recently used.
                try db.execute(
                    sql:
                        "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions ORDER BY expires_at LIMIT ?)",
                    arguments: [count - maxSessions + 1]
                )
            }
            try db.execute(
                sql:
                    "INSERT INTO sessions (token_hash, user_id, user_name, account_id, csrf, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    session.tokenHash, session.userID, session.userName, session.accountID, session.csrf,
                    session.expiresAt,
                ]
            )
        }
    }

    /// A live session, its expiry moved to `now + lifetime` (written at most every 5 minutes).
    ///
    /// - Parameters:
    ///   - tokenHash: The cookie token's hash.
    ///   - now: The current time.
    ///   - lifetime: Seconds a session lives unused.
    /// - Returns: The session, `nil` when unknown or expired.
    public func session(tokenHash: String, now: Double, lifetime: Double) async throws -> StoredSession? {
        let found = try await writer.read { db in
            // The user's role with it, so that a change of role applies to live sessions at once; a session
            // whose user is gone finds no row.
            try Row.fetchOne(
                db,
                sql:
                    "SELECT sessions.*, users.role FROM sessions JOIN users ON users.id = sessions.user_id WHERE token_hash = ?",
                arguments: [tokenHash]
            ).map(Self.session)
        }
        guard var session = found else { return nil }
        guard session.expiresAt > now else {
            try await deleteSession(tokenHash: tokenHash)
            return nil
        }
        if now + lifetime - session.expiresAt > 300 {
            let expiresAt = now + lifetime
            session.expiresAt = expiresAt
            try await writer.write { db in
                try db.execute(
                    sql: "UPDATE sessions SET expires_at = ? WHERE token_hash = ?",
                    arguments: [expiresAt, tokenHash]
                )
            }
        }
        return session
    }

    /// Ends a session.
    ///
    /// - Parameter tokenHash: The cookie token's hash.
    public func deleteSession(tokenHash: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    /// Live sessions.
    ///
    /// - Returns: The count.
    public func sessionCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sessions") ?? 0 }
    }

    static func session(_ row: Row) throws -> StoredSession {
        try StoredSession(row: row)
    }

    // MARK: Sign-in throttle

    /// Counts a sign-in attempt against every key, atomically, unless one of them must wait: so concurrent
    /// guesses are each counted before any is checked.
    ///
    /// - Parameters:
    ///   - keys: The keys (client address, user name) with their policies.
    ///   - now: The current time.
    ///   - maxEntries: Keys remembered; past it, those least recently tried are forgotten first.
    /// - Returns: Whether the attempt may go ahead, else how long to wait.
    public func reserveSignInAttempt(
        keys: [SignInThrottleKey],
        now: Double,
        maxEntries: Int
    ) async throws -> SignInThrottleVerdict {
        try await writer.write { db -> SignInThrottleVerdict in
            var rows: [String: (failures: Int, blockedUntil: Double, lastAt: Double)] = [:]
            var wait = 0.0
            for entry in keys {
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT failures, blocked_until, last_at FROM sign_in_throttle WHERE key = ?",
                        arguments: [entry.key]
                    )
                else { continue }
                let failures: Int = row["failures"]
                let blockedUntil: Double = row["blocked_until"]
                let lastAt: Double = row["last_at"]
                rows[entry.key] = (failures, blockedUntil, lastAt)
                if blockedUntil > now { wait = max(wait, blockedUntil - now) }
            }
            if wait > 0 {
                // A refused attempt is an attempt too: the key stays among the most recently tried, so that a
                // guesser who keeps trying is the last to be forgotten.
                for key in rows.keys {
                    try db.execute(sql: "UPDATE sign_in_throttle SET last_at = ? WHERE key = ?", arguments: [now, key])
                }
                return .wait(seconds: wait)
            }
            for entry in keys {
                let previous = rows[entry.key]
                let forgotten = previous.map { now - $0.lastAt > entry.policy.window } ?? true
                let failures = (forgotten ? 0 : previous?.failures ?? 0) + 1
                let blockedUntil = now + entry.policy.delay(afterFailures: failures)
                try db.execute(
                    sql: """
                        INSERT INTO sign_in_throttle (key, failures, blocked_until, last_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                            blocked_until = excluded.blocked_until, last_at = excluded.last_at
                        """,
                    arguments: [entry.key, failures, blockedUntil, now]
                )
            }
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sign_in_throttle") ?? 0
            if count > maxEntries {
                try db.execute(
                    sql:
                        "DELETE FROM sign_in_throttle WHERE key IN (SELECT key FROM sign_in_throttle ORDER BY last_at LIMIT ?)",
                    arguments: [count - maxEntries]
                )
            }
            return .allowed
        }
    }

    /// Forgets the counted attempts of keys (after a successful sign-in).
    ///
    /// - Parameter keys: The keys.
    public func clearSignInAttempts(keys: [String]) async throws {
        try await writer.write { db in
            for key in keys {
                try db.execute(sql: "DELETE FROM sign_in_throttle WHERE key = ?", arguments: [key])
            }
        }
    }

    /// Keys the throttle remembers.
    ///
    /// - Returns: The count.
    public func signInThrottleCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sign_in_throttle") ?? 0 }
    }

    // MARK: Installation secrets

    /// A secret of this installation (e.g. the key that signs CSRF tokens), created randomly on first use and
    /// the same for every collector sharing the store.
    ///
    /// - Parameter name: The secret's name.
    /// - Returns: 32 random bytes.
    public func installationSecret(named name: String) async throws -> Data {
        try await writer.write { db in
            var generator = SystemRandomNumberGenerator()
            let fresh = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
            try db.execute(
                sql: "INSERT OR IGNORE INTO installation (name, value) VALUES (?, ?)",
                arguments: [name, fresh]
            )
            return try Data.fetchOne(db, sql: "SELECT value FROM installation WHERE name = ?", arguments: [name])
                ?? fresh
        }
    }
}
