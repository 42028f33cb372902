// swift-format-ignore-file
// (The template below is the exact text of agent.ini.example; formatting must not re-indent it.)
import Foundation

/// The fully commented agent configuration file that `apm generate-config` writes; `agent.ini.example` at the
/// repository root is this text with an empty key (a test keeps them identical).
package enum AgentConfigurationTemplate {
    /// The file's text with a license key (and optionally the app's name and the collector's URL) filled in.
    ///
    /// - Parameters:
    ///   - licenseKey: The key, or empty.
    ///   - appName: The app's name (also in the staging section's example), or `nil` for the template's.
    ///   - collectorURL: The collector's URL, or `nil` for the template's.
    /// - Returns: The file's text.
    package static func text(licenseKey: String, appName: String? = nil, collectorURL: String? = nil) -> String {
        var text = template.replacingOccurrences(
            of: "\nlicense_key =\n",
            with: licenseKey.isEmpty ? "\nlicense_key =\n" : "\nlicense_key = \(licenseKey)\n"
        )
        if let appName {
            text = text.replacingOccurrences(of: "\napp_name = My Application\n", with: "\napp_name = \(appName)\n")
                .replacingOccurrences(
                    of: "\napp_name = My Application (staging)\n",
                    with: "\napp_name = \(appName) (staging)\n"
                )
        }
        if let collectorURL {
            text = text.replacingOccurrences(
                of: "\ncollector_url = http://127.0.0.1:7070\n",
                with: "\ncollector_url = \(collectorURL)\n"
            )
        }
        return text
    }

    static let template = #"""
# swift-apm agent configuration.
#
# The agent reads this file when APM_CONFIG_FILE names it (`apm run-program --config agent.ini -- ./MyApp`
# sets that for you). Order of precedence, lowest first:
#   built-in defaults < [agent] < [agent:<environment>] < environment variables (APM_*)
# Environment variables always win over this file. A broken value is reported in one log line
# (file:line: key = "value": what is allowed) and the agent stays off; the app keeps running.
# Durations are seconds ("10", "10s" or "250ms").

[agent]

# The license key printed by `apm collector` on first start or by `apm keys create`.
# Without it the agent is off and costs nothing.            env: APM_LICENSE_KEY
license_key =

# The name your app is shown under.                         env: APM_APP_NAME       default: My Application
app_name = My Application

# Where the collector listens.                              env: APM_COLLECTOR_URL  default: http://127.0.0.1:7070
collector_url = http://127.0.0.1:7070

# Switch the agent off without removing the key.            env: APM_ENABLED        default: true
enabled = true

# Selects the [agent:<environment>] section below.          env: APM_ENVIRONMENT    default: (none)
# environment = production

# The agent's own log lines: trace, debug, info, notice, warning, error, critical.
#                                                           env: APM_LOG_LEVEL      default: info
log_level = info

# Where the agent logs: empty = the app's logging system, or stderr, stdout, or a file path.
#                                                           env: APM_LOG_FILE       default: (empty)
log_file =

# Apdex T in seconds: satisfied <= T, tolerating <= 4T, frustrated > 4T or an error. Used until the
# collector sends the app's T (set it there with `apm apps set-apdex`).
#                                                           env: APM_APDEX_T        default: 0.5
apdex_t = 0.5

# How often aggregated data is delivered (1 to 600 s).      env: APM_HARVEST_INTERVAL default: 10
harvest_interval = 10

# The most memory the agent holds (aggregates and data kept while the collector is unreachable), in MiB.
# Past it the oldest data is dropped, counted, and reported.  default: 32
max_memory_mb = 32

# Distinct transaction names before new names go to "(overflow)".          default: 1000
max_transaction_names = 1000

# Distinct (transaction, segment) names per harvest before new ones go to "(overflow)".  default: 2000
max_segment_names = 2000

# Time limit for one delivery attempt.                                       default: 10
request_timeout = 10

# How long the final flush at shutdown may take.                             default: 3
shutdown_timeout = 3

# Labels sent with every batch, as key:value pairs separated by ';'.         env: APM_LABELS  default: (none)
# labels = team:checkout;region:eu
labels =

# Forces obfuscated SQL (never raw), strips error messages and custom attributes.
#                                                           env: APM_HIGH_SECURITY  default: false
high_security = false

# Attribute names never recorded, separated by spaces or commas; a trailing * matches a prefix.
# default: (none)
# attributes.exclude = password http.request.header.*
attributes.exclude =

# --- Slow transaction traces ---
# Keep the slowest transactions of each harvest with their segment tree.    default: true
transaction_tracer.enabled = true
# How slow a transaction must be to be traced: seconds, or apdex_f (4 x T).  default: apdex_f
transaction_tracer.threshold = apdex_f
# SQL in traces: off, obfuscated (literals become ?), raw.                   default: obfuscated
transaction_tracer.record_sql = obfuscated
# Segments kept per trace (1 to 10000).                                      default: 200
transaction_tracer.max_segments = 200
# Traces kept per harvest (0 to 1000).                                       default: 20
transaction_tracer.max_traces = 20
# Besides them, the slowest trace of each transaction name that has none, for this many names per harvest
# (0 to 1000), so that a transaction slow under the threshold has a trace too.   default: 50
transaction_tracer.max_name_traces = 50

# --- Errors ---
# Record errors (type, message, stack) and count failed transactions.        default: true
error_collector.enabled = true
# Responses with these statuses never count as errors, even when an error was noticed while serving them.
# Codes or ranges, e.g. "404 409-410".                                       default: 404
error_collector.ignore_status_codes = 404
# Error types never recorded, e.g. "CancellationError MyApp.ExpectedError".  default: (none)
error_collector.ignore_errors =
# Error samples kept per harvest (0 to 1000).                                default: 20
error_collector.max_samples = 20

# --- Logs ---
# Send the app's log lines (logged through APMLogHandler) with each harvest.  default: true
log_forwarding.enabled = true
# Lines below this level are not sent: trace, debug, info, warn, error or fatal.   default: info
log_forwarding.level = info
# Lines kept per harvest (0 to 15000); the rest are counted as dropped.       default: 10000
log_forwarding.max_per_harvest = 10000
# apm run-program sends the program's stdout and stderr lines as logs too.   default: false
log_forwarding.forward_output = false

# Per-environment overrides: any key above, applied when environment (or APM_ENVIRONMENT) matches.
[agent:staging]
app_name = My Application (staging)

[agent:development]
enabled = false

"""#
}
