import APMCore
import Foundation
import GRDB
import Testing

@testable import APMSQLite
@testable import APMStorage

/// A word search gives the same lines however the store narrows it: SQLite asks its full-text index only for the
/// ids of the range's lines unless the range holds too many lines, and ids follow the order lines were stored in,
/// not their time (a late batch). Both backends, and SQLite with and without the bounds.
@Suite struct LogSearchBoundsTests {
    @Test(arguments: StoreBackend.available)
    func aWordSearchFindsLinesStoredOutOfTimeOrder(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let account = try await store.createAccount(name: "bounds")
            let now = Double(Int64(Date().timeIntervalSince1970))
            let base = (Int64(now) - 3_600) * 1_000_000_000
            func at(_ second: Int64) -> Int64 { base + second * 1_000_000_000 }
            func commit(_ lines: [(second: Int64, message: String)]) async throws {
                let batch = AgentBatch(
                    batchID: UUID().uuidString,
                    agent: AgentIdentity(appName: "shop", host: "h", pid: 1, agentVersion: "test"),
                    createdAt: now,
                    apdexT: 0.5,
                    logs: lines.map { LogRecord(timeUnixNano: at($0.second), level: .info, message: $0.message) }
                )
                _ = try await store.commit(
                    [IngestItem(accountID: account.id, batch: batch, receivedAt: now)],
                    limits: CardinalityLimits()
                )
            }
            // The first batch: seconds 100 to 109, every other line with the word.
            try await commit((100..<110).map { ($0, $0 % 2 == 0 ? "order \($0) alpha shipped" : "order \($0) sent") })
            // A late batch (higher ids): one line inside the range, one before it, one after it.
            try await commit([(105, "late alpha"), (10, "early alpha"), (500, "after alpha")])
            let app = try #require(try await store.apps(accountID: account.id).first)
            let inRange = LogFilter(range: at(100)..<at(110), text: "alpha")
            let expected =
                ["order 108 alpha shipped", "order 106 alpha shipped", "late alpha"]
                + ["order 104 alpha shipped", "order 102 alpha shipped", "order 100 alpha shipped"]

            func check(_ label: String) async throws {
                let found = try await store.logs(appID: app.id, filter: inRange, after: nil, limit: 100)
                #expect(found.map(\.message) == expected, "\(label)")
                let histogram = try await store.logHistogram(appID: app.id, filter: inRange, bucketSeconds: 3_600)
                #expect(histogram.reduce(0) { $0 + $1.count } == 6, "\(label)")
                let empty = LogFilter(range: at(200)..<at(300), text: "alpha")
                #expect(try await store.logs(appID: app.id, filter: empty, after: nil, limit: 100).isEmpty, "\(label)")
                let everything = LogFilter(range: at(0)..<at(1_000), text: "alpha")
                #expect(try await store.logs(appID: app.id, filter: everything, after: nil, limit: 100).count == 8)
            }
            try await check("\(backend)")
            if let sqlite = store as? SQLiteStore {
                // The per-minute counts say the range is too wide to bound: the search runs without bounds.
                try await sqlite.writer.write { db in
                    try db.execute(
                        sql: "UPDATE log_counts SET count = ?",
                        arguments: [SQLiteStore.boundedSearchLines + 1]
                    )
                }
                try await check("SQLite without bounds")
            }
        }
    }
}
