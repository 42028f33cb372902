public import APMCore
import Foundation
import Logging

extension AgentConfiguration {
    /// The result of loading: the configuration and the non-fatal findings (unknown keys).
    public struct Loaded: Sendable {
        /// The configuration.
        public var configuration: AgentConfiguration
        /// Keys that were ignored, one message each.
        public var warnings: [ConfigurationError]
        /// The config file read, `nil` when none.
        public var file: String?
    }

    /// The environment variables read, with the INI key each one overrides.
    public static let environmentVariables: [(variable: String, key: String)] = [
        ("APM_LICENSE_KEY", "license_key"), ("APM_APP_NAME", "app_name"), ("APM_COLLECTOR_URL", "collector_url"),
        ("APM_ENABLED", "enabled"), ("APM_LOG_LEVEL", "log_level"), ("APM_LOG_FILE", "log_file"),
        ("APM_APDEX_T", "apdex_t"), ("APM_HARVEST_INTERVAL", "harvest_interval"), ("APM_LABELS", "labels"),
        ("APM_HIGH_SECURITY", "high_security"),
    ]

    /// Everything wrong with a configuration, not just the first problem: what `apm validate-config` lists.
    package struct Check: Sendable {
        /// The configuration as far as it could be read (valid values applied, invalid ones left at their default).
        package var configuration: AgentConfiguration
        /// Every invalid value or malformed line, in file order, then the environment's.
        package var problems: [ConfigurationError]
        /// Keys and sections that are ignored.
        package var warnings: [ConfigurationError]
        /// The config file read, `nil` when none.
        package var file: String?
    }

    /// Loads the configuration: defaults, then the INI file named by `APM_CONFIG_FILE` (its `[agent]` section,
    /// then `[agent:<environment>]`), then the `APM_*` environment variables, which win over the file.
    ///
    /// The environment is `APM_ENVIRONMENT` if set, else the file's `environment` key.
    /// - Parameters:
    ///   - environment: The process environment (pass `ProcessInfo.processInfo.environment`).
    ///   - readFile: Reads a file's text; injectable for tests.
    /// - Returns: The configuration and warnings.
    /// - Throws: The first ``ConfigurationError``, naming file, line, key, value and what is allowed.
    public static func load(
        environment: [String: String],
        readFile: ((String) throws -> String)? = nil
    ) throws -> Loaded {
        let check = try check(environment: environment, readFile: readFile)
        if let first = check.problems.first { throw first }
        return Loaded(configuration: check.configuration, warnings: check.warnings, file: check.file)
    }

    /// Reads the configuration like ``load(environment:readFile:)`` but collects every problem.
    ///
    /// - Parameters:
    ///   - environment: The process environment.
    ///   - readFile: Reads a file's text; injectable for tests.
    /// - Returns: The configuration read so far, every problem and every warning.
    /// - Throws: ``ConfigurationError`` when the file cannot be read at all.
    package static func check(
        environment: [String: String],
        readFile: ((String) throws -> String)? = nil
    ) throws -> Check {
        let readFile = readFile ?? { try String(contentsOfFile: $0, encoding: .utf8) }
        var problems: [ConfigurationError] = []
        var document: INIDocument?
        let path = environment["APM_CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let path {
            let text: String
            do {
                text = try readFile(path)
            } catch {
                throw ConfigurationError(
                    .unreadableFile,
                    file: path,
                    key: "APM_CONFIG_FILE",
                    message:
                        "cannot read the config file (\(error.localizedDescription)); check the path, or unset APM_CONFIG_FILE"
                )
            }
            let (parsed, syntax) = INIDocument.parseAll(text, path: path)
            document = parsed
            problems += syntax
        }
        var check = check(document: document, environment: environment)
        check.problems = problems + check.problems
        check.file = path
        return check
    }

    /// Loads from a parsed INI document (or none) and environment variables. See ``load(environment:readFile:)``.
    ///
    /// - Parameters:
    ///   - document: The parsed config file, or `nil`.
    ///   - environment: The environment variables.
    /// - Returns: The configuration and warnings.
    /// - Throws: The first ``ConfigurationError``.
    public static func load(document: INIDocument?, environment: [String: String]) throws -> Loaded {
        let check = check(document: document, environment: environment)
        if let first = check.problems.first { throw first }
        return Loaded(configuration: check.configuration, warnings: check.warnings, file: nil)
    }

