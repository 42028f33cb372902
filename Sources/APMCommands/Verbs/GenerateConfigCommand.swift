import APMAgent
import APMCore
import ArgumentParser
import Foundation

/// `apm generate-config KEY [FILE]`: writes the fully commented agent config with the key filled in.
struct GenerateConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-config",
        abstract: "Write a fully commented agent config file with your license key.",
        discussion: HelpText.discussion(
            """
            Every key is documented in the file with its default. The file is not overwritten unless --force is given.

            Examples:
              apm generate-config apm_0123456789abcdef0123456789abcdef01234567
              apm generate-config $APM_LICENSE_KEY agent.ini --app-name "Shop"
              apm generate-config $APM_LICENSE_KEY --collector-url http://apm.internal:7070
              apm generate-config $APM_LICENSE_KEY /etc/myapp/agent.ini --force

            Exit codes: 0 written; 1 the file exists (use --force) or cannot be written; 2 the key, the app name or
            the URL is malformed (nothing is written).
            """
        )
    )

    @Argument(help: "The license key printed by `apm collector` or `apm keys create`.")
    var licenseKey: String

    @Argument(help: "Where to write the file.")
    var file: String = "agent.ini"

    @Option(help: "The name the app is shown under (app_name; default: My Application).")
    var appName: String?

    @Option(help: "Where the collector listens (collector_url; default: http://127.0.0.1:7070).")
    var collectorURL: String?

    @Flag(help: "Overwrite the file if it exists.")
    var force = false

    func run() async throws {
        guard LicenseKeyFormat.isWellFormed(licenseKey) else {
            printError("apm generate-config: the license key \(LicenseKeyFormat.requirement)")
            throw APMExit.configuration
        }
        if FileManager.default.fileExists(atPath: file) && !force {
            printError("apm generate-config: \(file) exists; pass --force to overwrite it")
            throw APMExit.failure
        }
        let text = AgentConfigurationTemplate.text(licenseKey: licenseKey, appName: appName, collectorURL: collectorURL)
        // Checked by the agent's own rules before anything is written, so the file is valid as written.
        let check = try AgentConfiguration.check(
            environment: ["APM_CONFIG_FILE": file],
            readFile: { _ in text }
        )
        guard check.problems.isEmpty else {
            // Named by what the user typed: the file's lines do not exist yet.
            let flags = [
                "collector_url": "--collector-url", "app_name": "--app-name", "license_key": "the license key",
            ]
            for problem in check.problems {
                let what = flags[problem.key] ?? problem.key
                printError(
                    "apm generate-config: \(what) \(problem.value.map { "\"\($0)\"" } ?? ""): \(problem.message)"
                )
            }
            throw APMExit.configuration
        }
        do {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            printError("apm generate-config: cannot write \(file): \(error.localizedDescription)")
            throw APMExit.failure
        }
        print("Wrote \(file). Run your app with: apm run-program --config \(file) -- ./YourApp")
    }
}
