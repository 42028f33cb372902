public import APMAgent
public import APMCore
import Foundation
import Synchronization

/// A collector in memory: decodes every batch the agent sends, answers with scripted responses, and counts
/// each batch id once, like the real collector.
public final class InMemoryCollectorTransport: CollectorTransport {
    /// What to answer to one request.
    public enum Reply: Sendable {
        /// Accept, with an Apdex T (and per-transaction Ts) in the reply.
        case accept(apdexT: Double = 0.5, transactionApdexT: [String: Double] = [:])
        /// Answer a status with headers (e.g. 503 with `Retry-After`).
        case status(Int, headers: [String: String] = [:])
        /// Fail as if the connection was refused.
        case connectionRefused
    }

    private struct State {
        var script: [Reply] = []
        var defaultReply: Reply = .accept()
        var attempts: [AgentBatch] = []
        var accepted: [String: AgentBatch] = [:]
        var acceptedOrder: [String] = []
        var settings = AgentSettingsReply(app: "", known: false, apdexT: 0.5)
        var settingsRequests = 0
    }

    private let state = Mutex(State())

    /// Creates a collector that accepts everything.
    public init() {}

    /// Queues replies for the next requests; after them, `defaultReply` applies.
    ///
    /// - Parameter replies: Replies in order.
    public func script(_ replies: [Reply]) {
        state.withLock { $0.script.append(contentsOf: replies) }
    }

    /// Sets the reply used once the script is exhausted.
    ///
    /// - Parameter reply: The reply.
    public func setDefaultReply(_ reply: Reply) {
        state.withLock { $0.defaultReply = reply }
    }

    /// Sets what `GET /v1/agent/settings` answers (the app's T when the agent starts); 0.5 s by default.
    ///
    /// - Parameters:
    ///   - apdexT: The app's T.
    ///   - transactionApdexT: Per-transaction Ts.
    public func setSettings(apdexT: Double, transactionApdexT: [String: Double] = [:]) {
        state.withLock {
            $0.settings = AgentSettingsReply(app: "", known: true, apdexT: apdexT, transactionApdexT: transactionApdexT)
        }
    }

    /// How many times the agent asked for its settings.
    public var settingsRequests: Int { state.withLock { $0.settingsRequests } }

    /// Every batch received, including retries and rejected ones, in order.
    public var attempts: [AgentBatch] { state.withLock { $0.attempts } }

    /// Batches accepted, each id once, in order of first acceptance.
    public var acceptedBatches: [AgentBatch] {
        state.withLock { state in state.acceptedOrder.compactMap { state.accepted[$0] } }
    }

    /// All transaction metrics accepted, flattened.
    public var acceptedTransactions: [TransactionMetric] {
        acceptedBatches.flatMap { $0.intervals.flatMap(\.transactions) }
    }

    /// Receives one request.
    ///
    /// - Parameter request: The request.
    /// - Returns: The scripted response.
    /// - Throws: `URLError(.cannotConnectToHost)` for `.connectionRefused`.
    public func send(_ request: CollectorRequest) async throws -> CollectorResponse {
        if request.method == "GET" {
            // The settings request: refused like batches when the collector is scripted to be down.
            let (settings, refused) = state.withLock { state in
                state.settingsRequests += 1
                var refused = false
                if case .connectionRefused = state.script.first ?? state.defaultReply { refused = true }
                return (state.settings, refused)
            }
            if refused { throw URLError(.cannotConnectToHost) }
            var reply = settings
            reply.app =
                URLComponents(url: request.url, resolvingAgainstBaseURL: false)?.queryItems?.first {
                    $0.name == "app"
                }?.value ?? ""
            return CollectorResponse(status: 200, body: try WireCoding.makeEncoder().encode(reply))
        }
        let body = Gzip.isGzip(request.body) ? try Gzip.decompress(request.body, maxOutputSize: 64 << 20) : request.body
        let batch = try WireCoding.decodeBatch(body)
        try batch.validate(now: batch.createdAt)
        let reply: Reply = state.withLock { state in
            state.attempts.append(batch)
            return state.script.isEmpty ? state.defaultReply : state.script.removeFirst()
        }
        switch reply {
        case .accept(let apdexT, let overrides):
            let duplicate = state.withLock { state in
                if state.accepted[batch.batchID] != nil { return true }
                state.accepted[batch.batchID] = batch
                state.acceptedOrder.append(batch.batchID)
                return false
            }
            let reply = IngestReply(
                batchID: batch.batchID,
                duplicate: duplicate,
                apdexT: apdexT,
                transactionApdexT: overrides
            )
            return CollectorResponse(status: 202, body: try WireCoding.makeEncoder().encode(reply))
        case .status(let code, let headers):
            return CollectorResponse(status: code, headers: headers)
        case .connectionRefused:
            throw URLError(.cannotConnectToHost)
        }
    }
}
