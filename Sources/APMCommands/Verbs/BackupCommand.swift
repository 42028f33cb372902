import APMCollector
import APMSQLite
import APMStorage
import ArgumentParser
import Foundation

/// `apm backup`: a consistent copy of the collector's SQLite database, taken while it runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the collector's SQLite database, consistently, while it runs.",
        discussion: HelpText.discussion(
            """
            Uses SQLite's online backup, so the copy includes what is still in the write-ahead log (apm.sqlite-wal):
            copying apm.sqlite alone while the collector runs can miss recent data. The copy is a complete
            database file, readable by the collector's user only. To restore: stop the collector, put the copy at
            <data-dir>/apm.sqlite (with no apm.sqlite-wal or apm.sqlite-shm beside it), start the collector.

            Examples:
              apm backup backup-2026-11-28.sqlite
              apm backup --data-dir /var/lib/apm /backups/apm.sqlite
            """
        )
    )

    @Option(name: .long, help: "The collector's data directory (default ./apm-data, or APM_DATA_DIR).")
    var dataDir: String?

    @Argument(help: "The copy's path; it must not exist.")
    var destination: String

    func run() async throws {
        let directory = dataDir ?? ProcessInfo.processInfo.environment["APM_DATA_DIR"] ?? "apm-data"
        let source = (directory as NSString).appendingPathComponent("apm.sqlite")
        do {
            try SQLiteStore.backup(databaseAt: source, to: destination)
        } catch {
            printError("apm backup: \(error)")
            throw ExitCode(1)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? NSNumber)?.intValue ?? 0
        print("apm backup: copied \(source) to \(destination) (\(size / 1024) KiB)")
    }
}
