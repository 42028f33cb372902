import APMCollector
import APMCore
import ArgumentParser
import Foundation

/// `apm hosts`: the hosts the account's apps run on, or one host's latest figures.
struct HostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts",
        abstract: "List the hosts the apps run on (CPU, memory, load, apps and their Apdex), or show one host.",
        discussion: """
            Hosts come from apm run-program (it sends its host's figures) and from OpenTelemetry host metrics sent \
            to /v1/metrics. Examples: apm hosts; apm hosts web-1 --since 6h. Exit codes: 0 done; 1 no such host; \
            2 bad options; 3 collector unreachable; 4 key rejected.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "A host: show its latest figures per chart instead of the list.") var host: String?
    @Option(help: "How far back: 30m, 1h, 24h, 7d.") var since: String = "1h"

    func validate() throws {
        try SinceOption.validate(since)
    }

    func run() async throws {
        try await runVerb {
            let client = try connection.client()
            if let host {
                let detail = try await client.get(
                    APIHostDetail.self,
                    "/api/v1/hosts/\(CollectorClient.encodePath(host))?since=\(since)"
                )
                print(Self.render(detail))
                return
            }
            let list = try await client.get(APIHostList.self, "/api/v1/hosts?since=\(since)")
            guard !list.hosts.isEmpty else {
                print(
                    "No host has reported in the last \(since): run an app with apm run-program, or send OpenTelemetry host metrics."
                )
                return
            }
            var table = TextTable(["host", "cpu", "memory", "load 1m", "apps (apdex)", "last seen"])
            for host in list.hosts {
                table.add([
                    host.name, Self.percent(host.cpuUtilization), Self.percent(host.memoryUtilization),
                    host.load1m.map { String(format: "%.2f", $0) } ?? "-",
                    host.apps.map { "\($0.name) (\($0.apdex.map { String(format: "%.2f", $0) } ?? "-"))" }
                        .joined(separator: ", "),
                    ReportCommand.time(host.lastSeen),
                ])
            }
            print(table.render())
        }
    }

    static func percent(_ share: Double?) -> String {
        share.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
    }

    /// A host's apps and, per chart, each group's latest value.
    static func render(_ detail: APIHostDetail) -> String {
        var lines = ["host \(detail.host.name), last seen \(ReportCommand.time(detail.host.lastSeen))"]
        lines += detail.host.apps.map {
            "  app \($0.name): apdex \($0.apdex.map { String(format: "%.2f", $0) } ?? "-")"
        }
        var table = TextTable(["chart", "group", "latest"])
        for chart in detail.charts {
            for group in chart.metric.groups {
                guard let point = group.points.last else { continue }
                table.add([chart.title, group.label, latest(point, chart.metric)])
            }
        }
        return (lines + [table.render()]).joined(separator: "\n")
    }

    static func latest(_ point: APIMetricPoint, _ metric: APIMetricSeries) -> String {
        switch metric.kind {
        case .gauge where metric.unit == "1": return percent(point.avg)
        case .gauge where metric.unit == "By":
            return point.avg.map { String(format: "%.1f MiB", $0 / 1_048_576) } ?? "-"
        case .gauge: return point.avg.map { String(format: "%.2f", $0) } ?? "-"
        case .counter where metric.unit == "By":
            return point.rate.map { String(format: "%.1f KiB/s", $0 / 1024) } ?? "-"
        case .counter: return point.rate.map { String(format: "%.2f/s", $0) } ?? "-"
        case .histogram: return point.p95.map { String(format: "p95 %.3f", $0) } ?? "-"
        }
    }
}