    /// Collects every problem of a parsed document and the environment.
    ///
    /// - Parameters:
    ///   - document: The parsed config file, or `nil`.
    ///   - environment: The environment variables.
    /// - Returns: The configuration read so far, problems and warnings.
    package static func check(document: INIDocument?, environment: [String: String]) -> Check {
        var configuration = AgentConfiguration()
        var warnings: [ConfigurationError] = []
        var problems: [ConfigurationError] = []
        if let document {
            for section in document.sections where !section.name.hasPrefix("agent") {
                warnings.append(
                    ConfigurationError(
                        .unknownKey,
                        file: document.path,
                        line: section.line,
                        key: "[\(section.name)]",
                        message: "unknown section ignored; sections are [agent] and [agent:<environment>]"
                    )
                )
            }
            for section in document.sections(named: "agent") {
                apply(section, of: document, to: &configuration, warnings: &warnings, problems: &problems)
            }
        }
        let environmentName =
            environment["APM_ENVIRONMENT"].flatMap { $0.isEmpty ? nil : $0 } ?? configuration.environment
        configuration.environment = environmentName
        if let document, !environmentName.isEmpty {
            for section in document.sections(named: "agent:\(environmentName)") {
                apply(section, of: document, to: &configuration, warnings: &warnings, problems: &problems)
            }
        }
        for (variable, key) in environmentVariables {
            guard let value = environment[variable], let setting = settings[key] else { continue }
            if let problem = setting.apply(&configuration, value) {
                problems.append(
                    ConfigurationError(
                        .invalidValue,
                        file: "environment",
                        key: variable,
                        value: value,
                        message: problem
                    )
                )
            }
        }
        return Check(configuration: configuration, problems: problems, warnings: warnings, file: nil)
    }

    private static func apply(
        _ section: INIDocument.Section,
        of document: INIDocument,
        to configuration: inout AgentConfiguration,
        warnings: inout [ConfigurationError],
        problems: inout [ConfigurationError]
    ) {
        for entry in section.entries {
            guard let setting = settings[entry.key] else {
                let suggestion = closestKey(to: entry.key).map { "; did you mean `\($0)`?" } ?? ""
                warnings.append(
                    ConfigurationError(
                        .unknownKey,
                        file: document.path,
                        line: entry.line,
                        key: entry.key,
                        message: "unknown key ignored\(suggestion)"
                    )
                )
                continue
            }
            if let problem = setting.apply(&configuration, entry.value) {
                problems.append(
                    ConfigurationError(
                        .invalidValue,
                        file: document.path,
                        line: entry.line,
                        key: entry.key,
                        value: entry.value,
                        message: problem
                    )
                )
            }
        }
    }

    /// Every INI key, in the order of `agent.ini.example`.
    public static var keys: [String] { settingOrder }

    /// Applies a value; returns what is allowed when the value is invalid.
    typealias Setting = ConfigurationSetting<AgentConfiguration>

    private static let settingOrder = [
        "license_key", "app_name", "collector_url", "enabled", "environment", "log_level", "log_file", "apdex_t",
        "harvest_interval", "max_memory_mb", "max_transaction_names", "max_segment_names", "request_timeout",
        "shutdown_timeout", "labels", "high_security", "attributes.exclude", "transaction_tracer.enabled",
        "transaction_tracer.threshold", "transaction_tracer.record_sql", "transaction_tracer.max_segments",
        "transaction_tracer.max_traces", "transaction_tracer.max_name_traces", "error_collector.enabled",
        "error_collector.ignore_status_codes",
        "error_collector.ignore_errors", "error_collector.max_samples", "log_forwarding.enabled",
        "log_forwarding.level", "log_forwarding.max_per_harvest", "log_forwarding.forward_output",
    ]

