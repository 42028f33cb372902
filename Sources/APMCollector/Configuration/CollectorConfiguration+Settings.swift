import APMCore
import APMStorage
import Foundation

extension CollectorConfiguration {
    /// Applies one setting.
    ///
    /// - Parameters:
    ///   - key: A key of the `[collector]` section.
    ///   - value: Its value.
    /// - Returns: What is allowed when the value is invalid, `nil` when applied.
    /// - Throws: ``ConfigurationError`` for an unknown key.
    public mutating func apply(key: String, value: String) throws -> String? {
        if let setting = Self.settings[key] { return setting.apply(&self, value) }
        if let setting = AlertSettings.settings[key] { return setting.apply(&alerts, value) }
        throw ConfigurationError(
            .unknownKey,
            key: key,
            message: "unknown key; the [collector] keys are \(Self.keys.joined(separator: ", "))"
        )
    }

    typealias Setting = ConfigurationSetting<CollectorConfiguration>

    /// The rule of each key of the `[collector]` section (the alert keys are ``AlertSettings``'s).
    static let settings: [String: Setting] = [
        "host": Setting { configuration, value in
            guard isHostName(value) else { return "must be an IP address or host name, e.g. 127.0.0.1" }
            configuration.server.host = value
            return nil
        },
        "port": Setting { configuration, value in
            guard let port = Int(value), (0...65535).contains(port) else {
                return "must be a port number from 0 to 65535"
            }
            configuration.server.port = port
            return nil
        },
        "data_dir": Setting { configuration, value in
            guard !value.isEmpty else { return "must be a directory path" }
            configuration.dataDirectory = value
            return nil
        },
        "log_level": Setting { configuration, value in
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value) else {
                return "must be one of trace, debug, info, notice, warning, error, critical"
            }
            configuration.logLevel = value
            return nil
        },
        "max_body_mb": .wholeNumber(1...1024, of: "MiB") { $0.limits.maxBodyBytes = $1 * 1024 * 1024 },
        "max_decompressed_mb": .wholeNumber(1...4096, of: "MiB") { $0.limits.maxDecompressedBytes = $1 * 1024 * 1024 },
        "max_transaction_names": .wholeNumber(10...1_000_000) { $0.limits.cardinality.maxTransactionNames = $1 },
        "max_segment_names": .wholeNumber(10...1_000_000) { $0.limits.cardinality.maxSegmentNames = $1 },
        "max_apps": .wholeNumber(1...1_000_000) { $0.limits.cardinality.maxApps = $1 },
        "max_metric_series": .wholeNumber(1...1_000_000) { $0.limits.cardinality.maxMetricSeries = $1 },
        "max_traces_per_batch": .wholeNumber(1...10_000) { $0.limits.samples.maxTraces = $1 },
        "max_error_samples_per_batch": .wholeNumber(1...10_000) { $0.limits.samples.maxErrors = $1 },
        "max_segments_per_trace": .wholeNumber(10...100_000) { $0.limits.samples.maxSegmentsPerTrace = $1 },
        "ingest_memory_mb": .wholeNumber(16...65_536, of: "MiB") { $0.limits.ingestMemoryBytes = $1 * 1024 * 1024 },
        "max_queued_batches": .wholeNumber(16...1_000_000) { $0.limits.maxQueuedBatches = $1 },
        "max_connections": .wholeNumber(16...1_000_000) { $0.server.maxConnections = $1 },
        "idle_timeout": .wholeNumber(1...3600, of: "seconds") { $0.server.idleTimeout = .seconds($1) },
        "header_timeout": .wholeNumber(1...3600, of: "seconds") { $0.server.headerTimeout = .seconds($1) },
        "body_timeout": .wholeNumber(1...3600, of: "seconds") { $0.server.bodyTimeout = .seconds($1) },
        "allowed_hosts": hostList { $0.server.allowedHosts = $1 },
        "trusted_proxies": hostList { $0.server.trustedProxies = $1 },
        "minute_retention_hours": .wholeNumber(1...24 * 366, of: "hours") {
            $0.retention.minuteRetention = .seconds($1 * 3600)
        },
        "retention_days": .wholeNumber(1...3660, of: "days") { $0.retention.retention = .seconds($1 * 86_400) },
        "log_retention_days": .wholeNumber(1...3660, of: "days") { $0.retention.logRetention = .seconds($1 * 86_400) },
        "max_log_records_per_day": Setting { configuration, value in
            guard let count = Int(value), (0...1_000_000_000).contains(count) else {
                return "must be a whole number from 0 (store no log lines) to 1000000000"
            }
            configuration.limits.cardinality.maxLogRecordsPerDay = count
            return nil
        },
        "retention_interval": .wholeNumber(10...86_400, of: "seconds") { $0.retention.interval = .seconds($1) },
        "otlp_trace_wait": .wholeNumber(0...300, of: "seconds") { $0.otlp.traceWait = .seconds($1) },
        "max_pending_spans": .wholeNumber(1000...100_000_000) { $0.otlp.maxPendingSpans = $1 },
        "storage": Setting { configuration, value in
            guard !value.isEmpty else {
                configuration.storage.backend = nil
                return nil
            }
            guard let backend = Storage.Backend(rawValue: value.lowercased()) else {
                return "must be sqlite (one collector, the default) or postgresql (several collectors)"
            }
            configuration.storage.backend = backend
            return nil
        },
        "postgres_url": Setting { configuration, value in
            guard !value.isEmpty else {
                configuration.storage.postgresURL = nil
                return nil
            }
            let lowered = value.lowercased()
            guard lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://"),
                URLComponents(string: value) != nil
            else {
                return "must be a URL like postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=prefer"
            }
            configuration.storage.postgresURL = value
            return nil
        },
        "postgres_pool_size": .wholeNumber(1...1000) { $0.storage.postgresPoolSize = $1 },
        "store_timeout": .wholeNumber(1...300, of: "seconds") { $0.storage.timeout = .seconds($1) },
        "shutdown_timeout": .wholeNumber(1...300, of: "seconds") { $0.server.shutdownTimeout = .seconds($1) },
        "password_hash_cost": Setting { configuration, value in
            guard let cost = Int(value), (10...20).contains(cost) else {
                return "must be a whole number from 10 to 20 (log2 of scrypt's N)"
            }
            configuration.passwordHashCost = cost
            return nil
        },
    ]

    /// An IP address or a host name: letters, digits, `.`, `:` and `-`, at most 253.
    private static func isHostName(_ value: String) -> Bool {
        !value.isEmpty && value.count <= 253 && value.allSatisfy { $0.isLetter || $0.isNumber || ".:-".contains($0) }
    }

    /// A comma-separated list of at most 100 host names or addresses.
    private static func hostList(_ set: @escaping @Sendable (inout CollectorConfiguration, [String]) -> Void) -> Setting
    {
        Setting { configuration, value in
            let list = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            guard list.count <= 100, list.allSatisfy(isHostName) else {
                return "must be a comma-separated list of host names or addresses, e.g. apm.example.com, 10.0.0.5"
            }
            set(&configuration, list)
            return nil
        }
    }
}
