import APMCore
public import APMStorage
import Foundation

/// A condition as the API, the dashboard and `apm alerts create` send it (`docs/alerts.md`).
public struct AlertConditionRequest: Codable, Sendable {
    /// The app's id.
    public var appID: Int64?
    /// One transaction, or none for the app's web transactions.
    public var transaction: String?
    /// A label.
    public var name: String?
    /// An ``AlertMetric`` raw value.
    public var metric: String?
    /// Minutes per evaluation (1–60, default 5).
    public var windowMinutes: Int?
    /// The warning threshold.
    public var warning: Double?
    /// The critical threshold.
    public var critical: Double?
    /// Evaluations in a row (1–60, default 1).
    public var forEvaluations: Int?
    /// The quiet floor (0–1,000,000, default 10).
    public var minRequests: Int?
    /// Channel ids.
    public var channels: [Int64]?
    /// The stored metric a `metric_above`/`metric_below` condition watches.
    public var metricName: String?
    /// Which of its series: `key=value` (an attribute, or `host=NAME`); all when left out.
    public var metricFilter: String?

    /// Creates a request.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case appID = "app_id"
        case transaction, name, metric
        case windowMinutes = "window_minutes"
        case warning, critical
        case forEvaluations = "for_evaluations"
        case minRequests = "min_requests"
        case channels
        case metricName = "metric_name"
        case metricFilter = "metric_filter"
    }
}

/// A channel as the API, the dashboard and the CLI send it.
public struct AlertChannelRequest: Codable, Sendable {
    /// A label.
    public var name: String?
    /// `webhook` or `slack`.
    public var kind: String?
    /// Where notifications go.
    public var url: String?
    /// The webhook's signing secret; one is generated when none is given.
    public var secret: String?
    /// The recipient of an `email` channel.
    public var address: String?

    /// Creates a request.
    public init() {}
}

/// A request the alert rules refuse: the field and what is allowed, for a 400 (API) or a message (dashboard, CLI).
public struct AlertRequestError: Error, Sendable, Hashable {
    /// The field at fault.
    public var field: String
    /// What is allowed.
    public var message: String
}

/// The rules a condition and a channel must meet, in one place for the API, the dashboard and the CLI.
public enum AlertValidation {
    /// The metrics, as their names are written.
    static var metricNames: String { AlertMetric.allCases.map(\.rawValue).joined(separator: ", ") }

    /// A condition ready to store, or the first rule it breaks.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - accountID: The account.
    ///   - apps: The account's app ids.
    ///   - channels: The account's channel ids.
    ///   - now: Unix seconds.
    /// - Returns: The record.
    /// - Throws: ``AlertRequestError``.
    public static func condition(
        _ request: AlertConditionRequest,
        accountID: Int64,
        apps: Set<Int64>,
        channels: Set<Int64>,
        now: Double
    ) throws(AlertRequestError) -> AlertConditionRecord {
        func fail(_ field: String, _ message: String) -> AlertRequestError {
            AlertRequestError(field: field, message: message)
        }
        guard let appID = request.appID else { throw fail("app_id", "is required: the id of the app to watch") }
        guard apps.contains(appID) else { throw fail("app_id", "no app with id \(appID) in this account") }
        let name = (request.name ?? "").trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else { throw fail("name", "must be 1 to 100 characters") }
        if let transaction = request.transaction {
            guard (1...255).contains(transaction.utf8.count) else {
                throw fail("transaction", "must be a transaction name of 1 to 255 bytes, or left out for the whole app")
            }
        }
        guard let metricName = request.metric, let metric = AlertMetric(rawValue: metricName) else {
            throw fail("metric", "must be one of \(metricNames)")
        }
        let window = request.windowMinutes ?? 5
        guard (1...60).contains(window) else { throw fail("window_minutes", "must be a whole number from 1 to 60") }
        let evaluations = request.forEvaluations ?? 1
        guard (1...60).contains(evaluations) else {
            throw fail("for_evaluations", "must be a whole number from 1 to 60")
        }
        let minRequests = request.minRequests ?? 10
        guard (0...1_000_000).contains(minRequests) else {
            throw fail("min_requests", "must be a whole number from 0 to 1000000")
        }
        let channelIDs = request.channels ?? []
        guard channelIDs.count <= 20 else { throw fail("channels", "at most 20 channels per condition") }
        for id in channelIDs where !channels.contains(id) {
            throw fail("channels", "no channel with id \(id) in this account (apm alerts channels)")
        }
        try thresholds(metric: metric, warning: request.warning, critical: request.critical)
        let (watched, filter) = try watchedMetric(request, metric: metric)
        return AlertConditionRecord(
            accountID: accountID,
            appID: appID,
            transaction: request.transaction,
            name: name,
            metric: metric,
            windowMinutes: window,
            warning: request.warning,
            critical: request.critical,
            forEvaluations: evaluations,
            minRequests: minRequests,
            channelIDs: Array(Set(channelIDs)).sorted(),
            createdAt: now,
            metricName: watched,
            metricFilter: filter
        )
    }

