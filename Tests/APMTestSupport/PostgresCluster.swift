import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of a test's own (initdb in a temporary directory, a loopback port), which the test can
/// stop (`pg_ctl stop -m immediate`, as a crash or an operator would) and start again on the same port. The
/// shared server of `scripts/with-postgres` cannot be stopped by one test without breaking the others.
public final class PostgresCluster: Sendable {
    /// The directory of the server's binaries (`initdb`, `pg_ctl`).
    public let binaries: String
    /// The cluster's temporary directory (data and socket).
    public let directory: String
    /// The loopback port it listens on.
    public let port: Int

    /// The newest installed PostgreSQL's binaries, or `nil` when there is none (Debian: `apt-get install
    /// postgresql`).
    public static var installedBinaries: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return
            versions
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            .map { "\(root)/\($0)/bin" }
            .last { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }

    /// Creates and starts a cluster with a `apm` superuser (trust authentication on loopback).
    ///
    /// - Throws: When PostgreSQL is not installed or does not start.
    public init() throws {
        guard let binaries = Self.installedBinaries else {
            throw Self.failure("no PostgreSQL server is installed (apt-get install postgresql)")
        }
        self.binaries = binaries
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("apm-test-cluster-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.port = LoopbackPort.free()
        if getuid() == 0 { try Self.run("/bin/chown", ["postgres", directory]) }
        try runAsOwner("\(binaries)/initdb", ["-D", "\(directory)/data", "-A", "trust", "-U", "apm", "--no-sync"])
        try start()
    }

    /// The URL of its `postgres` database, for `--postgres-url`.
    public var url: String { "postgres://apm@127.0.0.1:\(port)/postgres?sslmode=disable" }

    /// Starts the server (again) on its port and waits until it accepts connections.
    public func start() throws {
        let options = "-c listen_addresses=127.0.0.1 -p \(port) -k \(directory) -c fsync=off -c max_connections=200"
        try runAsOwner(
            "\(binaries)/pg_ctl",
            ["-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "60", "-o", options, "start"]
        )
    }

    /// Stops the server at once (`-m immediate`: every backend killed, no checkpoint), as a crash would.
    public func stopImmediately() throws {
        try runAsOwner("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "stop"])
    }

    /// Stops the server and deletes the cluster.
    public func destroy() {
        try? stopImmediately()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func runAsOwner(_ program: String, _ arguments: [String]) throws {
        // PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
        if getuid() == 0 {
            try Self.run("/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
        } else {
            try Self.run(program, arguments)
        }
    }

    /// Runs a program and waits for it with `waitpid` (Foundation's `Process` sometimes misses the end of
    /// `pg_ctl`, whose server lives on), its output in a file (the server would hold a pipe open).
    private static func run(_ program: String, _ arguments: [String]) throws {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("apm-pg-\(UUID()).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw failure("cannot start \(program): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            let printed = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw failure("\(program) \(arguments.joined(separator: " ")) exited with status \(status): \(printed)")
        }
    }

    private static func failure(_ message: String) -> any Error {
        CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: message])
    }
}
