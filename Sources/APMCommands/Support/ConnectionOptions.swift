import APMAgent
import APMCollector
import APMCore
import ArgumentParser
import Foundation

/// Where the collector is and which credential to use. Reading the API and administration need an API token
/// (`--api-token`, `APM_API_TOKEN`); a license key (`--license-key`, `APM_LICENSE_KEY`, or agent.ini) can only
/// send data and record deployments. The collector's URL: `--collector-url`, `APM_COLLECTOR_URL`, then the agent
/// config file (`--config`, `APM_CONFIG_FILE`, or `./agent.ini` when it exists).
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The collector's URL (default: from the environment or agent.ini, else http://127.0.0.1:7070)."
    )
    var collectorURL: String?

    @Option(
        name: .long,
        help: "An API token (default: APM_API_TOKEN); reading needs one, administration an admin one."
    )
    var apiToken: String?

    @Option(
        name: .long,
        help: "A license key of the account, used only without an API token (default: APM_LICENSE_KEY or agent.ini)."
    )
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
        let token = apiToken ?? environment["APM_API_TOKEN"] ?? ""
        let key = licenseKey ?? environment["APM_LICENSE_KEY"] ?? fileConfiguration.licenseKey
        let credential = token.isEmpty ? key : token
        guard !credential.isEmpty else {
            throw CommandFailure(
                message:
                    "no API token: pass --api-token or set APM_API_TOKEN (the first start of `apm collector` printed an admin token; create more on the dashboard's settings page or with `apm tokens create`)",
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
        return CollectorClient(baseURL: url, credential: credential)
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

/// The rule of every verb's `--since`: a number and a unit, as the API's `since` takes it.
enum SinceOption {
    /// Refuses a `--since` the API would refuse, naming the fix.
    ///
    /// - Parameter since: The option's value.
    /// - Throws: `ValidationError` (exit 2).
    static func validate(_ since: String) throws {
        guard TimeRange.seconds(parsing: since) != nil else {
            throw ValidationError("--since \(since): use a number and a unit, e.g. 30m, 24h, 7d")
        }
    }
}
