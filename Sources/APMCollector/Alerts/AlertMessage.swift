public import APMStorage
import Crypto
public import Foundation

/// The notification for one delivery: the documented webhook JSON, Slack's `{"text": …}`, and the headers that
/// sign it. Built from stored records at each attempt, so every retry sends the same bytes.
public struct AlertMessage: Sendable {
    /// The body.
    public var body: Data
    /// The headers.
    public var headers: [String: String]
    /// One line a person reads (Slack's text, the mail's subject).
    public var summary: String

    /// Text as Slack shows it literally: `&`, `<` and `>` escaped.
    static func slackEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The webhook payload (`docs/alerts.md` documents each field).
    struct WebhookPayload: Encodable {
        struct Incident: Encodable {
            var id: Int64
            var state: String
            var severity: String
            var openedAt: Int64
            var openedValue: Double?
            var escalatedAt: Int64?
            var resolvedAt: Int64?
            var resolvedValue: Double?
            var lastValue: Double?
            var acknowledged: Bool
            var url: String?

            enum CodingKeys: String, CodingKey {
                case id, state, severity
                case openedAt = "opened_at"
                case openedValue = "opened_value"
                case escalatedAt = "escalated_at"
                case resolvedAt = "resolved_at"
                case resolvedValue = "resolved_value"
                case lastValue = "last_value"
                case acknowledged, url
            }

            // Every documented key, `null` when empty: a receiver reading `body["resolved_at"]` must find it.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(id, forKey: .id)
                try container.encode(state, forKey: .state)
                try container.encode(severity, forKey: .severity)
                try container.encode(openedAt, forKey: .openedAt)
                try container.encode(openedValue, forKey: .openedValue)
                try container.encode(escalatedAt, forKey: .escalatedAt)
                try container.encode(resolvedAt, forKey: .resolvedAt)
                try container.encode(resolvedValue, forKey: .resolvedValue)
                try container.encode(lastValue, forKey: .lastValue)
                try container.encode(acknowledged, forKey: .acknowledged)
                try container.encode(url, forKey: .url)
            }
        }

        struct Condition: Encodable {
            var id: Int64
            var name: String
            var metric: String
            var windowMinutes: Int
            var warning: Double?
            var critical: Double?

            enum CodingKeys: String, CodingKey {
                case id, name, metric
                case windowMinutes = "window_minutes"
                case warning, critical
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(id, forKey: .id)
                try container.encode(name, forKey: .name)
                try container.encode(metric, forKey: .metric)
                try container.encode(windowMinutes, forKey: .windowMinutes)
                try container.encode(warning, forKey: .warning)
                try container.encode(critical, forKey: .critical)
            }
        }

        struct App: Encodable {
            var id: Int64
            var name: String
        }

        struct Issue: Encodable {
            var id: Int64
            var type: String
            var message: String
            var transaction: String
            var count: UInt64
            var firstSeen: Double
            var lastSeen: Double
            var state: String
            var url: String?

            enum CodingKeys: String, CodingKey {
                case id, type, message, transaction, count
                case firstSeen = "first_seen"
                case lastSeen = "last_seen"
                case state, url
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(id, forKey: .id)
                try container.encode(type, forKey: .type)
                try container.encode(message, forKey: .message)
                try container.encode(transaction, forKey: .transaction)
                try container.encode(count, forKey: .count)
                try container.encode(firstSeen, forKey: .firstSeen)
                try container.encode(lastSeen, forKey: .lastSeen)
                try container.encode(state, forKey: .state)
                try container.encode(url, forKey: .url)
            }
        }

        var deliveryID: Int64
        var event: String
        var summary: String
        var app: App?
        var transaction: String?
        var condition: Condition?
        var incident: Incident?
        var issue: Issue?

