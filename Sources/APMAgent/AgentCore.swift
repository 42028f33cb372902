import APMCore
import Logging

/// The running agent's shared parts: configuration, clock, aggregation. Exists only when the agent is active,
/// so a disabled agent holds nothing and records nothing.
final class AgentCore: Sendable {
    let configuration: AgentConfiguration
    let clock: any AgentClock
    let logger: Logger
    let aggregator: Aggregator
    let samples: SampleReservoir
    /// Symbolicates error stacks at harvest, with its cache of addresses (kept for the agent's life).
    let symbolicator = StackSymbolicator.shared
    /// Wakes the delivery task (flush, shutdown).
    let wakeup = Wakeup()
    /// The log lines of the current harvest (``APMLogHandler``).
    let logs: LogBuffer

    init(configuration: AgentConfiguration, clock: any AgentClock, logger: Logger) {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        // Half the memory bound for the live aggregates, half for data waiting to be delivered.
        self.aggregator = Aggregator(
            apdex: configuration.apdexT,
            maxTransactionNames: configuration.maxTransactionNames,
            maxSegmentNames: configuration.maxSegmentNames,
            memoryBudget: configuration.maxMemoryBytes / 2,
            // The collector's T is asked for at start; until it answers, transactions wait to be classified.
            awaitCollectorT: true
        )
        self.logs = LogBuffer(configuration: configuration)
        self.samples = SampleReservoir(
            maxTraces: configuration.transactionTracer.enabled ? configuration.transactionTracer.maxTraces : 0,
            maxNameTraces: configuration.transactionTracer.enabled ? configuration.transactionTracer.maxNameTraces : 0,
            maxErrors: configuration.errorCollector.enabled ? configuration.errorCollector.maxSamples : 0
        )
    }

    func startTransaction(kind: TransactionKind, name: String, method: String, traceID: TraceID?) -> TransactionStorage
    {
        TransactionStorage(core: self, kind: kind, name: name, method: method, traceID: traceID, start: clock.now())
    }

    func record(_ completed: CompletedTransaction) {
        let state = completed.state
        let isError = completed.isError(ignoring: configuration.errorCollector.ignoreStatusCodes)
        let duration = completed.duration
        let (database, external) = completed.categoryTimes()
        let (apdexT, slowestOfItsName) = aggregator.record(
            name: state.name,
            kind: completed.storage.kind,
            endUnixNanoseconds: completed.end.unixNanoseconds,
            duration: duration,
            isError: isError,
            database: database,
            external: external,
            segments: state.segments,
            overflowSegments: state.overflowSegments,
            transactionEnd: completed.end.monotonicNanoseconds
        )
        if configuration.transactionTracer.enabled {
            let threshold: UInt64
            if let seconds = configuration.transactionTracer.thresholdSeconds {
                threshold = UInt64(seconds * 1e9)
            } else {
                threshold = apdexT.frustratedAboveNanoseconds
            }
            if duration >= threshold, samples.mightKeepTrace(durationNanoseconds: duration) {
                samples.offerTrace(makeTrace(completed, duration: duration, isError: isError))
            } else if slowestOfItsName && samples.maxNameTraces > 0 {
                samples.offerNameTrace(makeTrace(completed, duration: duration, isError: isError))
            }
        }
        if isError && configuration.errorCollector.enabled {
            let timestamp = Double(completed.end.unixNanoseconds) / 1e9
            let attributes = state.attributes
            if state.errors.isEmpty {
                samples.offerError(
                    .failedTransaction(
                        timestamp: timestamp,
                        transaction: state.name,
                        status: state.status,
                        reason: "the transaction failed",
                        traceID: completed.storage.traceID.description,
                        attributes: attributes
                    )
                )
            }
            for error in state.errors {
                samples.offerError(
                    ErrorSample(
                        timestamp: Double(error.unixNanoseconds) / 1e9,
                        transaction: state.name,
                        type: error.type,
                        message: error.message,
                        status: state.status,
                        traceID: completed.storage.traceID.description,
                        attributes: attributes,
                        fingerprint: error.fingerprint
                    ),
                    stack: error.stack
                )
            }
        }
    }

    private func makeTrace(_ completed: CompletedTransaction, duration: UInt64, isError: Bool) -> TransactionTrace {
        let state = completed.state
        let start = completed.storage.start.monotonicNanoseconds
        let maxSegments = configuration.transactionTracer.maxSegments
        let recordSQL = configuration.effectiveRecordSQL
        var segments: [TraceSegment] = []
        segments.reserveCapacity(min(state.segments.count, maxSegments))
        for record in state.segments.prefix(maxSegments) {
            let stop = record.end == 0 ? max(completed.end.monotonicNanoseconds, record.start) : record.end
            let statement: String
            switch recordSQL {
            case .off: statement = ""
            case .obfuscated:
                statement =
                    record.statement.isEmpty
                    ? "" : SQLObfuscator.obfuscate(record.statement, dialect: .forSystem(record.system))
            case .raw: statement = record.statement
            }
            let parent = record.parent >= 0 && Int(record.parent) < maxSegments ? Int(record.parent) : nil
            segments.append(
                TraceSegment(
                    parent: parent,
                    name: record.key.displayName,
                    category: record.category,
                    offset: Double(record.start &- min(start, record.start)) / 1e9,
                    duration: Double(stop - record.start) / 1e9,
                    statement: String(statement.prefix(4096)),
                    url: Self.stripQuery(record.url),
                    status: Int(record.status),
                    isError: record.isError
                )
            )
        }
        let dropped = max(0, state.segments.count - maxSegments) + state.droppedSegments
        return TransactionTrace(
            traceID: completed.storage.traceID.description,
            transaction: state.name,
            kind: completed.storage.kind,
            start: Double(completed.storage.start.unixNanoseconds) / 1e9,
            duration: Double(duration) / 1e9,
            status: state.status,
            method: state.method,
            isError: isError,
            attributes: state.attributes,
            segments: segments,
            droppedSegments: dropped
        )
    }

    /// The URL of an external call as the agent keeps it: no user information, query or fragment (which may hold
    /// credentials), at most 2,048 bytes.
    static func stripQuery(_ url: String) -> String {
        SpanConventions.safeURL(url)
    }
}
