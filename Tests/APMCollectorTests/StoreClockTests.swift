import APMCore
import APMStorage
import Foundation
import Testing

/// A store records the time its caller gives it, not its own reading of the wall clock: accounts, keys, tokens
/// and users are created, revoked and changed at the caller's `now`, on both backends.
@Suite struct StoreClockTests {
    @Test(arguments: StoreBackend.available)
    func credentialsAndUsersCarryTheCallersTime(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let (created, revoked, changed) = (1_700_000_000.0, 1_700_000_100.0, 1_700_000_200.0)
            let account = try await store.createAccount(name: "clock", now: created)
            #expect(account.createdAt == created)

            let key = try await store.createLicenseKey(
                accountID: account.id,
                name: "k",
                keyHash: String(repeating: "a", count: 64),
                prefix: "apm_aaaa",
                now: created
            )
            #expect(key.createdAt == created)
            #expect(try await store.revokeLicenseKey(accountID: account.id, id: key.id, now: revoked))
            #expect(try await store.licenseKeys(accountID: account.id).first?.revokedAt == revoked)

            let token = try await store.createAPIToken(
                accountID: account.id,
                name: "t",
                scope: .read,
                tokenHash: String(repeating: "b", count: 64),
                prefix: "apt_bbbb",
                now: created
            )
            #expect(token.createdAt == created)
            #expect(try await store.revokeAPIToken(accountID: account.id, id: token.id, now: revoked))
            #expect(try await store.apiTokens(accountID: account.id).first?.revokedAt == revoked)

            let user = try await store.createUser(
                accountID: account.id,
                name: "clock-user",
                passwordHash: "hash",
                role: .viewer,
                now: created
            )
            #expect(user.createdAt == created && user.passwordChangedAt == created)
            try await store.setPassword(userID: user.id, passwordHash: "other", now: changed)
            #expect(try await store.user(named: "clock-user")?.passwordChangedAt == changed)
        }
    }
}
