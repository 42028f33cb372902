import ArgumentParser

/// The `apm` command's exit codes (also in `apm --help` and docs/cli.md).
enum APMExit {
    /// Everything worked.
    static let success = ExitCode(0)
    /// A runtime failure (an I/O error, an unexpected answer).
    static let failure = ExitCode(1)
    /// A usage or configuration error: fix the command or the file.
    static let configuration = ExitCode(2)
    /// The collector could not be reached.
    static let collectorUnreachable = ExitCode(3)
    /// The collector refused the license key.
    static let keyRejected = ExitCode(4)
    /// `run-program`: the program was not found.
    static let programNotFound = ExitCode(127)
}

/// A failure with a message for the user and an exit code.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var exitCode: ExitCode

    var description: String { message }
}
