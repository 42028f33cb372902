import APMStorage
import Crypto
import Foundation

/// Sign-in's defences, kept in the store so that every collector applies them together:
///
/// - throttling of the **guesser**: per client address, 5 free failures in 15 minutes, then a delay doubling from
///   1 s to 5 minutes; per user name (compared case-insensitively), 20 free failures, then a delay doubling from
///   1 s to at most 10 s, so that guesses spread over many addresses are slowed without locking the real user out;
///   every attempt is counted when it starts, so concurrent guesses cannot slip past the count;
/// - the same work for an unknown name as for a known one (a password hash checked either way), so timing does
///   not tell which names exist;
/// - a login form CSRF token bound to a secret of the installation: `nonce.HMAC(secret, nonce)`, in the form and
///   in a cookie, so that a cookie planted by another site does not make any value acceptable.
struct SignInGuard: Sendable {
    static let addressPolicy = SignInThrottlePolicy(freeAttempts: 5, initialDelay: 1, maxDelay: 300, window: 900)
    static let namePolicy = SignInThrottlePolicy(freeAttempts: 20, initialDelay: 1, maxDelay: 10, window: 900)
    /// Addresses and names remembered; past it, those least recently tried are forgotten first.
    static let maxEntries = 100_000

    let store: any SessionStore
    let now: @Sendable () -> Double

    static func keys(name: String, address: String) -> [SignInThrottleKey] {
        [
            SignInThrottleKey(key: "address:\(address)", policy: addressPolicy),
            SignInThrottleKey(key: "name:\(name.lowercased())", policy: namePolicy),
        ]
    }

    /// Counts an attempt before it is checked, or says how long to wait.
    func reserve(name: String, address: String) async throws -> SignInThrottleVerdict {
        try await store.reserveSignInAttempt(
            keys: Self.keys(name: name, address: address),
            now: now(),
            maxEntries: Self.maxEntries
        )
    }

    /// Forgets the attempts of a successful sign-in.
    func succeeded(name: String, address: String) async throws {
        try await store.clearSignInAttempts(keys: Self.keys(name: name, address: address).map(\.key))
    }

    // MARK: CSRF of the login form

    func loginToken() async throws -> String {
        let nonce = DashboardSessions.token()
        return nonce + "." + (try await signature(nonce))
    }

    func isValidLoginToken(_ token: String?) async throws -> Bool {
        guard let token, let dot = token.firstIndex(of: ".") else { return false }
        let nonce = String(token[..<dot])
        let signature = String(token[token.index(after: dot)...])
        guard nonce.utf8.count == 64 else { return false }
        let expected = try await self.signature(nonce)
        // Compared without an early exit.
        return expected.utf8.count == signature.utf8.count
            && zip(expected.utf8, signature.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func signature(_ nonce: String) async throws -> String {
        let secret = SymmetricKey(data: try await store.installationSecret(named: "login-csrf"))
        return HMAC<SHA256>.authenticationCode(for: Data(nonce.utf8), using: secret)
            .map { String(format: "%02x", $0) }.joined()
    }
}
