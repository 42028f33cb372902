import Foundation
import Synchronization

/// Whether a database server answers, so that while it does not every operation fails at once (a 503 with
/// `Retry-After` for ingest, `/healthz` 503 within its own deadline) instead of each waiting out its deadline,
/// and so that it is used again on its own once it answers: after a failure that says the server is gone (a
/// closed or refused connection, a deadline passed), one probe at a time asks it until it answers.
public final class StoreAvailability: Sendable {
    private struct State {
        var outage: Outage?
        var probing = false
        var stopped = false
    }

    private struct Outage {
        var since: ContinuousClock.Instant
        var reason: String
    }

    private let state = Mutex(State())
    private let description: String
    private let probeInterval: Duration
    private let probe: @Sendable () async -> Bool

    /// Creates the tracker.
    ///
    /// - Parameters:
    ///   - description: The server, for messages (never a password).
    ///   - probeInterval: The pause between probes while the server does not answer.
    ///   - probe: Asks the server once, within its own deadline; `true` when it answered.
    public init(
        description: String,
        probeInterval: Duration = .milliseconds(500),
        probe: @escaping @Sendable () async -> Bool
    ) {
        self.description = description
        self.probeInterval = probeInterval
        self.probe = probe
    }

    /// Why the server is taken for unavailable now, or `nil` when it is used.
    public var problem: String? {
        state.withLock { state in
            state.outage.map { outage in
                let seconds = Int((ContinuousClock.now - outage.since).components.seconds)
                return
                    "\(description) has not answered for \(seconds) s (\(outage.reason)); retrying every \(probeInterval)"
            }
        }
    }

    /// Throws at once while the server is taken for unavailable.
    ///
    /// - Throws: ``StoreError`` `unavailable`.
    public func check() throws {
        if let problem { throw StoreError(.unavailable, problem) }
    }

    /// Records a failure that says the server is gone, and starts probing it.
    ///
    /// - Parameter reason: What happened.
    public func failed(_ reason: String) {
        let startProbe = state.withLock { state -> Bool in
            if state.outage == nil { state.outage = Outage(since: .now, reason: reason) }
            guard !state.probing else { return false }
            state.probing = true
            return true
        }
        guard startProbe else { return }
        Task { await probeUntilAnswered() }
    }

    /// Records that the server answered.
    public func answered() {
        state.withLock { $0.outage = nil }
    }

    /// Ends probing (the store is closing).
    public func stopProbing() {
        state.withLock { $0.stopped = true }
    }

    private func probeUntilAnswered() async {
        while !state.withLock({ $0.stopped }) {
            if await probe() {
                state.withLock { state in
                    state.outage = nil
                    state.probing = false
                }
                return
            }
            try? await Task.sleep(for: probeInterval)
        }
        state.withLock { $0.probing = false }
    }
}
