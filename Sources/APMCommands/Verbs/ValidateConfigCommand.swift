import APMAgent
import APMCore
import ArgumentParser
import Foundation

/// `apm validate-config [FILE]`: lists every problem of an agent config, then checks the collector.
struct ValidateConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate-config",
        abstract: "Check an agent config file, then whether the collector is reachable and accepts the key.",
        discussion: HelpText.discussion(
            """
            Lists every problem as file:line with the fix, and the environment variables that override the file.
            Unless --offline, it then asks the collector whether it is reachable and accepts the key, and prints
            the app's Apdex T.

            Examples:
              apm validate-config
              apm validate-config /etc/myapp/agent.ini --environment staging
              apm validate-config agent.ini --offline

            Exit codes: 0 all is well; 2 the file has problems; 3 the collector cannot be reached;
            4 the collector rejects the key.
            """
        )
    )

    @Argument(help: "The agent config file.")
    var file: String = "agent.ini"

    @Option(help: "Check the [agent:<environment>] section of this environment.")
    var environment: String?

    @Flag(help: "Only check the file; do not contact the collector.")
    var offline = false

    func run() async throws {
        var environmentVariables = ProcessInfo.processInfo.environment
        environmentVariables["APM_CONFIG_FILE"] = file
        if let environment { environmentVariables["APM_ENVIRONMENT"] = environment }
        guard FileManager.default.fileExists(atPath: file) else {
            printError(
                "apm validate-config: \(file) does not exist; write one with `apm generate-config <license-key> \(file)`"
            )
            throw APMExit.configuration
        }
        let check: AgentConfiguration.Check
        do {
            check = try AgentConfiguration.check(environment: environmentVariables)
        } catch let error as ConfigurationError {
            printError("apm validate-config: cannot read \(file): \(error.message)")
            throw APMExit.configuration
        }
        for warning in check.warnings { print("warning: \(warning)") }
        if let environment, let text = try? String(contentsOfFile: file, encoding: .utf8) {
            let sections = INIDocument.parseAll(text, path: file).0.sections.map(\.name)
            if !sections.contains("agent:\(environment)") {
                let others = sections.filter { $0.hasPrefix("agent:") }.map { "[\($0)]" }
                print(
                    "warning: \(file) has no [agent:\(environment)] section, so only [agent] applies for --environment \(environment)\(others.isEmpty ? "" : " (it has \(others.joined(separator: ", ")))")"
                )
            }
        }
        for problem in check.problems.sorted(by: { ($0.file, $0.line) < ($1.file, $1.line) }) {
            print("error: \(problem)")
        }
        let overridden = AgentConfiguration.environmentVariables.filter { environmentVariables[$0.variable] != nil }
        for (variable, key) in overridden { print("note: \(variable) overrides \(key) from the file") }
        guard check.problems.isEmpty else {
            print("\(file): \(check.problems.count) problem(s); the agent would stay off")
            throw APMExit.configuration
        }
        let configuration = check.configuration
        if !configuration.isActive {
            print(
                "\(file): valid, but the agent is off (\(configuration.enabled ? "no license_key" : "enabled = false"))"
            )
        } else {
            print("\(file): valid; app \"\(configuration.appName)\" reports to \(configuration.collectorURL)")
        }
        guard !offline else { return }
        guard !configuration.licenseKey.isEmpty else {
            print("collector: not checked (no license key)")
            return
        }
        let client = CollectorClient(baseURL: configuration.collectorURL, credential: configuration.licenseKey)
        guard await client.isReachable() else {
            print("collector: cannot reach \(configuration.collectorURL); is `apm collector` running?")
            throw APMExit.collectorUnreachable
        }
        print("collector: reachable at \(configuration.collectorURL)")
        do {
            // What an agent asks at start: checks the key (an ingest key may ask only this) and gives the app's T.
            let settings = try await client.get(
                AgentSettingsLite.self,
                "/v1/agent/settings?app=\(CollectorClient.encodeQuery(configuration.appName))"
            )
            print("collector: license key accepted")
            if settings.known {
                print("app \"\(settings.app)\": Apdex T = \(settings.apdexT) s (set at the collector)")
            } else {
                print(
                    "app \"\(configuration.appName)\": not seen yet; it appears on its first report with Apdex T = \(settings.apdexT) s"
                )
            }
        } catch let failure as CommandFailure {
            print("collector: \(failure.message)")
            throw failure.exitCode
        }
    }
}

/// The answer of `GET /v1/agent/settings` that the CLI reads.
struct AgentSettingsLite: Decodable {
    var app: String
    var known: Bool
    var apdexT: Double

    enum CodingKeys: String, CodingKey {
        case app, known
        case apdexT = "apdex_t"
    }
}

/// The part of an app summary the CLI needs.
struct APIAppSummaryLite: Decodable {
    struct Summary: Decodable {
        struct Apdex: Decodable { var t: Double }
        var apdex: Apdex
    }
    var id: Int64
    var name: String
    var summary: Summary
}
