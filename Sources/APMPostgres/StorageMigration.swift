public import APMSQLite
import APMStorage
import Foundation

/// `apm migrate-storage`: copies everything of a SQLite store (accounts, hashed keys and tokens, users, apps and
/// their T, minute and hour rows, traces, errors, deployments, process data, waiting OTLP spans) into an empty
/// PostgreSQL database, keeping every id, so that the API answers the same afterwards.
public enum StorageMigration {
    /// Rows per page read and written.
    public static let pageSize = 5_000

    /// Copies the store.
    ///
    /// - Parameters:
    ///   - source: The SQLite store (a snapshot of it: rows written meanwhile are not copied).
    ///   - target: The PostgreSQL store, running.
    ///   - replace: Delete what the target holds first; without it, a target holding data is refused.
    ///   - progress: Called after each page with the table, the rows copied of it and its total.
    /// - Returns: Rows copied.
    /// - Throws: ``StoreError`` when the target is not empty, or a store's error.
    public static func copy(
        from source: SQLiteStore,
        to target: PostgresStore,
        replace: Bool,
        progress: (_ table: String, _ copied: Int, _ total: Int) -> Void
    ) async throws -> Int {
        try await target.prepare()
        let contents = try await target.contents()
        if contents.accounts > 0 || contents.apps > 0 {
            guard replace else {
                throw StoreError(
                    .dataDirectoryNotEmpty,
                    "the database at \(target.configuration.redactedDescription) holds data (\(contents.accounts) accounts, \(contents.apps) apps): migrate-storage writes only into an empty database. Point --to at an empty one, or add --replace to delete what it holds first"
                )
            }
            try await target.deleteEverything()
        }
        var copied = 0
        for table in SQLiteStore.copiedTables {
            let total = try await source.rowCount(of: table)
            var done = 0
            var after: [StorageValue]?
            repeat {
                let page = try await source.rows(of: table, after: after, limit: pageSize)
                try await target.importRows(table, page)
                done += page.rows.count
                after = page.next
                progress(table, done, total)
            } while after != nil
            copied += done
        }
        try await target.finishImport()
        return copied
    }
}
