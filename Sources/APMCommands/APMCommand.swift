public import ArgumentParser

/// The `apm` command.
public struct APMCommand: AsyncParsableCommand {
    /// The command's configuration.
    public static let configuration = CommandConfiguration(
        commandName: "apm",
        abstract: "swift-apm: application performance monitoring you host yourself.",
        discussion: """
            Start with `apm collector`, then `apm generate-config <key> agent.ini` and
            `apm run-program --config agent.ini -- ./YourApp`, and look with `apm report`.

            Exit codes: 0 success; 1 runtime failure; 2 usage or configuration error; 3 collector unreachable;
            4 license key rejected; run-program: the program's own status, 127 program not found.
            """,
        subcommands: [
            CollectorCommand.self, GenerateConfigCommand.self, ValidateConfigCommand.self, RunProgramCommand.self,
            ReportCommand.self, KeysCommand.self, TokensCommand.self, AppsCommand.self, DeploymentsCommand.self,
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
        await main()
    }
}

extension APMCommand {
    /// The `apm-example-service` executable's whole `main`: `apm example-service` with the process's arguments.
    public static func runExampleServiceFromCommandLine() async {
        await main(["example-service"] + CommandLine.arguments.dropFirst())
    }
}
