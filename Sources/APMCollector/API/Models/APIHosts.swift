import Foundation

/// The hosts an account's apps run on (`GET /api/v1/hosts`).
public struct APIHostList: Codable, Sendable {
    /// One entry per host, by name.
    public var hosts: [APIHost]
}

/// A host: its latest figures and the apps on it.
public struct APIHost: Codable, Sendable, Hashable {
    /// The host's name.
    public var name: String
    /// When its figures were last received (Unix seconds).
    public var lastSeen: Double
    /// The app whose series hold the host's own figures (`system.*`), `nil` when no app sends them (only an app's
    /// runtime metrics name the host).
    public var sourceAppID: Int64?
    /// The share of CPU time not idle in the range's last bucket (0 to 1).
    public var cpuUtilization: Double?
    /// The share of memory used in the last bucket (0 to 1).
    public var memoryUtilization: Double?
    /// The 1-minute load average in the last bucket.
    public var load1m: Double?
    /// CPU utilisation per bucket over the range (for a small chart).
    public var cpu: [APIMetricPoint]
    /// The apps whose series come from the host, with their Apdex over the range.
    public var apps: [APIHostApp]

    enum CodingKeys: String, CodingKey {
        case name, apps, cpu
        case lastSeen = "last_seen"
        case sourceAppID = "source_app_id"
        case cpuUtilization = "cpu_utilization"
        case memoryUtilization = "memory_utilization"
        case load1m = "load_1m"
    }
}

/// An app on a host.
public struct APIHostApp: Codable, Sendable, Hashable {
    /// The app's id.
    public var id: Int64
    /// Its name.
    public var name: String
    /// Its Apdex score over the range (web transactions), `nil` without any.
    public var apdex: Double?
    /// The T it is measured against.
    public var apdexT: Double

    enum CodingKeys: String, CodingKey {
        case id, name, apdex
        case apdexT = "apdex_t"
    }
}

/// One host over a range (`GET /api/v1/hosts/{name}`): its figures and charts.
public struct APIHostDetail: Codable, Sendable {
    /// The host with its latest figures and apps.
    public var host: APIHost
    /// The charts, in the page's order: CPU per state, memory, load, disk space per mount point, disk and network
    /// traffic per direction.
    public var charts: [APIHostChart]
}

/// One chart of a host.
public struct APIHostChart: Codable, Sendable {
    /// What it shows.
    public var title: String
    /// The metric, grouped as the chart shows it.
    public var metric: APIMetricSeries
}
