import Foundation
import Synchronization

/// Dashboard sessions in memory (a restart logs everyone out) and the login rate limit.
final class DashboardSessions: Sendable {
    struct Session: Sendable {
        var userName: String
        var accountID: Int64
        var csrf: String
        var expires: Date
    }

    static let lifetime: TimeInterval = 12 * 3600
    static let maxFailures = 5
    static let failureWindow: TimeInterval = 300
    /// Live sessions kept by default; past it, signing in ends the least recently used one.
    static let defaultMaxSessions = 10_000
    let maxSessions: Int

    init(maxSessions: Int = DashboardSessions.defaultMaxSessions) {
        self.maxSessions = maxSessions
    }

    private let sessions = Mutex<[String: Session]>([:])
    private let failures = Mutex<[String: [Date]]>([:])

    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    func create(userName: String, accountID: Int64) -> (token: String, session: Session) {
        let token = Self.token()
        let session = Session(
            userName: userName,
            accountID: accountID,
            csrf: Self.token(),
            expires: Date().addingTimeInterval(Self.lifetime)
        )
        sessions.withLock { sessions in
            let now = Date()
            if sessions.count >= maxSessions { sessions = sessions.filter { $0.value.expires > now } }
            // Still full of live sessions: the one least recently used goes, so memory stays bounded.
            if sessions.count >= maxSessions,
                let oldest = sessions.min(by: { $0.value.expires < $1.value.expires })
            {
                sessions[oldest.key] = nil
            }
            sessions[token] = session
        }
        return (token, session)
    }

    func session(for token: String?) -> Session? {
        guard let token else { return nil }
        return sessions.withLock { sessions in
            guard var session = sessions[token] else { return nil }
            guard session.expires > Date() else {
                sessions[token] = nil
                return nil
            }
            session.expires = Date().addingTimeInterval(Self.lifetime)
            sessions[token] = session
            return session
        }
    }

    /// Live sessions held.
    var count: Int { sessions.withLock { $0.count } }

    func end(_ token: String?) {
        guard let token else { return }
        sessions.withLock { _ = $0.removeValue(forKey: token) }
    }

    /// Whether another attempt for this user name is allowed now.
    func mayAttempt(_ name: String) -> Bool {
        failures.withLock { failures in
            let recent = (failures[name] ?? []).filter { $0 > Date().addingTimeInterval(-Self.failureWindow) }
            failures[name] = recent
            return recent.count < Self.maxFailures
        }
    }

    func recordFailure(_ name: String) {
        failures.withLock { failures in
            if failures.count > 10_000 { failures.removeAll() }
            failures[name, default: []].append(Date())
        }
    }

    func clearFailures(_ name: String) {
        failures.withLock { _ = $0.removeValue(forKey: name) }
    }
}
