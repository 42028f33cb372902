import APMCore
import APMStorage
import Foundation

extension CollectorQueries {
    /// Hosts whose figures are read at once for the list.
    static let hostsAtOnce = 6

    /// The charts of a host: (title, metric, group by).
    static let hostCharts: [(title: String, metric: String, groupBy: String?)] = [
        ("CPU utilisation by state", "system.cpu.utilization", "state"),
        ("Memory used", "system.memory.usage", "state"),
        ("Memory available", "system.linux.memory.available", nil),
        ("Load average (1 minute)", "system.cpu.load_average.1m", nil),
        ("Disk space used by mount point", "system.filesystem.utilization", "mountpoint"),
        ("Disk I/O by direction", "system.disk.io", "direction"),
        ("Network traffic by direction", "system.network.io", "direction"),
        ("Network errors by direction", "system.network.errors", "direction"),
    ]

    /// The hosts an account's apps run on, with their latest figures and their apps' Apdex.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - range: The range.
    /// - Returns: The hosts by name.
    public func hosts(accountID: Int64, range: TimeRange) async throws -> APIHostList {
        let apps = try await store.apps(accountID: accountID)
        let records = try await store.metricHosts(appIDs: apps.map(\.id))
        let byHost = Dictionary(grouping: records, by: \.host).sorted { $0.key < $1.key }
        // A few hosts at a time: each is a handful of queries, and on PostgreSQL each query a round trip (one after
        // the other, 20 hosts over 7 days took 245 ms there, against 96 ms on SQLite).
        var hosts = [APIHost?](repeating: nil, count: byHost.count)
        try await withThrowingTaskGroup(of: (Int, APIHost).self) { group in
            var next = 0
            func start() {
                guard next < byHost.count else { return }
                let (index, (name, onHost)) = (next, byHost[next])
                next += 1
                group.addTask { (index, try await self.host(name, records: onHost, apps: apps, range: range)) }
            }
            for _ in 0..<Self.hostsAtOnce { start() }
            while let (index, host) = try await group.next() {
                hosts[index] = host
                start()
            }
        }
        return APIHostList(hosts: hosts.compactMap { $0 })
    }

    /// One host with its charts, or `nil` when no app of the account has series from it.
    ///
    /// - Parameters:
    ///   - name: The host.
    ///   - accountID: The account.
    ///   - range: The range.
    /// - Returns: The host and its charts.
    public func host(named name: String, accountID: Int64, range: TimeRange) async throws -> APIHostDetail? {
        let apps = try await store.apps(accountID: accountID)
        let records = try await store.metricHosts(appIDs: apps.map(\.id)).filter { $0.host == name }
        guard !records.isEmpty else { return nil }
        let host = try await host(name, records: records, apps: apps, range: range)
        var charts: [APIHostChart] = []
        if let source = apps.first(where: { $0.id == host.sourceAppID }) {
            for chart in Self.hostCharts {
                guard
                    let metric = try await metric(
                        app: source,
                        name: chart.metric,
                        range: range,
                        groupBy: chart.groupBy,
                        filters: [MetricSeriesFilter(key: "host", value: name)]
                    ), !metric.groups.isEmpty
                else { continue }
                charts.append(APIHostChart(title: chart.title, metric: metric))
            }
        }
        return APIHostDetail(host: host, charts: charts)
    }

    private func host(
        _ name: String,
        records: [MetricHostRecord],
        apps: [StoredApp],
        range: TimeRange
    ) async throws -> APIHost {
        let source = records.filter(\.hasSystemMetrics).max { $0.lastSeen < $1.lastSeen }
        var host = APIHost(
            name: name,
            lastSeen: records.map(\.lastSeen).max() ?? 0,
            sourceAppID: source?.appID,
            cpu: [],
            apps: []
        )
        if let source, let app = apps.first(where: { $0.id == source.appID }) {
            // The idle share alone: busy is the rest (reading the other six states was most of the list's time).
            let cpu = try await metric(
                app: app,
                name: "system.cpu.utilization",
                range: range,
                groupBy: "state",
                filters: [
                    MetricSeriesFilter(key: "host", value: name), MetricSeriesFilter(key: "state", value: "idle"),
                ]
            )
            host.cpu = Self.busy(cpu)
            host.cpuUtilization = host.cpu.last?.avg
            host.memoryUtilization = try await lastMean(app, "system.memory.utilization", host: name, range: range)
            host.load1m = try await lastMean(app, "system.cpu.load_average.1m", host: name, range: range)
        }
        for record in records.sorted(by: { $0.appID < $1.appID }) {
            guard let app = apps.first(where: { $0.id == record.appID }) else { continue }
            let figures = try await summary(app: app, range: range)
            host.apps.append(APIHostApp(id: app.id, name: app.name, apdex: figures.apdex.score, apdexT: app.apdexT))
        }
        return host
    }

    /// The CPU's busy share per bucket: one less its idle share (the states' shares add up to one).
    static func busy(_ cpu: APIMetricSeries?) -> [APIMetricPoint] {
        guard let cpu, let idle = cpu.groups.first(where: { $0.label == "idle" }) else { return [] }
        return idle.points.map { point in
            var busy = APIMetricPoint(time: point.time, count: point.count)
            busy.avg = point.avg.map { Swift.max(0, 1 - $0) }
            return busy
        }
    }

    /// A gauge's mean in the range's last bucket with readings, on one host.
    private func lastMean(_ app: StoredApp, _ name: String, host: String, range: TimeRange) async throws -> Double? {
        let onHost = [MetricSeriesFilter(key: "host", value: host)]
        return try await metric(app: app, name: name, range: range, groupBy: "host", filters: onHost)?.groups.first?
            .points.last?.avg
    }
}
