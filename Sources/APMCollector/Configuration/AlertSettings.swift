import APMCore
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
    static var keys: [String] { settings.keys.sorted() }

    typealias Setting = ConfigurationSetting<AlertSettings>

    /// The rule of each alert key (read and refused as the collector's other keys are).
    static let settings: [String: Setting] = [
        "alert_evaluation_delay": .wholeNumber(0...3600, of: "seconds") { $0.evaluationDelay = Int64($1) },
        "alert_interval": .wholeNumber(1...60, of: "seconds") { $0.interval = .seconds($1) },
        "alert_notification_timeout": .wholeNumber(1...120, of: "seconds") { $0.timeout = .seconds($1) },
        "alert_max_attempts": .wholeNumber(1...50) { $0.maxAttempts = $1 },
        "alert_retry_base": .wholeNumber(1...3600, of: "seconds") { $0.retryBase = Double($1) },
        // 0 notifies every time; a week at most.
        "alert_issue_renotify": .wholeNumber(0...604_800, of: "seconds") { $0.issueRenotify = Double($1) },
        "smtp_url": Setting { settings, value in
            let lowered = value.lowercased()
            guard value.isEmpty || lowered.hasPrefix("smtp://") || lowered.hasPrefix("smtps://") else {
                return "must be smtp://HOST:587 (STARTTLS) or smtps://HOST:465, or empty for no mail"
            }
            guard !value.isEmpty || settings.smtp != nil else { return nil }
            settings.smtp = settings.smtp ?? SMTP(url: "")
            settings.smtp?.url = value
            return nil
        },
        "smtp_username": mail { mail, value in
            mail.username = value
            return nil
        },
        "smtp_password": mail { mail, value in
            mail.password = value
            return nil
        },
        "smtp_from": mail { mail, value in
            guard AlertValidation.isMailAddress(value) else { return "must be an address like apm@example.com" }
            mail.from = value
            return nil
        },
        "smtp_tls": mail { mail, value in
            guard let tls = SMTP.TLS(rawValue: value.lowercased()) else {
                return "must be required (STARTTLS, the default), opportunistic or none"
            }
            mail.tls = tls
            return nil
        },
        "smtp_verify_certificate": mail { mail, value in
            guard let verify = Bool(value.lowercased()) else { return "must be true or false" }
            mail.verifyPeer = verify
            return nil
        },
        "alert_allowed_destinations": Setting { settings, value in
            let entries = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            guard entries.count <= 100, entries.allSatisfy(AlertDestinationPolicy.isValidEntry) else {
                return
                    "must be a comma-separated list of host names, addresses or CIDR blocks, e.g. hooks.internal, 10.0.0.0/8, 127.0.0.1"
            }
            settings.allowedDestinations = entries
            return nil
        },
        "dashboard_url": Setting { settings, value in
            let lowered = value.lowercased()
            guard value.isEmpty || lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
                return "must be the dashboard's URL as users open it, e.g. https://apm.example.com"
            }
            settings.dashboardURL = value
            return nil
        },
    ]

    /// A rule of the mail server's keys. An empty value is the default (as in collector.ini.example): no mail
    /// server yet, so nothing is made.
    private static func mail(_ apply: @escaping @Sendable (inout SMTP, String) -> String?) -> Setting {
        Setting { settings, value in
            guard !value.isEmpty else { return nil }
            var mail = settings.smtp ?? SMTP(url: "")
            if let problem = apply(&mail, value) { return problem }
            settings.smtp = mail
            return nil
        }
    }
}
