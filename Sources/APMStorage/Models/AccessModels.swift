/// What an API token may do.
public enum APITokenScope: String, Sendable, Hashable, CaseIterable {
    /// Read every figure of the account's apps (`GET /api/v1/...`).
    case read
    /// Read, and administer: users and passwords, license keys, API tokens, Apdex T, deployments, alerts.
    case admin
}

/// A dashboard session as stored: the cookie's token only as a hash.
public struct StoredSession: Sendable, Hashable {
    /// SHA-256 of the session token, hex.
    public var tokenHash: String
    /// The signed-in user.
    public var userID: Int64
    /// The user's login name.
    public var userName: String
    /// The user's account.
    public var accountID: Int64
    /// The session's CSRF token, put in every form.
    public var csrf: String
    /// When the session ends unless used (Unix seconds); each use moves it.
    public var expiresAt: Double
    /// The user's role, read with the session on every request: a change applies at once.
    public var role: UserRole

    /// Creates a session value.
    ///
    /// - Parameters:
    ///   - tokenHash: The token's hash.
    ///   - userID: The user.
    ///   - userName: The user's name.
    ///   - accountID: The account.
    ///   - csrf: The CSRF token.
    ///   - expiresAt: Expiry.
    ///   - role: The user's role.
    public init(
        tokenHash: String,
        userID: Int64,
        userName: String,
        accountID: Int64,
        csrf: String,
        expiresAt: Double,
        role: UserRole = .admin
    ) {
        self.tokenHash = tokenHash
        self.userID = userID
        self.userName = userName
        self.accountID = accountID
        self.csrf = csrf
        self.expiresAt = expiresAt
        self.role = role
    }
}

/// How sign-in attempts are throttled: the first `freeAttempts` failures of a key (a client address, a user
/// name) within `window` cost nothing; after them each attempt must wait a delay that doubles from
/// `initialDelay` up to `maxDelay`. Every attempt counts as a failure when it starts (so concurrent guesses are
/// all counted), and a success clears the key.
public struct SignInThrottlePolicy: Sendable, Hashable {
    /// Failures without delay.
    public var freeAttempts: Int
    /// The first delay after them, in seconds.
    public var initialDelay: Double
    /// The longest delay, in seconds.
    public var maxDelay: Double
    /// Failures older than this (seconds since the key's last attempt) are forgotten.
    public var window: Double

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - freeAttempts: Failures without delay.
    ///   - initialDelay: First delay (seconds).
    ///   - maxDelay: Longest delay (seconds).
    ///   - window: Forgetting time (seconds).
    public init(freeAttempts: Int, initialDelay: Double, maxDelay: Double, window: Double) {
        self.freeAttempts = freeAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.window = window
    }

    /// The delay after `failures` failures, `0` within the free attempts.
    ///
    /// - Parameter failures: Failures so far.
    /// - Returns: Seconds.
    public func delay(afterFailures failures: Int) -> Double {
        guard failures >= freeAttempts else { return 0 }
        let doublings = min(failures - freeAttempts, 40)
        return min(maxDelay, initialDelay * Double(1 << doublings))
    }
}

/// One key's throttle, with its policy.
public struct SignInThrottleKey: Sendable, Hashable {
    /// The key, e.g. `address:203.0.113.7` or `name:admin`.
    public var key: String
    /// Its policy.
    public var policy: SignInThrottlePolicy

    /// Creates a key.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - policy: Its policy.
    public init(key: String, policy: SignInThrottlePolicy) {
        self.key = key
        self.policy = policy
    }
}

/// Whether a sign-in attempt may go ahead.
public enum SignInThrottleVerdict: Sendable, Hashable {
    /// It may (and has been counted).
    case allowed
    /// It may not before this many seconds.
    case wait(seconds: Double)
}
