import APMCollector
import APMCore
import APMStorage
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `apm report`: what the apps do, in the terminal, from the collector's JSON API.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show Apdex, throughput, response times, errors, databases and externals.",
        discussion: HelpText.discussion(
            """
            Without --app: every app's Apdex (score, S/T/F, T), requests per minute, average/p95/p99, error rate
            and a sparkline. With --app: that app's top transactions, slowest database operations and external
            hosts, recent error groups and process metrics. --what-if-t recomputes Apdex over the range for
            another T from the stored histograms.

            Examples:
              apm report
              apm report --app shop --since 24h
              apm report --app shop --transaction "GET /checkout" --what-if-t 0.3
              apm report --format json > report.json

            Exit codes: 0 shown; 1 no such app or unexpected answer; 2 bad options or no license key;
            3 collector unreachable; 4 key rejected.
            """
        )
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "One app, by name.")
    var app: String?

    @Option(help: "How far back: 30m, 1h, 24h, 7d, ...")
    var since: String = "30m"

    @Option(help: "One transaction of the app, by name.")
    var transaction: String?

    @Option(name: .customLong("what-if-t"), help: "Recompute Apdex with this T (seconds).")
    var whatIfT: Double?

    @Option(help: "table, json or csv.")
    var format: Format = .table

    func validate() throws {
        guard TimeRange.seconds(parsing: since) != nil else {
            throw ValidationError("--since must look like 30m, 1h, 24h or 7d")
        }
        if let whatIfT, ApdexThreshold(seconds: whatIfT) == nil {
            let range = ApdexThreshold.allowedSeconds
            throw ValidationError("--what-if-t must be from \(range.lowerBound) to \(Int(range.upperBound)) seconds")
        }
        if transaction != nil && app == nil { throw ValidationError("--transaction needs --app") }
        if whatIfT != nil && app == nil { throw ValidationError("--what-if-t needs --app") }
    }

    func run() async throws {
        try await runVerb {
            let client = try connection.client()
            let apps = try await client.allApps(APIAppSummary.self, query: "since=\(since)")
            guard let name = app else {
                try output(apps: apps)
                return
            }
            guard let selected = apps.first(where: { $0.name == name }) else {
                throw CommandFailure(
                    message: "no app named \(name); the apps are: \(apps.map(\.name).joined(separator: ", "))",
                    exitCode: APMExit.failure
                )
            }
            let report = try await AppReport.fetch(
                client: client,
                app: selected,
                since: since,
                transaction: transaction,
                whatIfT: whatIfT
            )
            try output(report)
        }
    }

    private func output(apps: [APIAppSummary]) throws {
        switch format {
        case .json:
            print(try Self.json(["apps": apps]))
        case .csv:
            print(
                "app,apdex,satisfied,tolerating,frustrated,apdex_t,rpm,average_ms,p95_ms,p99_ms,error_rate,count,errors"
            )
            for app in apps {
                let s = app.summary
                print(
                    [
                        CSV.field(app.name), Self.number(s.apdex.score, 3), "\(s.apdex.satisfied)",
                        "\(s.apdex.tolerating)",
                        "\(s.apdex.frustrated)", Self.number(s.apdex.t, 3), Self.number(s.rpm, 2), Self.ms(s.average),
                        Self.ms(s.p95),
                        Self.ms(s.p99), Self.number(s.errorRate, 4), "\(s.count)", "\(s.errors)",
                    ].joined(separator: ",")
                )
            }
        case .table:
            let style = TerminalStyle()
            var table = TextTable(["app", "apdex", "S/T/F", "T", "rpm", "avg", "p95", "p99", "errors", "trend"])
            for app in apps {
                let s = app.summary
                table.add([
                    // "~": partly placed at this T from histograms (recorded at another).
                    app.name, (s.apdex.exact ? "" : "~") + style.apdex(s.apdex.score),
                    "\(s.apdex.satisfied)/\(s.apdex.tolerating)/\(s.apdex.frustrated)",
                    "\(Self.number(s.apdex.t, 3)) s", Self.number(s.rpm, 1), Self.ms(s.average, unit: true),
                    Self.ms(s.p95, unit: true),
                    Self.ms(s.p99, unit: true), Self.percent(s.errorRate), Sparkline.render(app.sparkline),
                ])
            }
            print(
                apps.isEmpty
                    ? "No apps have reported yet: run one with `apm run-program -- ./YourApp`." : table.render()
            )
            for app in apps {
                for warning in app.warnings { print(style.warning("⚠ \(app.name): \(warning)")) }
            }
        }
    }

    private func output(_ report: AppReport) throws {
        switch format {
        case .json:
            print(try Self.json(report))
        case .csv:
            printCSV(report)
        case .table:
            let style = TerminalStyle()
            printSummary(report, style: style)
            printTables(report, style: style)
        }
    }

    /// One line per transaction, for spreadsheets.
    private func printCSV(_ report: AppReport) {
        print("transaction,kind,count,rpm,average_ms,p95_ms,p99_ms,errors,error_rate,apdex,time_consumed_s,share")
        for row in report.transactions {
            let f = row.figures
            print(
                [
                    CSV.field(row.name), row.kind, "\(f.count)", Self.number(f.rpm, 2), Self.ms(f.average),
                    Self.ms(f.p95), Self.ms(f.p99),
                    "\(f.errors)", Self.number(f.errorRate, 4), Self.number(f.apdex.score, 3),
                    Self.number(row.timeConsumed, 3),
                    Self.number(row.share, 4),
                ].joined(separator: ",")
            )
        }
    }

    /// The app's (or transaction's) summary: Apdex, throughput, latency, errors, the breakdown and the what-if.
    private func printSummary(_ report: AppReport, style: TerminalStyle) {
        let s = report.summary
        print(
            style.bold("\(report.app.name)")
                + "  (last \(since)\(report.transaction.map { ", transaction \($0)" } ?? ""))"
        )
        print(
            "Apdex \(style.apdex(s.apdex.score)) [S \(s.apdex.satisfied) / T \(s.apdex.tolerating) / F \(s.apdex.frustrated), T = \(Self.number(s.apdex.t, 3)) s]   "
                + "\(Self.throughput(s))   avg \(Self.ms(s.average, unit: true))   p95 \(Self.ms(s.p95, unit: true))   p99 \(Self.ms(s.p99, unit: true))   "
                + "errors \(Self.percent(s.errorRate)) (\(s.errors) of \(s.count))"
        )
        if !s.apdex.exact {
            print(
                "  \(s.apdex.reclassified) transactions were recorded at another T and placed at this one from their "
                    + "latency histograms: Apdex between \(Self.number(s.apdex.scoreMin, 3)) and \(Self.number(s.apdex.scoreMax, 3))"
            )
        }
        print(
            "Time per request: database \(Self.ms(s.breakdown.database, unit: true)), external \(Self.ms(s.breakdown.external, unit: true)), "
                + "application \(Self.ms(s.breakdown.application, unit: true))   trend \(Sparkline.render(report.trend))"
        )
        if let whatIf = report.whatIf {
            let resolution =
                whatIf.exact
                ? "exact: every transaction was recorded at this T"
                : "from latency histograms (±1 % buckets): \(whatIf.uncertain) transactions lie within about 2 % of T or 4T and could be either side"
            print(
                "What if T = \(Self.number(whatIf.t, 3)) s: Apdex \(Self.number(whatIf.score, 3)) "
                    + "(between \(Self.number(whatIf.scoreMin, 3)) and \(Self.number(whatIf.scoreMax, 3))) — \(resolution)"
            )
        }
    }

    /// The top transactions, databases, externals and errors, the process, and the warnings.
    private func printTables(_ report: AppReport, style: TerminalStyle) {
        if report.transaction == nil {
            var table = TextTable(["transaction", "time %", "count", "rpm", "avg", "p95", "errors", "apdex"])
            for row in report.transactions.prefix(15) {
                let f = row.figures
                table.add([
                    row.name, Self.percent(row.share), "\(f.count)", Self.number(f.rpm, 1),
                    Self.ms(f.average, unit: true),
                    Self.ms(f.p95, unit: true), Self.percent(f.errorRate),
                    (f.apdex.exact ? "" : "~") + style.apdex(f.apdex.score),
                ])
            }
            print("\nTop transactions by time consumed\n" + table.render())
        }
        if !report.databases.isEmpty {
            var table = TextTable(["database operation", "calls", "avg", "total", "slowest"])
            for row in report.databases.prefix(10) {
                table.add([
                    row.name, "\(row.calls)", Self.ms(row.average, unit: true), Self.seconds(row.totalTime),
                    Self.ms(row.max, unit: true),
                ])
            }
            print("\nSlowest database operations\n" + table.render())
        }
        if !report.externals.isEmpty {
            var table = TextTable(["external host", "calls", "errors", "avg", "total"])
            for row in report.externals.prefix(10) {
                table.add([
                    row.host, "\(row.calls)", "\(row.errors)", Self.ms(row.average, unit: true),
                    Self.seconds(row.totalTime),
                ])
            }
            print("\nExternal hosts\n" + table.render())
        }
        if !report.errors.isEmpty {
            var table = TextTable(["error", "count", "last seen", "transaction", "message"])
            for group in report.errors.prefix(10) {
                table.add([
                    group.type, "\(group.count)", Self.time(group.lastSeen), group.transaction,
                    String(group.message.prefix(60)),
                ])
            }
            print("\nRecent error groups\n" + table.render())
        }
        if let last = report.process.samples.last {
            print(
                "\nProcess: CPU \(Self.number(last.cpuPercent, 1)) %, memory \(Self.number(last.residentBytes / 1_048_576, 1)) MiB, "
                    + "threads \(last.threadsMax), open files \(last.openFilesMax)   CPU trend \(Sparkline.render(report.process.samples.map(\.cpuPercent)))"
            )
        }
        for event in report.process.events.suffix(5) {
            print("  \(Self.time(event.at)) \(event.kind) pid \(event.pid) \(event.detail)")
        }
        for warning in report.app.warnings { print(style.warning("⚠ \(warning)")) }
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func number(_ value: Double?, _ digits: Int) -> String {
        guard let value else { return "-" }
        return String(format: "%.\(digits)f", value)
    }

    static func ms(_ seconds: Double?, unit: Bool = false) -> String {
        guard let seconds else { return "-" }
        return String(format: "%.1f", seconds * 1000) + (unit ? " ms" : "")
    }

    static func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }

    static func percent(_ fraction: Double?) -> String {
        guard let fraction else { return "-" }
        return String(format: "%.1f %%", fraction * 100)
    }

    static func time(_ unix: Double) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: unix)) + "Z"
    }
}

