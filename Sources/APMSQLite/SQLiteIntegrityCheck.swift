import APMCore
import APMStorage
import Foundation
import GRDB
import Synchronization

/// Whether the database file is what SQLite wrote: `PRAGMA quick_check` (every page's structure) on a connection
/// of its own, so that a damaged page shows on `/healthz` even when no request has read it yet. It reads the
/// whole file, so it runs at most every ``minimumInterval`` and at most every 50 times as long as it last took
/// (a 1 GB file, ≈ 1 s, every ≈ 50 s: 2 % of a core); `/healthz` waits for a check it starts at most
/// ``waitLimit`` and otherwise reports the last result.
final class SQLiteIntegrityCheck: Sendable {
    private struct State {
        var lastProblem: String?
        var finishedAt: ContinuousClock.Instant?
        var lastDuration: Duration = .zero
        var running: Task<String?, Never>?
    }

    private let state = Mutex(State())
    /// The least time between two checks (default 30 s).
    let minimumInterval: Duration
    /// How long `/healthz` waits for a check it started.
    let waitLimit: Duration

    init(minimumInterval: Duration = .seconds(30), waitLimit: Duration = .milliseconds(500)) {
        self.minimumInterval = minimumInterval
        self.waitLimit = waitLimit
    }

    /// The damage found by the latest check (starting one when due), or `nil` when the file is sound.
    func problem(of path: String) async -> String? {
        let task = state.withLock { state -> Task<String?, Never>? in
            if let running = state.running { return running }
            // Zero (tests): every `/healthz` checks.
            let interval = minimumInterval == .zero ? .zero : max(minimumInterval, state.lastDuration * 50)
            if let finished = state.finishedAt, interval > .zero, ContinuousClock.now - finished < interval {
                return nil
            }
            let started = ContinuousClock.now
            let task = Task.detached { [self] () -> String? in
                let problem = Self.check(path)
                self.state.withLock { state in
                    state.lastProblem = problem
                    state.finishedAt = ContinuousClock.now
                    state.lastDuration = ContinuousClock.now - started
                    state.running = nil
                }
                return problem
            }
            state.running = task
            return task
        }
        if let task {
            _ = try? await Deadline.run(within: waitLimit, timedOut: CancellationError()) { await task.value }
        }
        return state.withLock { $0.lastProblem }
    }

    /// Runs `PRAGMA quick_check` on a new read-only connection (a pool's connections may serve pages from
    /// their cache).
    static func check(_ path: String) -> String? {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            let findings = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
            guard findings != ["ok"] else { return nil }
            return SQLiteStore.damageAdvice(findings.joined(separator: "; "))
        } catch {
            return StoreError.recognizing(error)?.message ?? "the integrity check could not read the file: \(error)"
        }
    }
}
