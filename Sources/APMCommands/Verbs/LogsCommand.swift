import APMCollector
import APMCore
import ArgumentParser
import Foundation

/// `apm logs`: an app's log lines in the terminal, searched and filtered as the Logs page does, or followed.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show an app's log lines, oldest to newest; search them, or follow new ones.",
        discussion: """
            Lines come from the agent's log handler, from programs under apm run-program --forward-output and from \
            OpenTelemetry exports. --grep finds lines containing all its words (letters and digits; case does not \
            matter); --level keeps lines at or above a level. With --follow, new lines are printed as they arrive \
            (agents send theirs with each harvest, so a line may arrive up to a harvest after it was logged) until \
            Ctrl-C.

            Examples:
              apm logs --app shop --level warn --since 24h
              apm logs --app shop --grep "payment declined" --follow

            Exit codes: 0 done; 1 no such app; 2 bad options; 3 collector unreachable; 4 token rejected.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "The app's name.") var app: String
    @Option(help: "Only lines at or above this level: \(LogLevel.allowedDescription).") var level: String?
    @Option(help: "Only lines containing all these words.") var grep: String?
    @Option(help: "Only the lines of this trace (32 hex digits).") var trace: String?
    @Option(help: "Only the lines of this transaction, e.g. \"GET /users/:id\".") var transaction: String?
    @Option(help: "How far back: 30m, 1h, 24h, 7d.") var since: String = "1h"
    @Option(help: "The most lines shown (the newest of the range), 1 to 1000.") var limit: Int = 100
    @Flag(help: "Keep printing new lines as they arrive, until Ctrl-C.") var follow = false
    @Option(help: "With --follow: seconds between looks for new lines.") var interval: Double = 2

    func validate() throws {
        try SinceOption.validate(since)
        if let level, LogLevel(name: level) == nil {
            throw ValidationError("--level \(level): use \(LogLevel.allowedDescription)")
        }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        guard interval >= 0.2, interval <= 3600 else { throw ValidationError("--interval must be 0.2 to 3600 seconds") }
        if let trace, trace.utf8.count != 32 || !trace.allSatisfy(\.isHexDigit) {
            throw ValidationError("--trace \(trace): a trace id is 32 hex digits")
        }
    }

    /// The query string of the filters.
    var filterQuery: String {
        var query = ""
        if let level { query += "&level=\(CollectorClient.encodePath(level))" }
        if let grep { query += "&q=\(CollectorClient.encodePath(grep))" }
        if let trace { query += "&trace_id=\(trace)" }
        if let transaction { query += "&transaction=\(CollectorClient.encodePath(transaction))" }
        return query
    }

    func run() async throws {
        try await runVerb {
            let client = try connection.client()
            let id = try await AppsCommand.id(of: app, client: client)
            let first = try await client.get(
                APILogPage.self,
                "/api/v1/apps/\(id)/logs?since=\(since)&limit=\(limit)\(filterQuery)"
            )
            if first.logs.isEmpty && !follow {
                print("No log lines of \(app) in the last \(since) that match.")
                return
            }
            for line in first.logs.reversed() { print(Self.render(line)) }
            fflush(nil)
            guard follow else { return }
            // Lines are printed as they arrive, not by the time they were logged: an agent's come a harvest later.
            // The last ten minutes are asked for each time, and lines already printed skipped by id.
            var printed = Set(first.logs.map(\.id))
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                let from = Int64(Date().timeIntervalSince1970) - 600
                let page = try await client.get(
                    APILogPage.self,
                    "/api/v1/apps/\(id)/logs?from=\(from)&limit=1000\(filterQuery)"
                )
                for line in page.logs.reversed() where printed.insert(line.id).inserted {
                    print(Self.render(line))
                }
                fflush(nil)
                if printed.count > 100_000 { printed = Set(page.logs.map(\.id)) }
            }
        }
    }

    /// One line as the terminal shows it: time (UTC, milliseconds), level, host, message, then its trace and
    /// transaction when it has them.
    static func render(_ line: APILogRecord) -> String {
        let milliseconds = (line.timeUnixNano % 1_000_000_000) / 1_000_000
        let time = ReportCommand.time(Double(line.timeUnixNano / 1_000_000_000)).dropLast()
        var text =
            "\(time).\(String(format: "%03d", milliseconds))Z \(line.level.rawValue.uppercased().padding(toLength: 5, withPad: " ", startingAt: 0)) \(line.host): \(line.message)"
        if let transaction = line.transaction { text += "  [\(transaction)]" }
        if let traceID = line.traceID { text += "  trace=\(traceID)" }
        return text
    }
}
