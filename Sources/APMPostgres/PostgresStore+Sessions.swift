public import APMStorage
public import Foundation
import NIOCore
import PostgresNIO
import Synchronization

extension PostgresStore {
    // MARK: Sessions

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createSession(_ session: StoredSession, maxSessions: Int, now: Double) async throws {
        try await transaction { [self] connection in
            try await connection.execute("LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE", self.logger)
            try await connection.execute("DELETE FROM sessions WHERE expires_at <= \(now)", self.logger)
            let count =
                try await connection.rows("SELECT count(*) AS n FROM sessions", self.logger).first?.get(
                    "n",
                    as: Int64.self
                ) ?? 0
            if count >= maxSessions {
                // Sliding expiry: the earliest to expire is the least recently used.
                try await connection.execute(
                    """
                    DELETE FROM sessions WHERE token_hash IN (
                        SELECT token_hash FROM sessions ORDER BY expires_at LIMIT \(count - Int64(maxSessions) + 1))
                    """,
                    self.logger
                )
            }
            try await connection.execute(
                """
                INSERT INTO sessions (token_hash, user_id, user_name, account_id, csrf, expires_at)
                VALUES (\(session.tokenHash), \(session.userID), \(session.userName), \(session.accountID), \(session.csrf),
                    \(session.expiresAt))
                """,
                self.logger
            )
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func session(tokenHash: String, now: Double, lifetime: Double) async throws -> StoredSession? {
        guard
            // The user's role with it: a change of role applies to live sessions at once; a session whose user
            // is gone finds no row.
            var session = try await rows(
                """
                SELECT sessions.*, users.role FROM sessions JOIN users ON users.id = sessions.user_id
                WHERE token_hash = \(tokenHash)
                """
            ).first.map(Self.session)
        else { return nil }
        guard session.expiresAt > now else {
            try await deleteSession(tokenHash: tokenHash)
            return nil
        }
        if now + lifetime - session.expiresAt > 300 {
            session.expiresAt = now + lifetime
            try await execute("UPDATE sessions SET expires_at = \(session.expiresAt) WHERE token_hash = \(tokenHash)")
        }
        return session
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func deleteSession(tokenHash: String) async throws {
        try await execute("DELETE FROM sessions WHERE token_hash = \(tokenHash)")
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func sessionCount() async throws -> Int {
        Int(try await rows("SELECT count(*) AS n FROM sessions").first?.get("n", as: Int64.self) ?? 0)
    }

    static func session(_ row: PostgresRandomAccessRow) throws -> StoredSession {
        try StoredSession(row: PostgresStoredRow(row))
    }

    // MARK: Sign-in throttle

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func reserveSignInAttempt(
        keys: [SignInThrottleKey],
        now: Double,
        maxEntries: Int
    ) async throws -> SignInThrottleVerdict {
        try await transaction { [self] connection -> SignInThrottleVerdict in
            // Attempts on several collectors at once are counted one after the other.
            try await connection.execute("LOCK TABLE sign_in_throttle IN SHARE ROW EXCLUSIVE MODE", self.logger)
            var rows: [String: (failures: Int, blockedUntil: Double, lastAt: Double)] = [:]
            var wait = 0.0
            for entry in keys {
                guard
                    let row = try await connection.rows(
                        "SELECT failures, blocked_until, last_at FROM sign_in_throttle WHERE key = \(entry.key)",
                        self.logger
                    ).first
                else { continue }
                let blockedUntil = try row.get("blocked_until", as: Double.self)
                rows[entry.key] = (
                    Int(try row.get("failures", as: Int64.self)), blockedUntil, try row.get("last_at", as: Double.self)
                )
                if blockedUntil > now { wait = max(wait, blockedUntil - now) }
            }
            if wait > 0 {
                // A refused attempt is an attempt too: the key stays among the most recently tried.
                for key in rows.keys {
                    try await connection.execute(
                        "UPDATE sign_in_throttle SET last_at = \(now) WHERE key = \(key)",
                        self.logger
                    )
                }
                return .wait(seconds: wait)
            }
            for entry in keys {
                let previous = rows[entry.key]
                let forgotten = previous.map { now - $0.lastAt > entry.policy.window } ?? true
                let failures = (forgotten ? 0 : previous?.failures ?? 0) + 1
                let blockedUntil = now + entry.policy.delay(afterFailures: failures)
                try await connection.execute(
                    """
                    INSERT INTO sign_in_throttle (key, failures, blocked_until, last_at)
                    VALUES (\(entry.key), \(Int64(failures)), \(blockedUntil), \(now))
                    ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                        blocked_until = excluded.blocked_until, last_at = excluded.last_at
                    """,
                    self.logger
                )
            }
            let count =
                try await connection.rows("SELECT count(*) AS n FROM sign_in_throttle", self.logger).first?
                .get("n", as: Int64.self) ?? 0
            if count > maxEntries {
                try await connection.execute(
                    """
                    DELETE FROM sign_in_throttle WHERE key IN (
                        SELECT key FROM sign_in_throttle ORDER BY last_at LIMIT \(count - Int64(maxEntries)))
                    """,
                    self.logger
                )
            }
            return .allowed
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func clearSignInAttempts(keys: [String]) async throws {
        try await execute("DELETE FROM sign_in_throttle WHERE key = ANY(\(keys)::text[])")
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func signInThrottleCount() async throws -> Int {
        Int(try await rows("SELECT count(*) AS n FROM sign_in_throttle").first?.get("n", as: Int64.self) ?? 0)
    }

    // MARK: Installation secrets

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func installationSecret(named name: String) async throws -> Data {
        var generator = SystemRandomNumberGenerator()
        let fresh = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try await execute(
            "INSERT INTO installation (name, value) VALUES (\(name), \(ByteBuffer(bytes: fresh))) ON CONFLICT DO NOTHING"
        )
        guard let row = try await rows("SELECT value FROM installation WHERE name = \(name)").first else {
            return fresh
        }
        return Data(bytesOf: try row.get("value", as: ByteBuffer.self))
    }
}
