import APMCore
import APMPostgres
import Foundation
import GRDB
import Testing

@testable import APMSQLite
@testable import APMStorage

/// Integer sums in the store saturate instead of overflowing into REAL (which SQLite's `+` does and which an
/// integer read cannot take: before, such a row crashed every later read of the apps list).
@Suite struct SaturatingSumTests {
    typealias Support = CollectorTestSupport

    @Test func sumsPastInt64MaxSaturateAndStayIntegers() async throws {
        let store = try SQLiteStore()
        let account = try await store.createAccount(name: "a")
        let minute = Support.currentMinute()
        let item = IngestItem(
            accountID: account.id,
            batch: Support.batch(minute: minute, metrics: [Support.metric("GET /a", durations: [0.1])]),
            receivedAt: Double(minute + 1)
        )
        _ = try await store.commit([item], limits: CardinalityLimits())
        try await store.writer.write { db in
            try db.execute(sql: "UPDATE txn_minutes SET count = 9223372036854775000, satisfied = 9223372036854775000")
            try db.execute(sql: "UPDATE app_minutes SET count = 9223372036854775000, satisfied = 9223372036854775000")
        }
        let again = IngestItem(
            accountID: account.id,
            batch: Support.batch(
                minute: minute,
                metrics: [Support.metric("GET /a", durations: Array(repeating: 0.1, count: 1000))]
            ),
            receivedAt: Double(minute + 2)
        )
        _ = try await store.commit([again], limits: CardinalityLimits())
        let types = try await store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT typeof(count) || typeof(satisfied) FROM txn_minutes")
                + String.fetchAll(db, sql: "SELECT typeof(count) FROM app_minutes")
        }
        #expect(types.allSatisfy { !$0.contains("real") }, "\(types)")
        let app = try #require(try await store.apps(accountID: account.id).first)
        let slices = try await store.appSlices(
            appID: app.id,
            kind: .web,
            range: (minute - 60)..<(minute + 60),
            resolution: .minute
        )
        #expect(slices.first?.count == UInt64(Int64.max))
        // Summing two saturated rows in a query saturates too.
        let totals = try await store.transactionTotals(
            appID: app.id,
            range: (minute - 7200)..<(minute + 7200),
            resolution: .minute,
            withHistograms: false
        )
        #expect(totals.first?.count == UInt64(Int64.max))
    }

    /// PostgreSQL's counts saturate through one function, `sat_add`, created by a migration.
    @Test(.enabled(if: StoreBackend.available.contains(.postgresql)))
    func postgresSatAddSaturatesAtInt64Max() async throws {
        do {
            try await StoreBackend.withPostgresDatabase { database in
                try await StoreBackend.postgresStore(database).withRunning { store in
                    try await store.prepare()
                    let saturated = try await StoreBackend.query(database, "SELECT sat_add(9223372036854775000, 1000)")
                    #expect(saturated == [.max])
                    #expect(try await StoreBackend.query(database, "SELECT sat_add(2, 3)") == [5])
                }
            }
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
    }

    @Test func saturatingAdditionAndClampingOfReals() {
        #expect(SaturatingFunctions.saturatingSum(.max, 1) == .max)
        #expect(SaturatingFunctions.saturatingSum(.min, -1) == .min)
        #expect(SaturatingFunctions.saturatingSum(40, 2) == 42)
        #expect(SaturatingFunctions.integer(9.3e18.databaseValue) == .max)
        #expect(SaturatingFunctions.integer((-1e300).databaseValue) == .min)
        #expect(SaturatingFunctions.integer(Double.nan.databaseValue) == 0)
    }
}
