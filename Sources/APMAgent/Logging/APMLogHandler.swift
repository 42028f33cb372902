public import APMCore
import Instrumentation
public import Logging
import Synchronization

/// A swift-log handler that sends the app's log lines to the collector with the harvest, each with the trace id,
/// span id and transaction it was logged in (logs in context). Use it alone, or beside the console handler:
///
/// ```swift
/// let agent = APMAgent.fromEnvironment()
/// LoggingSystem.bootstrap { label in
///     MultiplexLogHandler([StreamLogHandler.standardOutput(label: label), agent.logHandler(label: label)])
/// }
/// ```
///
/// Lines below `log_forwarding.level` are skipped by the `Logger` itself (the handler's `logLevel`), so they cost
/// what a disabled level costs. A kept line is copied into a bounded buffer under a short lock: no I/O, no wait
/// for the network; past `log_forwarding.max_per_harvest` lines (or a share of `max_memory_mb`) per harvest, lines
/// are dropped and the count is reported to the collector. With the agent off, the handler does nothing.
public struct APMLogHandler: LogHandler {
    /// Metadata added to every line of this handler.
    public var metadata: Logger.Metadata = [:]
    /// Metadata added to every line.
    public var metadataProvider: Logger.MetadataProvider?
    /// The lowest level recorded (from `log_forwarding.level`).
    public var logLevel: Logger.Level
    private let label: String
    private let buffer: LogBuffer?
    private let clock: (any AgentClock)?

    /// Creates a handler that records into `agent`.
    ///
    /// - Parameters:
    ///   - label: The logger's label (kept as the `logger` attribute).
    ///   - agent: The agent; when it is off or `log_forwarding.enabled` is false, the handler drops everything.
    ///   - metadataProvider: Metadata added to every line (besides the trace ids the handler adds itself).
    public init(label: String, agent: APMAgent, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.buffer = agent.core?.logs
        self.clock = agent.core?.clock
        self.logLevel = Logger.Level(agent.configuration.logForwarding.level)
        if buffer == nil { logLevel = .critical }
    }

    /// One metadata value of this handler.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Records one line (swift-log calls it for lines at or above ``logLevel``).
    public func log(event: LogEvent) {
        guard let buffer, let clock else { return }
        let level = LogLevel(event.level)
        guard level >= buffer.minimumLevel else { return }
        var attributes: [String: String] = ["logger": label]
        for (key, value) in metadata { attributes[key] = value.description }
        if let provided = metadataProvider?.get() {
            for (key, value) in provided { attributes[key] = value.description }
        }
        if let own = event.metadata {
            for (key, value) in own { attributes[key] = value.description }
        }
        var transactionName: TransactionNameAtEnd?
        var record = LogRecord(
            timeUnixNano: Int64(clamping: clock.now().unixNanoseconds),
            level: level,
            message: event.message.description,
            attributes: attributes
        )
        if let context = InstrumentationContext.current {
            if let span = context[APMSpanContextKey.self] {
                record.traceID = span.traceID.description
                record.spanID = span.spanID.description
                (record.transaction, transactionName) = span.storage.nameForLogLine()
            } else if let remote = context[RemoteTraceContextKey.self] {
                record.traceID = remote.traceID.description
                record.spanID = remote.spanID.description
            }
        }
        buffer.offer(record, transactionName: transactionName)
    }
}

extension APMAgent {
    /// A log handler that sends lines to the collector (``APMLogHandler``).
    ///
    /// - Parameter label: The logger's label.
    /// - Returns: The handler.
    public func logHandler(label: String) -> APMLogHandler {
        APMLogHandler(label: label, agent: self)
    }

    /// Records one log line directly (what ``APMLogHandler`` does for swift-log; `apm run-program` sends a
    /// program's output this way). Attached to the current transaction's trace when there is one.
    ///
    /// - Parameters:
    ///   - level: The line's level; below `log_forwarding.level` it is not kept.
    ///   - message: The text.
    ///   - attributes: Structured fields.
    public func recordLog(_ level: LogLevel, _ message: String, attributes: [String: String] = [:]) {
        var handler = logHandler(label: "apm")
        handler.metadata = attributes.mapValues { .string($0) }
        handler.metadata["logger"] = nil
        handler.log(
            event: LogEvent(
                level: Logger.Level(level),
                message: "\(message)",
                metadata: nil,
                source: "apm",
                file: #fileID,
                function: #function,
                line: #line
            )
        )
    }
}

/// The lines logged since the last harvest, bounded in count and bytes.
final class LogBuffer: Sendable {
    private struct State {
        var records: [LogRecord] = []
        /// Per record, the name its transaction ends with (resolved at harvest).
        var transactionNames: [TransactionNameAtEnd?] = []
        var bytes = 0
        var dropped: UInt64 = 0
    }

    let minimumLevel: LogLevel
    let maxRecords: Int
    let maxBytes: Int
    private let state = Mutex(State())

    init(configuration: AgentConfiguration) {
        minimumLevel = configuration.logForwarding.level
        maxRecords = configuration.logForwarding.enabled ? configuration.logForwarding.maxPerHarvest : 0
        // An eighth of the agent's memory bound for one harvest's lines (the pending data has its own share).
        maxBytes = configuration.maxMemoryBytes / 8
    }

    /// What a record costs in memory, roughly: its texts and a fixed overhead.
    static func estimatedBytes(_ record: LogRecord) -> Int {
        var bytes = 160 + record.message.utf8.count + (record.transaction?.utf8.count ?? 0)
        for (key, value) in record.attributes { bytes += 32 + key.utf8.count + value.utf8.count }
        return bytes
    }

    func offer(_ record: LogRecord, transactionName: TransactionNameAtEnd? = nil) {
        let size = Self.estimatedBytes(record)
        state.withLock { state in
            guard state.records.count < maxRecords, state.bytes + size <= maxBytes else {
                state.dropped &+= 1
                return
            }
            state.records.append(record)
            state.transactionNames.append(transactionName)
            state.bytes += size
        }
    }

    /// The lines since the last harvest and how many were dropped, leaving the buffer empty. A line logged in a
    /// transaction that has ended since carries the transaction's final name (a route is known only at its end).
    func harvest() -> (records: [LogRecord], dropped: UInt64) {
        let taken = state.withLock { state in
            defer { state = State() }
            return state
        }
        var records = taken.records
        for (index, cell) in taken.transactionNames.enumerated() {
            if let name = cell?.value.withLock({ $0 }) { records[index].transaction = name }
        }
        return (records, taken.dropped)
    }
}

extension LogLevel {
    /// swift-log's level as OpenTelemetry's: `notice` is info, `critical` is fatal.
    init(_ level: Logger.Level) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info, .notice: self = .info
        case .warning: self = .warn
        case .error: self = .error
        case .critical: self = .fatal
        }
    }
}

extension Logger.Level {
    /// The lowest swift-log level that is at or above `level`.
    init(_ level: LogLevel) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .warn: self = .warning
        case .error: self = .error
        case .fatal: self = .critical
        }
    }
}
