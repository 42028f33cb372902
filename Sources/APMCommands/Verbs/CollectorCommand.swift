import APMCollector
import APMCore
import APMStorage
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `apm collector`: runs the collector until SIGTERM or SIGINT.
struct CollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collector",
        abstract: "Run the collector: ingest from agents, store in SQLite (or PostgreSQL), serve the API.",
        discussion: HelpText.discussion(
            """
            Settings come from the [collector] section of --config, then APM_COLLECTOR_HOST, APM_COLLECTOR_PORT,
            APM_DATA_DIR, APM_RETENTION_DAYS, APM_STORAGE and APM_POSTGRES_URL, then these flags. The first start
            creates the data directory (or the tables), an account and a license key, and prints the key once.
            Several collectors may share one PostgreSQL database (docs/scale-out.md).

            Examples:
              apm collector
              apm collector --data-dir /var/lib/apm --port 7070
              apm collector --config collector.ini
              apm collector --postgres-url postgres://apm:secret@127.0.0.1:5432/apm
            """
        )
    )

    @Option(name: .long, help: "An INI file with a [collector] section.")
    var config: String?

    @Option(name: .long, help: "Where apm.sqlite lives (default ./apm-data).")
    var dataDir: String?

    @Option(name: .long, help: "Listen address (default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Listen port (default 7070; 0 picks a free port).")
    var port: Int?

    @Option(
        name: .long,
        help: "Store in this PostgreSQL database instead of SQLite (postgres://USER:PASSWORD@HOST:PORT/DB)."
    )
    var postgresURL: String?

    func loadConfiguration() throws -> CollectorConfiguration {
        do {
            var configuration = try CollectorConfiguration.load(
                file: config,
                environment: ProcessInfo.processInfo.environment
            )
            for (key, value) in [
                ("data_dir", dataDir), ("host", host), ("port", port.map(String.init)), ("postgres_url", postgresURL),
            ] {
                guard let value else { continue }
                if let problem = try configuration.apply(key: key, value: value) {
                    let shown = key == "postgres_url" ? "" : " \(value)"
                    throw ValidationError("--\(key.replacingOccurrences(of: "_", with: "-"))\(shown): \(problem)")
                }
            }
            try configuration.checkConsistency(file: config ?? "the command line")
            return configuration
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let configuration = try loadConfiguration()
        var logger = Logger(label: "apm.collector")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let store: any APMStore
        do {
            store = try CollectorStorage.open(configuration, logger: logger)
        } catch {
            printError("apm collector: cannot open the store \(configuration.storageDescription): \(error)")
            throw ExitCode(1)
        }
        let collector = Collector(configuration: configuration, logger: logger, store: store)
        // The store first: it starts before the collector's services and stops after them.
        let group = ServiceGroup(
            configuration: .init(
                services: ([store] + collector.services).map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        // The store is set up only once the port is ours: a second collector started by mistake on a busy port
        // must not create (and print) credentials.
        let refusal = RefusalBox()
        let startup = Task {
            for _ in 0..<1000 {
                if let port = collector.boundPort {
                    do {
                        if let credentials = try await collector.bootstrapIfNeeded() {
                            Self.printFirstStart(credentials)
                        }
                    } catch let error as StoreError {
                        refusal.message.withLock { $0 = error.message }
                        await group.triggerGracefulShutdown()
                        return
                    }
                    print(
                        "apm collector listening on http://\(configuration.server.host):\(port) (data: \(configuration.storageDescription))"
                    )
                    fflush(nil)
                    return
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        defer { startup.cancel() }
        let stopDeadline = Self.stopWithin(configuration.server.shutdownTimeout)
        defer { stopDeadline.cancel() }
        do {
            try await group.run()
        } catch {
            try? await collector.close()
            let text = "\(error)"
            if text.contains("Address already in use") || text.contains("EADDRINUSE") {
                printError(
                    "apm collector: cannot listen on \(configuration.server.host):\(configuration.server.port): the address is in use (another collector?). Stop it, or choose another port with --port or port in collector.ini"
                )
            } else {
                printError("apm collector: \(error)")
            }
            throw ExitCode(1)
        }
        _ = await startup.result
        try await collector.close()
        if let message = refusal.message.withLock({ $0 }) {
            printError("apm collector: refusing to start on \(configuration.storageDescription): \(message)")
            throw ExitCode(1)
        }
    }

    /// After SIGTERM or SIGINT, ends the process at `timeout` if the graceful stop has not: requests in progress
    /// end within `store_timeout`, but nothing that the store or a peer does may keep the collector past its
    /// deadline (a container runtime kills it soon after).
    static func stopWithin(_ timeout: Duration) -> Task<Void, Never> {
        Task {
            for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                printError(
                    "apm collector: still stopping \(timeout) after \(signal) (shutdown_timeout); exiting now"
                )
                Foundation.exit(1)
            }
        }
    }

    static func printFirstStart(_ credentials: Collector.FirstStartCredentials) {
        print(
            """
            First start: created account "\(credentials.account.name)", a license key and a dashboard administrator.
            They are shown only once (only their hashes are stored):

                license key: \(credentials.licenseKey)
                dashboard:   user \(credentials.adminUser), password \(credentials.adminPassword)
                API token:   \(credentials.apiToken)  (admin)

            The license key goes in agent.ini (license_key) or APM_LICENSE_KEY: it can only send data. The API token
            is for `apm report` and the JSON API (APM_API_TOKEN); create read-only ones on the dashboard's settings
            page or with `apm tokens create`. Lost them? `apm tokens create --scope admin --data-dir <data dir>`,
            then `apm keys create`, `apm users reset-password admin`.
            """
        )
    }
}
/// Why the collector refused to start, set by the startup task.
private final class RefusalBox: Sendable {
    let message = Mutex<String?>(nil)
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