    /// The metric and series filter of a metric condition (required), or empty for the others (refused there).
    private static func watchedMetric(
        _ request: AlertConditionRequest,
        metric: AlertMetric
    ) throws(AlertRequestError) -> (name: String, filter: String) {
        guard metric.watchesMetric else {
            guard request.metricName == nil, request.metricFilter == nil else {
                throw AlertRequestError(
                    field: request.metricName == nil ? "metric_filter" : "metric_name",
                    message: "only metric_above and metric_below watch a stored metric"
                )
            }
            return ("", "")
        }
        guard let name = request.metricName, (1...MetricPoint.maxNameBytes).contains(name.utf8.count) else {
            throw AlertRequestError(
                field: "metric_name",
                message:
                    "is required: the stored metric to watch (e.g. system.cpu.utilization; GET /api/v1/apps/{id}/metrics lists them)"
            )
        }
        let filter = request.metricFilter ?? ""
        if !filter.isEmpty {
            guard MetricSeriesFilter(parsing: filter) != nil else {
                throw AlertRequestError(
                    field: "metric_filter",
                    message: "must be key=value (an attribute of the series, or host=NAME), e.g. state=idle"
                )
            }
        }
        return (name, filter)
    }

    private static func thresholds(metric: AlertMetric, warning: Double?, critical: Double?) throws(AlertRequestError) {
        if metric == .noData || metric.issueEvent != nil {
            guard warning == nil, critical == nil else {
                throw AlertRequestError(
                    field: warning == nil ? "critical" : "warning",
                    message: metric == .noData
                        ? "no_data has no thresholds: it breaches when the window has no request at all"
                        : "\(metric.rawValue) has no thresholds: it notifies once per issue as the error occurs"
                )
            }
            return
        }
        guard warning != nil || critical != nil else {
            throw AlertRequestError(field: "critical", message: "give a warning or a critical threshold, or both")
        }
        let allowed: ClosedRange<Double>
        let unit: String
        switch metric {
        case .apdex, .errorRate:
            allowed = 0...1
            unit = metric == .apdex ? "an Apdex score from 0 to 1" : "a fraction of requests from 0 to 1 (0.05 is 5 %)"
        case .averageResponseTime, .p95ResponseTime, .p99ResponseTime:
            allowed = 0.001...3600
            unit = "seconds from 0.001 to 3600"
        case .throughputBelow, .throughputAbove, .noData, .newError, .regressedError:
            allowed = 0...1e9
            unit = "requests per minute from 0 to 1000000000"
        case .errorLogs:
            allowed = 0...1e9
            unit = "error log lines per minute from 0 to 1000000000"
        case .metricAbove, .metricBelow:
            allowed = -1e300...1e300
            unit = "a number in the metric's unit (a share from 0 to 1, bytes, per second)"
        }
        for (field, value) in [("warning", warning), ("critical", critical)] {
            guard let value else { continue }
            guard value.isFinite, allowed.contains(value) else {
                throw AlertRequestError(field: field, message: "must be \(unit)")
            }
        }
        if let warning, let critical {
            let ordered = metric.breachesBelow ? critical <= warning : critical >= warning
            guard ordered else {
                throw AlertRequestError(
                    field: "critical",
                    message: metric.breachesBelow
                        ? "must not be above warning: \(metric.rawValue) breaches below its thresholds"
                        : "must not be below warning: \(metric.rawValue) breaches above its thresholds"
                )
            }
        }
    }

    /// Whether `text` is one plain mail address (no display name, no line breaks: it goes into SMTP commands and
    /// mail headers).
    ///
    /// - Parameter text: The text.
    /// - Returns: Whether it is.
    public static func isMailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard text.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return text.unicodeScalars.allSatisfy {
            $0.value > 32 && $0.value < 127 && !"<>()[],;:\\\"".unicodeScalars.contains($0)
        }
    }

    /// A channel ready to store, or the first rule it breaks.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - accountID: The account.
    ///   - generatedSecret: The secret to use when the request has none.
    ///   - mailConfigured: Whether the collector can send mail (`email` channels need it).
    ///   - now: Unix seconds.
    /// - Returns: The record.
    /// - Throws: ``AlertRequestError``.
    public static func channel(
        _ request: AlertChannelRequest,
        accountID: Int64,
        generatedSecret: String,
        mailConfigured: Bool = false,
        now: Double
    ) throws(AlertRequestError) -> AlertChannelRecord {
        let name = (request.name ?? "").trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else {
            throw AlertRequestError(field: "name", message: "must be 1 to 100 characters")
        }
        guard let kindName = request.kind, let kind = AlertChannelKind(rawValue: kindName) else {
            throw AlertRequestError(field: "kind", message: "must be one of webhook, slack, email")
        }
        if kind == .email {
            guard mailConfigured else {
                throw AlertRequestError(
                    field: "kind",
                    message: "email needs the collector's mail server: set smtp_url and smtp_from in collector.ini"
                )
            }
            let address = request.address ?? ""
            guard isMailAddress(address) else {
                throw AlertRequestError(field: "address", message: "must be one address like ops@example.com")
            }
            return AlertChannelRecord(
                accountID: accountID,
                name: name,
                kind: kind,
                target: address,
                secret: "",
                createdAt: now
            )
        }
        let url = request.url ?? ""
        let lowered = url.lowercased()
        guard url.utf8.count <= 2000, lowered.hasPrefix("http://") || lowered.hasPrefix("https://"),
            let components = URLComponents(string: url), components.host?.isEmpty == false
        else {
            throw AlertRequestError(field: "url", message: "must be an http:// or https:// URL of at most 2000 bytes")
        }
        let secret = request.secret ?? generatedSecret
        guard (16...200).contains(secret.utf8.count) else {
            throw AlertRequestError(
                field: "secret",
                message: "must be 16 to 200 bytes, or left out to get a random one"
            )
        }
        return AlertChannelRecord(
            accountID: accountID,
            name: name,
            kind: kind,
            target: url,
            secret: secret,
            createdAt: now
        )
    }
}
