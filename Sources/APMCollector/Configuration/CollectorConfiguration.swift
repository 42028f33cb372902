public import APMCore
public import APMStorage
import Foundation

/// Everything the collector can be told: a `[collector]` section of an INI file, `APM_COLLECTOR_*`
/// environment variables (which win over the file), and flags (which win over both).
public struct CollectorConfiguration: Sendable, Hashable {
    /// Listening address.
    public struct Server: Sendable, Hashable {
        /// `host` / `APM_COLLECTOR_HOST`, default `127.0.0.1` (loopback only; set `0.0.0.0` to expose).
        public var host: String = "127.0.0.1"
        /// `port` / `APM_COLLECTOR_PORT`, default 7070; 0 picks a free port.
        public var port: Int = 7070
        /// `max_connections`, default 1,024: open connections at once; past it the collector stops accepting
        /// until one closes. Kept below the process's file-descriptor limit so that the store and logs can
        /// always open files.
        public var maxConnections: Int = 1024
        /// `idle_timeout`, default 60 s: a kept-alive connection with no request in progress is closed after this.
        public var idleTimeout: Duration = .seconds(60)
        /// `header_timeout`, default 10 s: a request's head (line and headers) must arrive within this.
        public var headerTimeout: Duration = .seconds(10)
        /// `body_timeout`, default 30 s: a request's body must arrive in full within this of its head.
        public var bodyTimeout: Duration = .seconds(30)
        /// `allowed_hosts`, default empty: host names the collector answers to besides `localhost`, `127.0.0.1`,
        /// `::1` and `host` (comma-separated); a request for another host gets 421 (DNS rebinding). Bound to every
        /// interface (`0.0.0.0`) with none set, any host is accepted.
        public var allowedHosts: [String] = []
        /// `trusted_proxies`, default empty: addresses of reverse proxies whose `X-Forwarded-For` names the client
        /// (for sign-in throttling per client address); comma-separated.
        public var trustedProxies: [String] = []
        /// `shutdown_timeout` / `APM_SHUTDOWN_TIMEOUT`, default 10 s (1 to 300): after SIGTERM or SIGINT the
        /// collector finishes the requests in progress and stops within this, whatever the store does.
        public var shutdownTimeout: Duration = .seconds(10)
    }

    /// Size limits on what agents send.
    public struct Limits: Sendable, Hashable {
        /// `max_body_mb`, default 10: the largest request body accepted (compressed), else 413.
        public var maxBodyBytes: Int = 10 * 1024 * 1024
        /// `max_decompressed_mb`, default 16: the largest body after gzip, else 413 (checked while inflating).
        public var maxDecompressedBytes: Int = 16 * 1024 * 1024
        /// `max_transaction_names` / `max_segment_names` / `max_apps`: the cardinality caps per app and account.
        public var cardinality = CardinalityLimits()
        /// `max_traces_per_batch`, `max_error_samples_per_batch`, `max_segments_per_trace`: samples kept per
        /// batch; the rest are counted as dropped and shown on the apps page.
        public var samples = AgentBatch.SampleCaps()
        /// `ingest_memory_mb`, default 512: what all ingest requests may hold together (bodies, inflated and
        /// parsed, estimated before parsing); past it, requests get 503 with `Retry-After`.
        public var ingestMemoryBytes: Int = 512 * 1024 * 1024
        /// `max_queued_batches`, default 4,096: batches waiting for the store's next commit; past it, 503 with
        /// `Retry-After` (the store is slower than the agents, and waiting longer would only time them out).
        public var maxQueuedBatches: Int = 4096

        /// What one request may hold: a quarter of ``ingestMemoryBytes``, so that one request never takes the
        /// whole budget. A body that would need more (inflated, plus what parsing it allocates) gets 413.
        public var perRequestMemoryBytes: Int { ingestMemoryBytes / 4 }
    }

