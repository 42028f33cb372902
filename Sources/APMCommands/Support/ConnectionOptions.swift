import APMAgent
import APMCore
import ArgumentParser
import Foundation

/// Where the collector is and which key to use: flags, then `APM_COLLECTOR_URL` / `APM_LICENSE_KEY`, then the
/// agent config file (`--config`, `APM_CONFIG_FILE`, or `./agent.ini` when it exists).
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The collector's URL (default: from the environment or agent.ini, else http://127.0.0.1:7070)."
    )
    var collectorURL: String?

    @Option(name: .long, help: "A license key of the account (default: APM_LICENSE_KEY or agent.ini).")
    var licenseKey: String?

    @Option(name: .long, help: "An agent config file to read collector_url and license_key from.")
    var config: String?

    func client() throws -> CollectorClient {
        let environment = ProcessInfo.processInfo.environment
        var fileConfiguration = AgentConfiguration()
        let path =
            config ?? environment["APM_CONFIG_FILE"]
            ?? (FileManager.default.fileExists(atPath: "agent.ini") ? "agent.ini" : nil)
        if let path {
            do {
                fileConfiguration = try AgentConfiguration.load(environment: ["APM_CONFIG_FILE": path]).configuration
            } catch {
                throw CommandFailure(message: "\(error)", exitCode: APMExit.configuration)
            }
        }
        let url = collectorURL ?? environment["APM_COLLECTOR_URL"] ?? fileConfiguration.collectorURL
        let key = licenseKey ?? environment["APM_LICENSE_KEY"] ?? fileConfiguration.licenseKey
        guard !key.isEmpty else {
            throw CommandFailure(
                message:
                    "no license key: pass --license-key, set APM_LICENSE_KEY, or run where agent.ini has license_key",
                exitCode: APMExit.configuration
            )
        }
        guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil
        else {
            throw CommandFailure(
                message: "invalid collector URL \(url): use http://host:port",
                exitCode: APMExit.configuration
            )
        }
        return CollectorClient(baseURL: url, licenseKey: key)
    }
}

/// Runs a verb's body, turning ``CommandFailure`` into its message on stderr and its exit code.
func runVerb(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as CommandFailure {
        printError("apm: \(failure.message)")
        throw failure.exitCode
    }
}
