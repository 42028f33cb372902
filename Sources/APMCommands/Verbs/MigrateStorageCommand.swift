import APMPostgres
import APMSQLite
import APMStorage
import ArgumentParser
import Foundation
import Logging

/// `apm migrate-storage`: moves an installation from SQLite to PostgreSQL.
struct MigrateStorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-storage",
        abstract: "Copy a collector's SQLite data into an empty PostgreSQL database.",
        discussion: HelpText.discussion(
            """
            Copies everything (accounts, hashed license keys and API tokens, users, apps and their Apdex T, minute
            and hour rows, traces, errors, deployments, process data) from a consistent snapshot of the SQLite file,
            keeping every id. Rows the collector writes after the snapshot are not copied: stop it first (agents
            keep their batches and send them again to the new collectors). Refuses a database that holds data
            unless --replace.

            Example:
              apm migrate-storage --from apm-data/apm.sqlite --to postgres://apm@db/apm
            """
        )
    )

    @Option(name: .long, help: "The SQLite file (e.g. ./apm-data/apm.sqlite).")
    var from: String

    @Option(name: .long, help: "The PostgreSQL database (postgres://USER:PASSWORD@HOST:PORT/DB).")
    var to: String

    @Flag(name: .long, help: "Delete what the PostgreSQL database holds before copying.")
    var replace = false

    func run() async throws {
        guard FileManager.default.fileExists(atPath: from) else {
            throw CommandFailure(
                message: "no SQLite database at \(from) (the collector keeps it as apm.sqlite in its data directory)",
                exitCode: APMExit.configuration
            )
        }
        var configuration: PostgresStoreConfiguration
        do {
            configuration = try PostgresStoreConfiguration(url: to)
            // A copy's pages are large writes; the collector's request deadline is not theirs.
            configuration.operationTimeout = .seconds(300)
        } catch let error as StoreError {
            throw CommandFailure(message: "--to: \(error.message)", exitCode: APMExit.configuration)
        }
        let snapshot = FileManager.default.temporaryDirectory.appendingPathComponent(
            "apm-migrate-\(UUID().uuidString).sqlite"
        ).path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: snapshot + suffix) }
        }
        try SQLiteStore.backup(databaseAt: from, to: snapshot)
        let source = try SQLiteStore(path: snapshot)
        var logger = Logger(label: "apm.migrate-storage")
        logger.logLevel = .warning
        let target = PostgresStore(configuration: configuration, logger: logger)
        let started = ContinuousClock.now
        do {
            let copied = try await target.withRunning { target in
                try await StorageMigration.copy(from: source, to: target, replace: replace) { table, copied, total in
                    if copied == total || copied % 50_000 == 0 {
                        print("\(table): \(copied) of \(total) rows")
                    }
                }
            }
            try await source.close()
            let seconds = Double((ContinuousClock.now - started).components.seconds)
            print(
                "Copied \(copied) rows to \(configuration.redactedDescription) in \(Int(seconds)) s. Start the collectors with --postgres-url (or postgres_url in collector.ini)."
            )
        } catch let error as StoreError {
            try? await source.close()
            printError("apm migrate-storage: \(error.message)")
            throw APMExit.failure
        }
    }
}
