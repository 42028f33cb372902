import Foundation

/// The `[collector]` keys about alerts.
public struct AlertSettings: Sendable, Hashable {
    /// Seconds a minute is left to fill before it is evaluated (`alert_evaluation_delay`, default 120): batches
    /// arrive up to an agent's harvest interval late, and a minute still filling must not look like a drop.
    public var evaluationDelay: Int64 = 120
    /// How often the collector holding the `alerts` lease evaluates and sends (`alert_interval`, seconds).
    public var interval: Duration = .seconds(15)
    /// One notification request's deadline (`alert_notification_timeout`, seconds).
    public var timeout: Duration = .seconds(10)
    /// Attempts before a notification is given up (`alert_max_attempts`).
    public var maxAttempts: Int = 8
    /// Seconds before the first retry, doubling per attempt up to 30 minutes (`alert_retry_base`).
    public var retryBase: Double = 30
    /// Seconds in which one error issue notifies a channel of a `new_error` or `regressed_error` condition at most
    /// once (`alert_issue_renotify`, default 3600): an issue resolved and regressing again and again, or merged
    /// into another, does not flood a channel.
    public var issueRenotify: Double = 3600
    /// The dashboard's public URL, for links in notifications (`dashboard_url`); empty for none.
    public var dashboardURL: String = ""
    /// Host names, addresses and CIDR blocks inside the collector's network that webhook and Slack channels may
    /// reach (`alert_allowed_destinations`, comma-separated; default none: loopback, private, link-local and the
    /// machine's own addresses are refused).
    public var allowedDestinations: [String] = []

    /// Where notifications may go.
    public var destinationPolicy: AlertDestinationPolicy { AlertDestinationPolicy(allowed: allowedDestinations) }

    /// Mail for `email` channels; `nil` without `smtp_url`.
    public var smtp: SMTP?

    /// The mail server of `email` channels.
    public struct SMTP: Sendable, Hashable {
        /// `smtp://host:587` (STARTTLS) or `smtps://host:465` (`smtp_url`).
        public var url: String
        /// `smtp_username`, empty for none.
        public var username: String = ""
        /// `smtp_password` (or `APM_SMTP_PASSWORD`), empty for none.
        public var password: String = ""
        /// The sender's address (`smtp_from`).
        public var from: String = ""
        /// `smtp_tls`: `required` (default: STARTTLS, or `smtps://`), `opportunistic`, or `none`.
        public var tls: TLS = .required
        /// Whether the server's certificate is checked (`smtp_verify_certificate`, default true).
        public var verifyPeer = true

        /// Creates settings.
        ///
        /// - Parameters:
        ///   - url: The server.
        ///   - username: The user, empty for none.
        ///   - password: The password, empty for none.
        ///   - from: The sender.
        ///   - tls: How mail is protected.
        ///   - verifyPeer: Whether the certificate is checked.
        public init(
            url: String,
            username: String = "",
            password: String = "",
            from: String = "",
            tls: TLS = .required,
            verifyPeer: Bool = true
        ) {
            self.url = url
            self.username = username
            self.password = password
            self.from = from
            self.tls = tls
            self.verifyPeer = verifyPeer
        }

        /// Whether mail can be sent: a server and a sender.
        public var isConfigured: Bool { !url.isEmpty && !from.isEmpty }

        /// How mail is protected.
        public enum TLS: String, Sendable, Hashable {
            /// STARTTLS required: a server that does not offer it gets nothing.
            case required
            /// STARTTLS when offered.
            case opportunistic
            /// Plain text (a relay on the same host).
            case none
        }
    }

    /// Creates the defaults.
    public init() {}

    /// The keys this handles.
    static let keys = [
        "alert_evaluation_delay", "alert_interval", "alert_notification_timeout", "alert_max_attempts",
        "alert_retry_base", "alert_issue_renotify", "dashboard_url", "smtp_url", "smtp_username", "smtp_password",
        "smtp_from", "smtp_tls",
        "smtp_verify_certificate", "alert_allowed_destinations",
    ]

    /// Applies one setting.
    ///
    /// - Parameters:
    ///   - key: One of ``keys``.
    ///   - value: Its value.
    /// - Returns: What is allowed when the value is invalid, `nil` when applied.
    mutating func apply(key: String, value: String) -> String? {
        func integer(_ range: ClosedRange<Int>) -> Int? {
            guard let number = Int(value), range.contains(number) else { return nil }
            return number
        }
        switch key {
        case "alert_evaluation_delay":
            guard let seconds = integer(0...3600) else { return "must be a whole number of seconds from 0 to 3600" }
            evaluationDelay = Int64(seconds)
        case "alert_interval":
            guard let seconds = integer(1...60) else { return "must be a whole number of seconds from 1 to 60" }
            interval = .seconds(seconds)
        case "alert_notification_timeout":
            guard let seconds = integer(1...120) else { return "must be a whole number of seconds from 1 to 120" }
            timeout = .seconds(seconds)
        case "alert_max_attempts":
            guard let attempts = integer(1...50) else { return "must be a whole number from 1 to 50" }
            maxAttempts = attempts
        case "alert_retry_base":
            guard let seconds = integer(1...3600) else { return "must be a whole number of seconds from 1 to 3600" }
            retryBase = Double(seconds)
        case "alert_issue_renotify":
            guard let seconds = integer(0...604_800) else {
                return "must be a whole number of seconds from 0 (every time) to 604800 (a week)"
            }
            issueRenotify = Double(seconds)
        case "smtp_url":
            let lowered = value.lowercased()
            guard value.isEmpty || lowered.hasPrefix("smtp://") || lowered.hasPrefix("smtps://") else {
                return "must be smtp://HOST:587 (STARTTLS) or smtps://HOST:465, or empty for no mail"
            }
            guard !value.isEmpty || smtp != nil else { return nil }
            var mail = smtp ?? SMTP(url: "")
            mail.url = value
            smtp = mail
        case "smtp_username", "smtp_password", "smtp_from", "smtp_tls", "smtp_verify_certificate":
            // An empty value is the default (as in collector.ini.example): no mail server yet.
            guard !value.isEmpty else { return nil }
            var mail = smtp ?? SMTP(url: "")
            switch key {
            case "smtp_username": mail.username = value
            case "smtp_password": mail.password = value
            case "smtp_from":
                guard AlertValidation.isMailAddress(value) else { return "must be an address like apm@example.com" }
                mail.from = value
            case "smtp_tls":
                guard let tls = SMTP.TLS(rawValue: value.lowercased()) else {
                    return "must be required (STARTTLS, the default), opportunistic or none"
                }
                mail.tls = tls
            default:
                guard let verify = Bool(value.lowercased()) else { return "must be true or false" }
                mail.verifyPeer = verify
            }
            smtp = mail
        case "alert_allowed_destinations":
            let entries = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            guard entries.count <= 100, entries.allSatisfy(AlertDestinationPolicy.isValidEntry) else {
                return
                    "must be a comma-separated list of host names, addresses or CIDR blocks, e.g. hooks.internal, 10.0.0.0/8, 127.0.0.1"
            }
            allowedDestinations = entries
        default:
            let lowered = value.lowercased()
            guard value.isEmpty || lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
                return "must be the dashboard's URL as users open it, e.g. https://apm.example.com"
            }
            dashboardURL = value
        }
        return nil
    }
}
