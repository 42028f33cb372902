import APMAgent
public import ArgumentParser
import Foundation

/// The `apm` command.
public struct APMCommand: AsyncParsableCommand {
    /// The command's configuration.
    public static let configuration = CommandConfiguration(
        commandName: "apm",
        abstract: "swift-apm: application performance monitoring you host yourself.",
        discussion: HelpText.discussion(
            """
            Start with `apm collector`, then `apm generate-config <key> agent.ini` and
            `apm run-program --config agent.ini -- ./YourApp`, and look with `apm report`.

            Exit codes: 0 success; 1 runtime failure; 2 usage or configuration error; 3 collector unreachable;
            4 license key rejected; run-program: the program's own status, 127 program not found.
            """
        ),
        // The agent's version: the collector, the agent and the command are released together.
        version: APMAgent.version,
        subcommands: [
            CollectorCommand.self, GenerateConfigCommand.self, ValidateConfigCommand.self, RunProgramCommand.self,
            ReportCommand.self, KeysCommand.self, TokensCommand.self, AppsCommand.self, DeploymentsCommand.self,
            ErrorsCommand.self, LogsCommand.self, HostsCommand.self,
            UsersCommand.self, AlertsCommand.self,
            BackupCommand.self, MigrateStorageCommand.self, DemoCommand.self, ExampleServiceCommand.self,
            LoadgenCommand.self,
        ]
    )

    /// Creates the command.
    public init() {}
}

extension APMCommand {
    /// Parses the process's arguments and runs the verb; the executable's whole `main`.
    public static func runFromCommandLine() async {
        await run(Array(CommandLine.arguments.dropFirst()))
    }

    /// The `apm-example-service` executable's whole `main`: `apm example-service` with the process's arguments.
    public static func runExampleServiceFromCommandLine() async {
        await run(["example-service"] + CommandLine.arguments.dropFirst())
    }

    /// Runs a verb and exits as docs/cli.md says: a usage error (an unknown verb, a bad option or value) is 2,
    /// as a configuration error is, not ArgumentParser's 64.
    static func run(_ arguments: [String]) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                var standardError = StandardError()
                print(fullMessage(for: error), to: &standardError)
                exit(withError: APMExit.configuration)
            }
            exit(withError: error)
        }
    }
}

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