        enum CodingKeys: String, CodingKey {
            case deliveryID = "delivery_id"
            case event, summary, app, transaction, condition, incident, issue
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(deliveryID, forKey: .deliveryID)
            try container.encode(event, forKey: .event)
            try container.encode(summary, forKey: .summary)
            try container.encode(app, forKey: .app)
            try container.encode(transaction, forKey: .transaction)
            try container.encode(condition, forKey: .condition)
            try container.encode(incident, forKey: .incident)
            try container.encode(issue, forKey: .issue)
        }
    }

    /// Builds the message.
    ///
    /// - Parameters:
    ///   - delivery: The delivery.
    ///   - channel: Its channel.
    ///   - incident: Its incident (`nil` for a test).
    ///   - condition: The incident's or the issue notification's condition, if it still exists.
    ///   - issue: The error issue of a `new_error` or `regressed_error` notification, if it still exists.
    ///   - app: The app.
    ///   - dashboardURL: The dashboard's public URL, for a link; empty for none.
    ///   - timestamp: Unix seconds, signed with the body.
    /// - Returns: The message.
    public static func build(
        delivery: AlertDeliveryRecord,
        channel: AlertChannelRecord,
        incident: AlertIncidentRecord?,
        condition: AlertConditionRecord?,
        issue: ErrorGroup? = nil,
        app: StoredApp?,
        dashboardURL: String,
        timestamp: Int64
    ) throws -> AlertMessage {
        let summary = Self.summary(delivery: delivery, incident: incident, condition: condition, issue: issue, app: app)
        let dashboard = dashboardURL.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let issueURL =
            dashboardURL.isEmpty || issue == nil || app == nil
            ? nil : "\(dashboard)/apps/\(app?.id ?? 0)/errors/\(issue?.id ?? 0)"
        let url = dashboardURL.isEmpty || incident == nil ? issueURL : dashboard + "/alerts"
        let body: Data
        switch channel.kind {
        case .slack:
            // Slack reads <…> as links and mentions (`<!channel>`), and app, condition and transaction names come
            // from outside: escaped as Slack asks, only the collector's own link stays a link.
            let text = Self.slackEscaped(summary)
            let label = issue == nil ? "open the alerts page" : "open the issue"
            body = try JSONEncoder().encode(["text": url.map { "\(text) <\($0)|\(label)>" } ?? text])
        case .webhook, .email:
            let payload = WebhookPayload(
                deliveryID: delivery.id,
                event: delivery.event.rawValue,
                summary: summary,
                app: app.map { WebhookPayload.App(id: $0.id, name: $0.name) },
                transaction: incident?.transaction ?? issue?.transaction,
                condition: condition.map { WebhookPayload.Condition($0) },
                incident: incident.map { WebhookPayload.Incident($0, url: url) },
                issue: issue.map { WebhookPayload.Issue($0, url: issueURL) }
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            body = try encoder.encode(payload)
        }
        var headers = [
            "Content-Type": "application/json",
            "User-Agent": "swift-apm-collector",
            "X-APM-Event": delivery.event.rawValue,
            "X-APM-Delivery": String(delivery.id),
            "X-APM-Timestamp": String(timestamp),
        ]
        if channel.kind == .webhook {
            headers["X-APM-Signature"] = signature(secret: channel.secret, timestamp: timestamp, body: body)
        }
        return AlertMessage(body: body, headers: headers, summary: summary)
    }

    /// The message as mail: headers (the summary as subject), a blank line, the summary and the webhook JSON's
    /// facts as text, CRLF line ends, lines that start with a dot doubled (SMTP's transparency).
    ///
    /// - Parameters:
    ///   - from: The sender.
    ///   - to: The recipient.
    ///   - timestamp: Unix seconds, for the Date header.
    /// - Returns: The message.
    public func mail(from: String, to: String, timestamp: Int64) -> Data {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        // Header values never hold a line break: app and condition names came from outside.
        func clean(_ text: String) -> String {
            String(text.map { $0.isNewline ? " " : $0 }.prefix(900))
        }
        var details = ""
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            for section in ["incident", "issue", "condition", "app"] {
                guard let fields = object[section] as? [String: Any] else { continue }
                for key in fields.keys.sorted() {
                    details += "\(section).\(key): \(clean("\(fields[key].map { "\($0)" } ?? "")"))\n"
                }
            }
        }
        let lines =
            [
                "From: swift-apm <\(from)>",
                "To: <\(to)>",
                "Subject: \(clean(summary))",
                "Date: \(formatter.string(from: Date(timeIntervalSince1970: TimeInterval(timestamp))))",
                "Message-ID: <apm-\(headers["X-APM-Delivery"] ?? "0")-\(timestamp)@\(from.split(separator: "@").last ?? "apm")>",
                "MIME-Version: 1.0",
                "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: 8bit",
                "",
                clean(summary),
                "",
            ] + details.split(separator: "\n").map(String.init)
        return Data(lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n").utf8 + Array("\r\n".utf8))
    }

    /// `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under the channel's secret: a receiver recomputes it
    /// and compares in constant time, and refuses old timestamps (replays).
    ///
    /// - Parameters:
    ///   - secret: The channel's secret.
    ///   - timestamp: The `X-APM-Timestamp` value.
    ///   - body: The body as sent.
    /// - Returns: The header's value.
    public static func signature(secret: String, timestamp: Int64, body: Data) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    static func summary(
        delivery: AlertDeliveryRecord,
        incident: AlertIncidentRecord?,
        condition: AlertConditionRecord?,
        issue: ErrorGroup? = nil,
        app: StoredApp?
    ) -> String {
        if delivery.event == .newError || delivery.event == .regressedError {
            let label = delivery.event == .newError ? "[NEW ERROR]" : "[REGRESSED]"
            let appName = app?.name ?? "an app"
            guard let issue else { return "\(label) issue \(delivery.issueID ?? 0) of \(appName) (no longer stored)" }
            let message = issue.message.isEmpty ? "" : ": \(issue.message.prefix(200))"
            return "\(label) \(appName): \(issue.type)\(message) in \(issue.transaction)"
        }
        guard let incident else { return "swift-apm test notification: this channel works" }
        let target = (app?.name ?? "app \(incident.appID)") + (incident.transaction.map { " (\($0))" } ?? "")
        let name = condition?.name ?? "a deleted condition"
        let metric = condition?.metric
        func shown(_ value: Double?) -> String {
            guard let value, let metric else { return "no figure" }
            switch metric {
            case .apdex: return String(format: "Apdex %.2f", value)
            case .errorRate: return String(format: "error rate %.1f%%", value * 100)
            case .averageResponseTime: return String(format: "average %.0f ms", value * 1000)
            case .p95ResponseTime: return String(format: "p95 %.0f ms", value * 1000)
            case .p99ResponseTime: return String(format: "p99 %.0f ms", value * 1000)
            case .throughputBelow, .throughputAbove: return String(format: "%.1f rpm", value)
            case .noData: return "\(Int(value)) requests"
            case .errorLogs: return String(format: "%.1f error log lines per minute", value)
            case .newError, .regressedError: return "no figure"
            case .metricAbove, .metricBelow:
                let name = condition?.metricName ?? "metric"
                let filter = condition.map { $0.metricFilter.isEmpty ? "" : " {\($0.metricFilter)}" } ?? ""
                return "\(name)\(filter) \(String(format: "%.4g", value))"
            }
        }
        let window = condition.map { " over \($0.windowMinutes) min" } ?? ""
        switch delivery.event {
        case .opened:
            return
                "[\(incident.severity.rawValue.uppercased())] \(name) on \(target): \(shown(incident.openedValue))\(window)"
        case .escalated:
            return "[CRITICAL] \(name) on \(target) escalated: \(shown(incident.escalatedValue))\(window)"
        case .resolved:
            return "[RESOLVED] \(name) on \(target): \(shown(incident.resolvedValue))\(window)"
        case .test, .newError, .regressedError:
            return "swift-apm test notification: this channel works"
        }
    }
}

