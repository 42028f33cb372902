public import ArgumentParser

/// The `apm` command.
public struct APMCommand: AsyncParsableCommand {
    /// The command's configuration.
    public static let configuration = CommandConfiguration(
        commandName: "apm",
        abstract: "swift-apm: application performance monitoring you host yourself.",
        discussion: """
            Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
            """,
        subcommands: [CollectorCommand.self]
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