    static let settings: [String: Setting] = [
        "license_key": Setting { config, value in
            guard value.isEmpty || LicenseKeyFormat.isWellFormed(value) else { return LicenseKeyFormat.requirement }
            config.licenseKey = value
            return nil
        },
        "app_name": Setting { config, value in
            guard !value.isEmpty, value.utf8.count <= 255,
                !value.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 32 } == true })
            else {
                return "must be 1 to 255 characters without control characters"
            }
            config.appName = value
            return nil
        },
        "collector_url": Setting { config, value in
            guard let url = URL(string: value), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https",
                url.host?.isEmpty == false, url.query == nil
            else {
                return "must be an http:// or https:// URL with a host, such as http://127.0.0.1:7070"
            }
            config.collectorURL = value.hasSuffix("/") ? String(value.dropLast()) : value
            return nil
        },
        "enabled": .flag(\.enabled),
        "environment": Setting { config, value in
            guard value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), value.count <= 64 else {
                return "must be letters, digits, '-' or '_' (at most 64), e.g. production"
            }
            config.environment = value
            return nil
        },
        "log_level": Setting { config, value in
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                return "must be one of trace, debug, info, notice, warning, error, critical"
            }
            config.logLevel = level
            return nil
        },
        "log_file": Setting { config, value in
            config.logFile = value
            return nil
        },
        "apdex_t": Setting { config, value in
            guard let seconds = Double(value), let threshold = ApdexThreshold(seconds: seconds) else {
                return "must be \(ApdexThreshold.allowedDescription)"
            }
            config.apdexT = threshold
            return nil
        },
        "harvest_interval": .seconds(\.harvestInterval, range: 1...600),
        "max_memory_mb": .wholeNumber(1...4096) { $0.maxMemoryBytes = $1 * 1024 * 1024 },
        "max_transaction_names": .wholeNumber(10...100_000) { $0.maxTransactionNames = $1 },
        "max_segment_names": .wholeNumber(10...100_000) { $0.maxSegmentNames = $1 },
        "request_timeout": .seconds(\.requestTimeout, range: 0.1...300),
        "shutdown_timeout": .seconds(\.shutdownTimeout, range: 0...60),
        "labels": Setting { config, value in
            var labels: [String: String] = [:]
            for pair in value.split(separator: ";", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0].count <= 255,
                    parts[1].count <= 255
                else {
                    return "must be key:value pairs separated by ';', e.g. team:checkout;region:eu"
                }
                labels[parts[0]] = parts[1]
            }
            guard labels.count <= 64 else { return "at most 64 labels are allowed" }
            config.labels = labels
            return nil
        },
        "high_security": .flag(\.highSecurity),
        "attributes.exclude": Setting { config, value in
            config.attributesExclude = list(value)
            return nil
        },
        "transaction_tracer.enabled": .flag(\.transactionTracer.enabled),
        "transaction_tracer.threshold": Setting { config, value in
            if value.lowercased() == "apdex_f" {
                config.transactionTracer.thresholdSeconds = nil
                return nil
            }
            guard let seconds = Double(value), seconds.isFinite, seconds >= 0, seconds <= 3600 else {
                return "must be apdex_f (4 × T) or a number of seconds from 0 to 3600"
            }
            config.transactionTracer.thresholdSeconds = seconds
            return nil
        },
        "transaction_tracer.record_sql": Setting { config, value in
            guard let mode = RecordSQL(rawValue: value.lowercased()) else { return "must be off, obfuscated or raw" }
            config.transactionTracer.recordSQL = mode
            return nil
        },
        "transaction_tracer.max_segments": .wholeNumber(1...10_000) { $0.transactionTracer.maxSegments = $1 },
        "transaction_tracer.max_traces": .wholeNumber(0...1_000) { $0.transactionTracer.maxTraces = $1 },
        "transaction_tracer.max_name_traces": .wholeNumber(0...1_000) {
            $0.transactionTracer.maxNameTraces = $1
        },
        "error_collector.enabled": .flag(\.errorCollector.enabled),
        "error_collector.ignore_status_codes": Setting { config, value in
            var codes = Set<Int>()
            for item in list(value) {
                let bounds = item.split(separator: "-", maxSplits: 1).map { Int($0) }
                if bounds.count == 1, let code = bounds[0], (100...599).contains(code) {
                    codes.insert(code)
                } else if bounds.count == 2, let low = bounds[0], let high = bounds[1], (100...599).contains(low),
                    (100...599).contains(high), low <= high
                {
                    codes.formUnion(low...high)
                } else {
                    return
                        "must be HTTP status codes (100-599) or ranges separated by spaces or commas, e.g. 404 409-410"
                }
            }
            config.errorCollector.ignoreStatusCodes = codes
            return nil
        },
        "error_collector.ignore_errors": Setting { config, value in
            config.errorCollector.ignoreErrors = Set(list(value))
            return nil
        },
        "error_collector.max_samples": .wholeNumber(0...1_000) { $0.errorCollector.maxSamples = $1 },
        "log_forwarding.enabled": .flag(\.logForwarding.enabled),
        "log_forwarding.level": Setting { config, value in
            guard let level = LogLevel(name: value) else { return "must be \(LogLevel.allowedDescription)" }
            config.logForwarding.level = level
            return nil
        },
        "log_forwarding.max_per_harvest": .wholeNumber(0...15_000) { $0.logForwarding.maxPerHarvest = $1 },
        "log_forwarding.forward_output": .flag(\.logForwarding.forwardOutput),
    ]

    private static func list(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
    }

    private static func closestKey(to key: String) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for (i, ca) in a.enumerated() {
                var current = [i + 1]
                for (j, cb) in b.enumerated() {
                    current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
                }
                previous = current
            }
            return previous[b.count]
        }
        let target = Array(key)
        let best = settingOrder.map { ($0, distance(Array($0), target)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= 3 else { return nil }
        return best.0
    }
}