/// Everything `apm report --app` shows.
struct AppReport: Encodable {
    var app: APIAppSummary
    var transaction: String?
    var summary: APIFigures
    var transactions: [APITransactionRow]
    /// Requests per minute over the range: the app's, or the transaction's.
    var trend: [Double]
    var databases: [APIDatabaseRow]
    var externals: [APIExternalRow]
    var errors: [APIErrorGroup]
    var process: ProcessMetricsResponse
    var whatIf: APIWhatIfApdex?

    enum CodingKeys: String, CodingKey {
        case app, transaction, summary, transactions, databases, externals, errors, process
        case whatIf = "what_if"
    }

    static func fetch(
        client: CollectorClient,
        app: APIAppSummary,
        since: String,
        transaction: String?,
        whatIfT: Double?
    ) async throws -> AppReport {
        let base = "/api/v1/apps/\(app.id)"
        let range = "since=\(since)"
        let transactionQuery = transaction.map { "&transaction=\(CollectorClient.encodePath($0))" } ?? ""
        let summary = try await client.get(APIFigures.self, "\(base)/summary?\(range)\(transactionQuery)")
        let transactions =
            try await client.get([String: [APITransactionRow]].self, "\(base)/transactions?\(range)&limit=200")[
                "transactions"
            ] ?? []
        let databases =
            try await client.get([String: [APIDatabaseRow]].self, "\(base)/databases?\(range)\(transactionQuery)")[
                "databases"
            ] ?? []
        let externals =
            try await client.get([String: [APIExternalRow]].self, "\(base)/externals?\(range)\(transactionQuery)")[
                "externals"
            ] ?? []
        var errors =
            try await client.get([String: [APIErrorGroup]].self, "\(base)/errors?\(range)&limit=200")["errors"] ?? []
        var trend = app.sparkline
        if let transaction {
            errors = errors.filter { $0.transaction == transaction }
            let series = try await client.get(APISeries.self, "\(base)/series?\(range)\(transactionQuery)")
            trend = series.points.map(\.rpm)
        }
        let process = try await client.get(ProcessMetricsResponse.self, "\(base)/process?\(range)")
        var whatIf: APIWhatIfApdex?
        if let whatIfT {
            whatIf = try await client.get(APIWhatIfApdex.self, "\(base)/apdex?\(range)&t=\(whatIfT)\(transactionQuery)")
        }
        return AppReport(
            app: app,
            transaction: transaction,
            summary: summary,
            transactions: transaction == nil ? transactions : transactions.filter { $0.name == transaction },
            trend: trend,
            databases: databases,
            externals: externals,
            errors: errors,
            process: process,
            whatIf: whatIf
        )
    }
}

extension ReportCommand {
    /// The rate a throughput chart ends on (the last complete minute) and the range's average, each named: the
    /// average alone counts the minutes before the app existed and read as a fraction of the real rate.
    static func throughput(_ figures: APIFigures) -> String {
        guard let latest = figures.latestMinute else { return "\(number(figures.rpm, 1)) rpm (range average)" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "HH:mm"
        let minute = formatter.string(from: Date(timeIntervalSince1970: Double(latest.start)))
        return "\(latest.count) rpm in the minute from \(minute) UTC, \(number(figures.rpm, 1)) rpm on average"
    }
}
