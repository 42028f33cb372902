import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Tests that run several real processes under load (the end-to-end test, the two-collector SIGKILL test) take
/// turns, across test targets, through a lock file: run together on 2 cores they doubled each other's load and
/// their agents' delivery times.
public enum HeavyTestGate {
    static let path = FileManager.default.temporaryDirectory.appendingPathComponent("swift-apm-heavy-tests.lock").path

    /// Runs `body` when no other heavy test runs (in this process or another).
    public static func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        // Close-on-exec: a process a heavy test starts must not inherit (and keep) the lock.
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        defer { close(descriptor) }
        // flock conflicts between open file descriptions, also within one process.
        while descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        defer { if descriptor >= 0 { flock(descriptor, LOCK_UN) } }
        return try await body()
    }
}
