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

            for kind in CredentialKind.allCases {
                let credential = try await store.createCredential(
                    kind,
                    scope: kind == .apiToken ? .admin : nil,
                    accountID: account.id,
                    name: "c",
                    hash: String(repeating: kind == .licenseKey ? "a" : "b", count: 64),
                    prefix: kind.prefix + "aaaa",
                    now: created
                )
                #expect(credential.createdAt == created && credential.kind == kind)
                #expect(credential.scope == (kind == .apiToken ? .admin : nil))
                #expect(try await store.credentials(kind, accountID: account.id) == [credential])
                #expect(
                    try await store.activeCredential(
                        kind,
                        hash: String(repeating: kind == .licenseKey ? "a" : "b", count: 64)
                    ) == credential
                )
                #expect(try await store.revokeCredential(kind, accountID: account.id, id: credential.id, now: revoked))
                #expect(try await store.credentials(kind, accountID: account.id).first?.revokedAt == revoked)
                #expect(
                    try await store.activeCredential(
                        kind,
                        hash: String(repeating: kind == .licenseKey ? "a" : "b", count: 64)
                    ) == nil
                )
            }

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