    /// OTLP trace exports.
    public struct OTLP: Sendable, Hashable {
        /// `otlp_trace_wait`, default 30 s (0 to 300): how long a span waits, in the store, for the rest of its
        /// trace. SDKs export spans in batches as they end (every 5 s or 512 spans), so a request's database or
        /// HTTP client spans often arrive in the export before or after its server span. A transaction is counted
        /// this long after it arrived, with every segment that arrived before then; a segment whose transaction
        /// has not arrived within this of its own arrival is counted as unmatched. 0: a transaction is counted on
        /// arrival with the segments of its own export only, and the others are rejected in the export's answer.
        public var traceWait: Duration = .seconds(30)
        /// `max_pending_spans`, default 1,000,000: spans waiting for their traces; past it, exports get 503 with
        /// `Retry-After` until the settler catches up.
        public var maxPendingSpans: Int = 1_000_000
    }

    /// How long data is kept.
    public struct Retention: Sendable, Hashable {
        /// `minute_retention_hours`, default 48: minute rows older than this are deleted (hour rows keep the
        /// totals, so queries over older ranges use hourly buckets).
        public var minuteRetention: Duration = .seconds(48 * 3600)
        /// `retention_days`, default 30: hour rows, traces, error groups and deployments older than this are deleted.
        public var retention: Duration = .seconds(30 * 86_400)
        /// `log_retention_days`, default 7: log lines logged before this are deleted.
        public var logRetention: Duration = .seconds(7 * 86_400)
        /// `retention_interval`, default 600 s: how often the retention job runs.
        public var interval: Duration = .seconds(600)
    }

    /// `[collector]` host and port.
    public var server = Server()
    /// `data_dir` / `APM_DATA_DIR`, default `./apm-data`: holds `apm.sqlite`.
    public var dataDirectory: String = "apm-data"
    /// Size and cardinality limits.
    public var limits = Limits()
    /// Retention.
    public var retention = Retention()
    /// OTLP trace exports.
    public var otlp = OTLP()
    /// Which store holds the data.
    public var storage = Storage()
    /// `log_level` / `APM_COLLECTOR_LOG_LEVEL`, default `info`.
    public var logLevel: String = "info"
    /// `password_hash_cost`, default 15: log2 of scrypt's N for dashboard passwords (10 to 20).
    public var passwordHashCost: Int = PasswordHasher.defaultCost
    /// Alert evaluation and notifications.
    public var alerts = AlertSettings()

    /// The defaults.
    public static let `default` = CollectorConfiguration()

    /// Creates the default configuration.
    public init() {}

