import APMCore
import Foundation
import Logging
import Synchronization

/// Figures about delivery, for tests, benchmarks and the agent's own log.
public struct DeliveryStatistics: Sendable, Hashable {
    /// Harvests so far (each moves what was aggregated into the data held for delivery).
    public var harvests = 0
    /// Batches the collector acknowledged.
    public var batchesAcknowledged = 0
    /// Attempts that failed and will be retried.
    public var failedAttempts = 0
    /// Batches given up on (rejected as invalid, or no room).
    public var batchesDropped = 0
    /// Whether the collector refuses the license key now (401/403). Delivery goes on, rarely
    /// (`keyRejectedRetryInterval`), holding what fits in memory, until the key is accepted again.
    public var keyRejected = false
    /// The batch id being retried, if any.
    public var retryingBatchID: String?
    /// Bytes (estimated) of data held for delivery after the last harvest: the batch being retried plus the data
    /// merged while waiting. Stays under half of `max_memory_mb`.
    public var bufferedBytes = 0
    /// Transactions whose metrics were dropped to stay within the memory bound.
    public var droppedTransactions: UInt64 = 0

    /// Creates zeroed statistics.
    public init() {}
}

/// Delivery statistics behind a lock, shared by the delivery task and readers.
final class LockedStatistics: Sendable {
    private let mutex = Mutex(DeliveryStatistics())
    func withLock<R: Sendable>(_ body: (inout DeliveryStatistics) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// The state machine of delivery. Owned by the one delivery task: never shared, so no locks.
///
/// At most two payloads exist: the sealed batch being sent or retried (fixed id, fixed content, so a retry is
/// never counted twice), and the pending data that harvests merge into meanwhile.
final class Deliverer {
    private let core: AgentCore
    private let transport: any CollectorTransport
    private let identity: AgentIdentity
    private let endpoint: URL
    private let logger: Logger
    private let statistics: LockedStatistics

    private var pending = PendingData()
    private var inFlight: AgentBatch?
    private var attempts = 0
    /// When the in-flight batch is next tried, in monotonic nanoseconds of the agent's clock.
    private var nextAttempt: UInt64 = 0
    /// Whether the collector refused the key at the last attempt (logged once per period of refusal).
    private var keyRejected = false

    init(core: AgentCore, transport: any CollectorTransport, identity: AgentIdentity, statistics: LockedStatistics) {
        self.core = core
        self.transport = transport
        self.identity = identity
        self.endpoint = URL(string: core.configuration.collectorURL + "/v1/agent/batches")!
        self.logger = core.logger
        self.statistics = statistics
    }

    /// Asks the collector for the app's Ts (`GET /v1/agent/settings`), so that the first transactions are
    /// classified at the collector's T rather than the local `apdex_t`. Runs on the delivery task, never on the
    /// app's: until it answers, transactions are kept unclassified. A failure is not retried here: the first
    /// batch's reply carries the Ts too.
    ///
    /// - Parameter timeout: How long to wait.
    func learnSettings(timeout: Duration) async {
        var components = URLComponents(string: core.configuration.collectorURL + "/v1/agent/settings")
        components?.queryItems = [URLQueryItem(name: "app", value: identity.appName)]
        guard let url = components?.url else { return }
        let request = CollectorRequest(
            url: url,
            headers: [
                "X-APM-License-Key": core.configuration.licenseKey,
                "User-Agent": "swift-apm-agent/\(APMAgent.version)",
            ],
            body: Data(),
            timeout: timeout,
            method: "GET"
        )
        do {
            let response = try await transport.send(request)
            guard response.status == 200 else {
                logger.debug("apm: the collector answered HTTP \(response.status) to the settings request")
                return
            }
            let settings = try WireCoding.makeDecoder().decode(AgentSettingsReply.self, from: response.body)
            adopt(apdexT: settings.apdexT, transactionApdexT: settings.transactionApdexT)
        } catch {
            logger.debug("apm: no settings from the collector yet (\(Self.describe(error, timeout: timeout)))")
        }
    }

    /// Moves everything aggregated so far into the pending data.
    func harvest() {
        let harvest = core.aggregator.harvest()
        let samples = core.samples.harvest()
        pending.absorb(
            harvest,
            samples: samples,
            maxTraces: max(core.configuration.transactionTracer.maxTraces, 1) * 3,
            maxNameTraces: core.configuration.transactionTracer.maxNameTraces * 3,
            maxErrors: max(core.configuration.errorCollector.maxSamples, 1) * 3,
            symbolicator: core.symbolicator
        )
        pending.absorb(logs: core.logs.harvest(), maxLogs: max(core.configuration.logForwarding.maxPerHarvest, 1) * 3)
        let budget = core.configuration.maxMemoryBytes / 2 - (inFlight.map { Self.estimatedBytes(of: $0) } ?? 0)
        let lost = pending.enforce(budget: max(budget, 0))
        let buffered = pending.estimatedBytes + (inFlight.map { Self.estimatedBytes(of: $0) } ?? 0)
        statistics.withLock {
            $0.harvests += 1
            $0.bufferedBytes = buffered
            $0.droppedTransactions += lost + harvest.dropped.transactions
        }
        if lost > 0 {
            logger.warning(
                "apm: the collector has been unreachable too long; dropped the metrics of \(lost) transactions to stay within max_memory_mb"
            )
        }
    }

    /// When the next attempt is due (monotonic nanoseconds of the agent's clock), `nil` when there is nothing to
    /// send.
    var nextAttemptDue: UInt64? {
        if inFlight != nil { return nextAttempt }
        return pending.isEmpty ? nil : core.clock.monotonicNanoseconds()
    }

    /// Sends what is due; returns when there is nothing more to send now (all sent, or waiting to retry).
    ///
    /// - Parameter deadline: For the final flush: give up on attempts that would start after it (monotonic
    ///   nanoseconds of the agent's clock).
    func deliverDue(deadline: UInt64? = nil) async {
        let clock = core.clock
        while true {
            if inFlight == nil {
                guard !pending.isEmpty else { return }
                let now = core.clock.now()
                let nextLogs = pending.logsBeyondOneBatch()
                inFlight = pending.makeBatch(
                    batchID: UUID().uuidString.lowercased(),
                    agent: identity,
                    createdAt: Double(now.unixNanoseconds) / 1e9,
                    apdexT: core.aggregator.apdexSettings.app.seconds,
                    recordSQL: core.configuration.effectiveRecordSQL
                )
                pending = PendingData()
                pending.absorb(logs: (nextLogs, 0), maxLogs: .max)
                attempts = 0
                nextAttempt = clock.monotonicNanoseconds()
            }
            guard let batch = inFlight else { return }
            if nextAttempt > clock.monotonicNanoseconds() {
                guard let deadline, nextAttempt <= deadline else { return }
                try? await clock.sleep(untilMonotonicNanoseconds: nextAttempt)
            }
            let now = clock.monotonicNanoseconds()
            if let deadline, now >= deadline { return }
            let timeout =
                deadline.map { min(core.configuration.requestTimeout, .nanoseconds(Int64(clamping: $0 - now))) }
                ?? core.configuration.requestTimeout
            let outcome = await attempt(batch, timeout: timeout)
            switch outcome {
            case .acknowledged:
                inFlight = nil
                continue
            case .retry(let after):
                attempts += 1
                nextAttempt =
                    clock.monotonicNanoseconds() &+ max(backoff(attempt: attempts), after ?? .zero).agentNanoseconds
                // The final flush tries again while its deadline allows (a request that timed out on a busy
                // machine would otherwise lose the last harvest); the loop waits for the backoff first.
                if let deadline, nextAttempt < deadline { continue }
                return
            case .stripSamplesAndRetry:
                inFlight?.traces = []
                inFlight?.errors = []
                continue
            case .drop:
                inFlight = nil
                statistics.withLock { $0.batchesDropped += 1 }
                continue
            case .keyRejected:
                // Kept (within the memory bound, as in any outage) and tried again rarely: the key may be fixed
                // on the collector's side without restarting the app.
                attempts += 1
                nextAttempt =
                    clock.monotonicNanoseconds() &+ core.configuration.keyRejectedRetryInterval.agentNanoseconds
                return
            }
        }
    }

    private enum Outcome {
        case acknowledged
        case retry(after: Duration?)
        case stripSamplesAndRetry
        case drop
        case keyRejected
    }

    private func attempt(_ batch: AgentBatch, timeout: Duration) async -> Outcome {
        let body: Data
        do {
            body = try Gzip.compress(WireCoding.makeEncoder().encode(batch))
        } catch {
            logger.error("apm: could not encode a batch (\(error)); it is dropped")
            return .drop
        }
        let request = CollectorRequest(
            url: endpoint,
            headers: [
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "X-APM-License-Key": core.configuration.licenseKey,
                "X-APM-Batch-ID": batch.batchID,
                "User-Agent": "swift-apm-agent/\(APMAgent.version)",
            ],
            body: body,
            timeout: timeout
        )
        let response: CollectorResponse
        do {
            response = try await transport.send(request)
        } catch {
            return failed(
                "cannot reach the collector at \(core.configuration.collectorURL) (\(Self.describe(error, timeout: timeout)))",
                batch: batch,
                retryAfter: nil
            )
        }
        switch response.status {
        case 200..<300:
            return acknowledged(batch, response)
        case 401, 403:
            return rejectedKey(batch, status: response.status)
        case 413:
            if !batch.traces.isEmpty || !batch.errors.isEmpty {
                logger.warning(
                    "apm: the collector found batch \(batch.batchID) too large; retrying without traces and error samples"
                )
                return .stripSamplesAndRetry
            }
            logger.error(
                "apm: the collector found batch \(batch.batchID) too large even without samples; it is dropped"
            )
            return .drop
        case 408, 429, 500..<600:
            return failed(
                "the collector answered HTTP \(response.status)",
                batch: batch,
                retryAfter: Self.retryAfter(response)
            )
        default:
            let detail = String(decoding: response.body.prefix(500), as: UTF8.self)
            logger.error(
                "apm: the collector rejected batch \(batch.batchID) with HTTP \(response.status): \(detail); it is dropped"
            )
            return .drop
        }
    }

    /// A batch the collector took: the collector's Ts adopted, a recovery logged once.
    private func acknowledged(_ batch: AgentBatch, _ response: CollectorResponse) -> Outcome {
        if keyRejected {
            keyRejected = false
            logger.info("apm: the collector accepts the license key again; delivering what was kept")
        } else if attempts > 0 {
            logger.info(
                "apm: the collector is reachable again; batch \(batch.batchID) delivered after \(attempts + 1) attempts"
            )
        }
        // The reply's Ts first: whoever sees the batch counted as acknowledged records at them.
        if let reply = try? WireCoding.makeDecoder().decode(IngestReply.self, from: response.body) {
            adopt(apdexT: reply.apdexT, transactionApdexT: reply.transactionApdexT)
        }
        statistics.withLock {
            $0.batchesAcknowledged += 1
            $0.retryingBatchID = nil
            $0.keyRejected = false
        }
        return .acknowledged
    }

    /// The license key refused: data is kept (within the memory bound) and offered again until it is accepted.
    private func rejectedKey(_ batch: AgentBatch, status: Int) -> Outcome {
        if !keyRejected {
            keyRejected = true
            logger.error(
                "apm: the collector rejected the license key (HTTP \(status)); data is kept within max_memory_mb and sent again every \(core.configuration.keyRejectedRetryInterval) until the key is accepted. Check license_key or APM_LICENSE_KEY, or the key on the collector (apm keys list)."
            )
        }
        statistics.withLock {
            $0.keyRejected = true
            $0.failedAttempts += 1
            $0.retryingBatchID = batch.batchID
        }
        return .keyRejected
    }

    private func failed(_ reason: String, batch: AgentBatch, retryAfter: Duration?) -> Outcome {
        if attempts == 0 {
            logger.warning("apm: \(reason); data is kept and retried (batch \(batch.batchID))")
        } else {
            logger.debug("apm: \(reason); attempt \(attempts + 1) of batch \(batch.batchID)")
        }
        statistics.withLock {
            $0.failedAttempts += 1
            $0.retryingBatchID = batch.batchID
        }
        return .retry(after: retryAfter)
    }

    private func adopt(apdexT: Double, transactionApdexT: [String: Double]) {
        guard let app = ApdexThreshold(seconds: apdexT) else { return }
        var settings = Aggregator.ApdexSettings(app: app)
        for (name, seconds) in transactionApdexT.prefix(10_000) {
            if let threshold = ApdexThreshold(seconds: seconds) { settings.transactions[name] = threshold }
        }
        if settings != core.aggregator.apdexSettings {
            logger.info(
                "apm: the collector set Apdex T to \(app.seconds) s (\(settings.transactions.count) transaction overrides)"
            )
            core.aggregator.updateApdex(settings)
        }
    }

    /// Exponential backoff with jitter: a random delay in [d/2, d], d doubling from the initial backoff.
    private func backoff(attempt: Int) -> Duration {
        let initial = core.configuration.retryInitialBackoff
        let cap = core.configuration.retryMaxBackoff
        let exponent = min(attempt - 1, 20)
        let delay = min(cap, initial * (1 << exponent))
        return delay / 2 + delay / 2 * Double.random(in: 0...1)
    }

    /// A transport error in words a log reader can act on.
    static func describe(_ error: any Error, timeout: Duration) -> String {
        guard let error = error as? URLError else { return "\(error)" }
        switch error.code {
        case .timedOut: return "no answer within \(timeout) (request_timeout)"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost: return "host not found"
        case .networkConnectionLost: return "the connection was closed"
        case .badServerResponse: return "not an HTTP answer"
        default: return "network error \(error.code.rawValue)"
        }
    }

    private static func retryAfter(_ response: CollectorResponse) -> Duration? {
        guard let value = response.headers["retry-after"],
            let seconds = Double(value.trimmingCharacters(in: .whitespaces)),
            seconds.isFinite, seconds >= 0
        else { return nil }
        return .milliseconds(Int64(min(seconds, 600) * 1000))
    }

    private static func estimatedBytes(of batch: AgentBatch) -> Int {
        batch.intervals.reduce(0) { sum, interval in
            sum + interval.transactions.reduce(0) { $0 + 256 + $1.histogram.counts.count * 8 }
                + interval.segments.reduce(0) { $0 + 192 + ($1.slowestStatement?.utf8.count ?? 0) }
        }
    }
}
