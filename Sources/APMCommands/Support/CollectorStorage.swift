import APMCollector
import APMPostgres
import APMSQLite
import APMStorage
import Foundation
import Logging

/// Builds the store the configuration names: SQLite in the data directory, or PostgreSQL.
enum CollectorStorage {
    /// Opens (SQLite) or prepares (PostgreSQL: it connects when run as a service) the store.
    ///
    /// - Throws: ``StoreError`` or the file system's error, with what to fix.
    static func open(_ configuration: CollectorConfiguration, logger: Logger) throws -> any APMStore {
        switch configuration.storage.effectiveBackend {
        case .sqlite:
            // Readable by the collector's user only (key and password hashes, every app's data).
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            return try SQLiteStore(path: configuration.databasePath)
        case .postgresql:
            guard let url = configuration.storage.postgresURL else {
                throw StoreError(.configuration, "storage = postgresql needs postgres_url")
            }
            var postgres = try PostgresStoreConfiguration(url: url, poolSize: configuration.storage.postgresPoolSize)
            postgres.operationTimeout = configuration.storage.timeout
            return PostgresStore(configuration: postgres, logger: logger)
        }
    }
}
