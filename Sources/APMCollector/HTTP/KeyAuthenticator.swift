import APMStorage
import HTTPTypes
import Synchronization

/// Authenticates license keys against their stored hashes, with a short cache so that ingest does not read
/// the keys table on every request. A revoked key stops working within ``cacheLifetime`` (at once on this
/// collector, which clears its cache when it revokes).
final class KeyAuthenticator: Sendable {
    static let cacheLifetime: Duration = .seconds(10)

    private let store: any APMStore
    private let cache = Mutex<[String: (record: LicenseKeyRecord?, expires: ContinuousClock.Instant)]>([:])

    init(store: any APMStore) {
        self.store = store
    }

    func authenticate(_ key: String?) async throws -> LicenseKeyRecord {
        guard let key, !key.isEmpty else {
            throw APIError(
                .unauthorized,
                code: "missing_key",
                message: "send the license key in the X-APM-License-Key header (or Authorization: Bearer <key>)"
            )
        }
        let hash = LicenseKeyGenerator.hash(key)
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[hash] }), cached.expires > now {
            guard let record = cached.record else { throw Self.rejected }
            return record
        }
        let record = try await store.activeLicenseKey(hash: hash)
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[hash] = (record, now + Self.cacheLifetime)
        }
        guard let record else { throw Self.rejected }
        return record
    }

    func invalidate() {
        cache.withLock { $0.removeAll() }
    }

    static let rejected = APIError(
        .unauthorized,
        code: "invalid_key",
        message:
            "the license key is unknown or revoked; check license_key / APM_LICENSE_KEY, or create one with `apm keys create`"
    )
}
