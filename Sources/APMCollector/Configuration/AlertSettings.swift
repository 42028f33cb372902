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
    /// The dashboard's public URL, for links in notifications (`dashboard_url`); empty for none.
    public var dashboardURL: String = ""

    /// Creates the defaults.
    public init() {}

    /// The keys this handles.
    static let keys = [
        "alert_evaluation_delay", "alert_interval", "alert_notification_timeout", "alert_max_attempts",
        "alert_retry_base", "dashboard_url",
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
