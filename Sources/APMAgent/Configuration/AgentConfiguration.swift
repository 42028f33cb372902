public import APMCore
public import Logging

/// Everything the agent can be told. Built-in defaults < INI file < `[agent:<environment>]` < environment
/// variables; see ``load(environment:readFile:)`` and `agent.ini.example` for every key.
public struct AgentConfiguration: Sendable, Hashable {
    /// How SQL statements are kept in traces.
    public enum RecordSQL: String, Sendable, Hashable, CaseIterable {
        /// Statements are not kept.
        case off
        /// Literals are replaced by `?` (the default).
        case obfuscated
        /// Statements are kept as they are (never under `high_security`).
        case raw
    }

    /// Slow-transaction traces.
    public struct TransactionTracer: Sendable, Hashable {
        /// `transaction_tracer.enabled`, default `true`.
        public var enabled: Bool = true
        /// `transaction_tracer.threshold`: seconds a transaction must take to be traced; `nil` means
        /// `apdex_f` (4 × T), the default.
        public var thresholdSeconds: Double? = nil
        /// `transaction_tracer.record_sql`, default `obfuscated`.
        public var recordSQL: RecordSQL = .obfuscated
        /// `transaction_tracer.max_segments`, default 200: segments kept per trace.
        public var maxSegments: Int = 200
        /// `transaction_tracer.max_traces`, default 20: slowest traces kept per harvest.
        public var maxTraces: Int = 20
        /// `transaction_tracer.max_name_traces`, default 50: besides the slow traces, the slowest trace of each
        /// transaction name that has none, for this many names per harvest, so that a transaction slow at 2T
        /// (under the 4T threshold: the usual bad Apdex) has a trace too.
        public var maxNameTraces: Int = 50
    }

    /// Error collection.
    public struct ErrorCollector: Sendable, Hashable {
        /// `error_collector.enabled`, default `true`.
        public var enabled: Bool = true
        /// `error_collector.ignore_status_codes`, default `404`: responses with these statuses never count as
        /// errors, even when an error was noticed while serving them.
        public var ignoreStatusCodes: Set<Int> = [404]
        /// `error_collector.ignore_errors`: error type names (as `String(describing: type(of: error))` or fully
        /// qualified) that are never recorded.
        public var ignoreErrors: Set<String> = []
        /// `error_collector.max_samples`, default 20: error samples kept per harvest.
        public var maxSamples: Int = 20
    }

    /// `log_forwarding.*`: the app's log lines sent with the harvest (``APMLogHandler``).
    public struct LogForwarding: Sendable, Hashable {
        /// `log_forwarding.enabled`, default `true`: lines logged through ``APMLogHandler`` are sent.
        public var enabled: Bool = true
        /// `log_forwarding.level`, default `info`: lines below it are not sent.
        public var level: LogLevel = .info
        /// `log_forwarding.max_per_harvest`, default 10,000: lines kept per harvest; the rest are counted as
        /// dropped and reported.
        public var maxPerHarvest: Int = 10_000
        /// `log_forwarding.forward_output`, default `false`: `apm run-program` sends the program's stdout and
        /// stderr lines as logs (as `--forward-output` does).
        public var forwardOutput: Bool = false
    }

    /// `license_key` / `APM_LICENSE_KEY`. Without it the agent is off.
    public var licenseKey: String = ""
    /// `app_name` / `APM_APP_NAME`, default `My Application`.
    public var appName: String = "My Application"
    /// `collector_url` / `APM_COLLECTOR_URL`, default `http://127.0.0.1:7070`.
    public var collectorURL: String = "http://127.0.0.1:7070"
    /// `enabled` / `APM_ENABLED`, default `true`.
    public var enabled: Bool = true
    /// `environment` / `APM_ENVIRONMENT`: selects the `[agent:<environment>]` section; default empty.
    public var environment: String = ""
    /// `log_level` / `APM_LOG_LEVEL`, default `info`: the agent's own log lines.
    public var logLevel: Logger.Level = .info
    /// `log_file` / `APM_LOG_FILE`: where the agent logs; empty (default) uses the app's logging system,
    /// `stderr` or `stdout` write there.
    public var logFile: String = ""
    /// `apdex_t` / `APM_APDEX_T`, default 0.5 s; used until the collector sends the app's T.
    public var apdexT: ApdexThreshold = .default
    /// `harvest_interval` / `APM_HARVEST_INTERVAL`, default 10 s.
    public var harvestInterval: Duration = .seconds(10)
    /// `max_memory_mb`, default 32: the bound on what the agent holds (aggregates, unsent data).
    public var maxMemoryBytes: Int = 32 * 1024 * 1024
    /// `max_transaction_names`, default 1,000: distinct transaction names before new ones go to `(overflow)`.
    public var maxTransactionNames: Int = 1000
    /// `max_segment_names`, default 2,000: distinct (transaction, segment) names per harvest.
    public var maxSegmentNames: Int = 2000
    /// `request_timeout`, default 10 s: per delivery attempt.
    public var requestTimeout: Duration = .seconds(10)
    /// `shutdown_timeout`, default 3 s: the final flush's deadline.
    public var shutdownTimeout: Duration = .seconds(3)
    /// The first retry delay after a failed delivery (doubles up to ``retryMaxBackoff``). Not in the INI file.
    public var retryInitialBackoff: Duration = .seconds(1)
    /// The longest retry delay. Not in the INI file.
    public var retryMaxBackoff: Duration = .seconds(60)
    /// How long to wait before trying again after the collector refused the license key (401/403): the key may
    /// be fixed on the collector's side meanwhile. Not in the INI file; default 5 minutes.
    public var keyRejectedRetryInterval: Duration = .seconds(300)
    /// `transaction_tracer.*`.
    public var transactionTracer = TransactionTracer()
    /// `error_collector.*`.
    public var errorCollector = ErrorCollector()
    /// `log_forwarding.*`.
    public var logForwarding = LogForwarding()
    /// `labels` / `APM_LABELS`: `key:value;key2:value2`.
    public var labels: [String: String] = [:]
    /// `high_security` / `APM_HIGH_SECURITY`, default `false`: forces obfuscated (or no) SQL, strips error
    /// messages and custom attributes.
    public var highSecurity: Bool = false
    /// `attributes.exclude`: attribute names not recorded; a trailing `*` matches a prefix.
    public var attributesExclude: [String] = []

    /// The defaults.
    public static let `default` = AgentConfiguration()

    /// Creates the default configuration.
    public init() {}

    /// Whether the agent should run: enabled and a license key present.
    public var isActive: Bool { enabled && !licenseKey.isEmpty }

    /// The SQL recording mode after `high_security`.
    public var effectiveRecordSQL: RecordSQL {
        highSecurity && transactionTracer.recordSQL == .raw ? .obfuscated : transactionTracer.recordSQL
    }

    /// Whether an attribute name is excluded by `attributes.exclude` (or by `high_security`).
    ///
    /// - Parameter name: The attribute's name.
    /// - Returns: `true` when it must not be recorded.
    public func isAttributeExcluded(_ name: String) -> Bool {
        if highSecurity { return true }
        for pattern in attributesExclude {
            if pattern.hasSuffix("*") {
                if name.hasPrefix(pattern.dropLast()) { return true }
            } else if name == pattern {
                return true
            }
        }
        return false
    }
}