extension AlertMessage.WebhookPayload.Condition {
    /// The condition as a notification shows it.
    init(_ condition: AlertConditionRecord) {
        self.init(
            id: condition.id,
            name: condition.name,
            metric: condition.metric.rawValue,
            windowMinutes: condition.windowMinutes,
            warning: condition.warning,
            critical: condition.critical
        )
    }
}

extension AlertMessage.WebhookPayload.Incident {
    /// The incident as a notification shows it, with the alerts page's link.
    init(_ incident: AlertIncidentRecord, url: String?) {
        self.init(
            id: incident.id,
            state: incident.resolvedAt == nil ? "open" : "resolved",
            severity: incident.severity.rawValue,
            openedAt: incident.openedAt,
            openedValue: incident.openedValue,
            escalatedAt: incident.escalatedAt,
            resolvedAt: incident.resolvedAt,
            resolvedValue: incident.resolvedValue,
            lastValue: incident.lastValue,
            acknowledged: incident.acknowledgedAt != nil,
            url: url
        )
    }
}

extension AlertMessage.WebhookPayload.Issue {
    /// The error issue as a notification shows it, with its page's link.
    init(_ issue: ErrorGroup, url: String?) {
        self.init(
            id: issue.id,
            type: issue.type,
            message: issue.message,
            transaction: issue.transaction,
            count: issue.count,
            firstSeen: issue.firstSeen,
            lastSeen: issue.lastSeen,
            state: issue.status.state.rawValue,
            url: url
        )
    }
}