    /// The SQLite file.
    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("apm.sqlite") }

    /// Where the data is, for the start-up line.
    public var storageDescription: String {
        storage.effectiveBackend == .postgresql ? storage.redactedURL ?? "PostgreSQL" : databasePath
    }

    /// The environment variables read, with the key each overrides.
    public static let environmentVariables: [(variable: String, key: String)] = [
        ("APM_COLLECTOR_HOST", "host"), ("APM_COLLECTOR_PORT", "port"), ("APM_DATA_DIR", "data_dir"),
        ("APM_COLLECTOR_LOG_LEVEL", "log_level"), ("APM_RETENTION_DAYS", "retention_days"),
        ("APM_STORAGE", "storage"), ("APM_POSTGRES_URL", "postgres_url"),
        ("APM_ALERT_EVALUATION_DELAY", "alert_evaluation_delay"), ("APM_DASHBOARD_URL", "dashboard_url"),
        ("APM_SMTP_URL", "smtp_url"), ("APM_SMTP_PASSWORD", "smtp_password"),
        ("APM_STORE_TIMEOUT", "store_timeout"), ("APM_SHUTDOWN_TIMEOUT", "shutdown_timeout"),
    ]

    /// Every key of the `[collector]` section.
    public static let keys =
        [
            "host", "port", "data_dir", "log_level", "max_body_mb", "max_decompressed_mb", "max_transaction_names",
            "max_segment_names", "max_apps", "max_metric_series", "max_traces_per_batch", "max_error_samples_per_batch",
            "max_segments_per_trace", "ingest_memory_mb", "max_queued_batches", "max_connections", "idle_timeout",
            "header_timeout", "body_timeout", "allowed_hosts", "trusted_proxies", "minute_retention_hours",
            "retention_days", "log_retention_days", "max_log_records_per_day", "retention_interval", "otlp_trace_wait",
            "max_pending_spans",
            "password_hash_cost", "storage", "postgres_url", "postgres_pool_size", "store_timeout",
            "shutdown_timeout",
        ] + AlertSettings.keys

    /// Loads the `[collector]` section of a file (if any), then environment overrides.
    ///
    /// - Parameters:
    ///   - file: An INI file's path, or `nil`.
    ///   - environment: Environment variables.
    /// - Returns: The configuration.
    /// - Throws: ``ConfigurationError`` naming file, line, key, value and what is allowed.
    public static func load(file: String?, environment: [String: String]) throws -> CollectorConfiguration {
        var configuration = CollectorConfiguration()
        if let file {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError(
                    .unreadableFile,
                    file: file,
                    message: "cannot read the config file: \(error.localizedDescription)"
                )
            }
            let document = try INIDocument(parsing: text, path: file)
            for section in document.sections(named: "collector") {
                for entry in section.entries {
                    if let problem = try configuration.apply(key: entry.key, value: entry.value) {
                        throw ConfigurationError(
                            .invalidValue,
                            file: file,
                            line: entry.line,
                            key: entry.key,
                            value: Self.shown(entry.value, key: entry.key),
                            message: problem
                        )
                    }
                }
            }
        }
        for (variable, key) in environmentVariables {
            guard let value = environment[variable] else { continue }
            if let problem = try configuration.apply(key: key, value: value) {
                throw ConfigurationError(
                    .invalidValue,
                    file: "environment",
                    key: variable,
                    value: Self.shown(value, key: key),
                    message: problem
                )
            }
        }
        try configuration.checkConsistency(file: file ?? "configuration")
        return configuration
    }

    /// A value as an error message may show it: never a URL that may hold a password.
    static func shown(_ value: String, key: String) -> String {
        key == "postgres_url" || key == "smtp_password" ? "(not shown: it may hold a password)" : value
    }

    /// Checks settings that depend on each other.
    ///
    /// - Parameter file: Where the settings came from, for the message.
    /// - Throws: ``ConfigurationError`` naming the settings and how to fix them.
    public func checkConsistency(file: String) throws {
        if storage.backend == .sqlite, storage.postgresURL != nil {
            throw ConfigurationError(
                .invalidValue,
                file: file,
                key: "storage",
                value: "sqlite",
                message:
                    "storage = sqlite, but postgres_url (or APM_POSTGRES_URL) is set too: set storage = postgresql, or remove the URL"
            )
        }
        if storage.backend == .postgresql, storage.postgresURL == nil {
            throw ConfigurationError(
                .invalidValue,
                file: file,
                key: "storage",
                value: "postgresql",
                message:
                    "storage = postgresql needs postgres_url (or APM_POSTGRES_URL, --postgres-url), e.g. postgres://apm:secret@127.0.0.1:5432/apm"
            )
        }
        if let smtp = alerts.smtp, !smtp.isConfigured {
            throw ConfigurationError(
                .invalidValue,
                file: file,
                key: smtp.url.isEmpty ? "smtp_url" : "smtp_from",
                value: "",
                message: smtp.url.isEmpty
                    ? "the smtp_* settings need smtp_url (smtp://HOST:587 or smtps://HOST:465)"
                    : "smtp_url needs smtp_from, the address alert mail comes from (e.g. apm@example.com)"
            )
        }
        // The inflated body is held twice (the bytes and what is parsed from them) within one request's share.
        guard limits.maxDecompressedBytes * 2 <= limits.perRequestMemoryBytes else {
            throw ConfigurationError(
                .invalidValue,
                file: file,
                key: "max_decompressed_mb",
                value: String(limits.maxDecompressedBytes / 1_048_576),
                message:
                    "a request may hold a quarter of ingest_memory_mb (\(limits.ingestMemoryBytes / 1_048_576)), which must be at least twice max_decompressed_mb; raise ingest_memory_mb to at least \(limits.maxDecompressedBytes / 1_048_576 * 8) or lower max_decompressed_mb"
            )
        }
    }
}
