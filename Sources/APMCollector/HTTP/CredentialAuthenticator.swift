import APMStorage
import HTTPTypes
import Synchronization

/// Authenticates license keys and API tokens against their stored hashes, with a short cache so that ingest
/// does not read the keys table on every request. A revoked credential stops working within ``cacheLifetime``
/// on every collector (at once on the one that revoked it, which clears its cache).
final class CredentialAuthenticator: Sendable {
    static let cacheLifetime: Duration = .seconds(10)
    static let maxCached = 10_000

    private let store: any CredentialStore
    private let cache = Mutex<[String: (identity: Identity?, expires: ContinuousClock.Instant)]>([:])

    init(store: any CredentialStore) {
        self.store = store
    }

    /// The identity of a presented license key (`apm_…`) or API token (`apt_…`).
    ///
    /// - Parameter credential: What the request presented.
    /// - Returns: The identity.
    /// - Throws: 401 when the credential is unknown or revoked.
    func identity(for credential: String) async throws -> Identity {
        let kind = CredentialKind(presented: credential)
        let hash = CredentialGenerator.hash(credential)
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[hash] }), cached.expires > now {
            guard let identity = cached.identity else { throw Self.rejected(kind) }
            return identity
        }
        let identity = try await store.activeCredential(kind, hash: hash).map { Identity(credential: .stored($0)) }
        cache.withLock { cache in
            // Bounded: the entries that expire first go first (not all at once).
            if cache.count >= Self.maxCached {
                let stale = cache.filter { $0.value.expires <= now }.map(\.key)
                for key in stale { cache[key] = nil }
                if cache.count >= Self.maxCached, let oldest = cache.min(by: { $0.value.expires < $1.value.expires }) {
                    cache[oldest.key] = nil
                }
            }
            cache[hash] = (identity, now + Self.cacheLifetime)
        }
        guard let identity else { throw Self.rejected(kind) }
        return identity
    }

    func invalidate() {
        cache.withLock { $0.removeAll() }
    }

    static func rejected(_ kind: CredentialKind) -> APIError {
        kind == .apiToken
            ? APIError(
                .unauthorized,
                code: "invalid_token",
                message:
                    "the API token is unknown or revoked; create one on the dashboard's settings page or with `apm tokens create`"
            )
            : APIError(
                .unauthorized,
                code: "invalid_key",
                message:
                    "the license key is unknown or revoked; check license_key / APM_LICENSE_KEY, or create one with `apm keys create`"
            )
    }
}
