import APMCollector
import APMStorage
import ArgumentParser
import Foundation

/// `apm errors`: an app's errors as issues, and their state (what the errors page's buttons do).
struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "List an app's errors as issues; resolve, ignore or reopen them.",
        discussion: """
            Regressed is the collector's to set: a resolved issue seen again. Needs an admin API token to change \
            a state (APM_API_TOKEN or --token). Exit codes: 0 done; 1 no such app or issue; 2 bad options; \
            3 collector unreachable; 4 key rejected.
            """,
        subcommands: [List.self, Resolve.self, Ignore.self, Reopen.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an app's issues seen in a range, most frequent first (or by --order).",
            discussion: "Example: apm errors list shop --since 24h --state unresolved,regressed"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Option(help: "How far back: 30m, 1h, 24h, 7d, 30d.") var since: String = "24h"
        @Option(
            help:
                "Only these states, comma-separated: \(ErrorGroupState.allCases.map(\.rawValue).joined(separator: ", "))."
        )
        var state: String?
        @Option(help: "The sort: count (most frequent first), last_seen, first_seen.") var order: String = "count"

        func validate() throws {
            guard ErrorGroupOrder(rawValue: order) != nil else {
                throw ValidationError("--order \(order): use count, last_seen or first_seen")
            }
            guard TimeRange.seconds(parsing: since) != nil else {
                throw ValidationError("--since \(since): use a number and a unit, e.g. 30m, 24h, 7d")
            }
            for name in (state ?? "").split(separator: ",") where ErrorGroupState(rawValue: String(name)) == nil {
                throw ValidationError(
                    "--state \(name): use \(ErrorGroupState.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
        }

        func run() async throws {
            try await runVerb {
                let client = try connection.client()
                let id = try await AppsCommand.id(of: app, client: client)
                struct Issues: Decodable { var issues: [APIErrorGroup] }
                let filter = (state.map { "&state=\($0)" } ?? "") + "&order=\(order)"
                let list = try await client.get(Issues.self, "/api/v1/apps/\(id)/issues?since=\(since)\(filter)")
                guard !list.issues.isEmpty else {
                    print("No issues of \(app) in the last \(since)\(state.map { " in state \($0)" } ?? "").")
                    return
                }
                var table = TextTable(["id", "state", "count", "last seen", "error", "transaction"])
                for issue in list.issues {
                    table.add([
                        "\(issue.id)", issue.status.state, "\(issue.count)", ReportCommand.time(issue.lastSeen),
                        "\(issue.type): \(issue.message)".prefix(80).description, issue.transaction,
                    ])
                }
                print(table.render())
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve an issue: seen again later, it regresses.",
            discussion: "Example: apm errors resolve shop 42 --next-deployment"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Argument(help: "The issue's id (apm errors list).") var issue: Int64
        @Flag(help: "Fixed in the next deployment: occurrences before it are the old code's.")
        var nextDeployment = false

        func run() async throws {
            try await ErrorsCommand.change(
                connection,
                app: app,
                issue: issue,
                ["state": .string(nextDeployment ? "resolved_next_deployment" : "resolved")]
            )
        }
    }

    struct Ignore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ignore an issue: forever, or until more occurrences or some hours have passed.",
            discussion: "Example: apm errors ignore shop 42 --more 100"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Argument(help: "The issue's id (apm errors list).") var issue: Int64
        @Option(help: "Unresolved again after this many more occurrences.") var more: UInt64?
        @Option(help: "Unresolved again when it occurs after this many hours.") var hours: Double?

        func validate() throws {
            if let more, more < 1 { throw ValidationError("--more \(more): use a whole number of at least 1") }
            if let hours, !(hours > 0 && hours <= 8784) {
                throw ValidationError("--hours \(hours): use a number of hours from above 0 to 8784 (a year)")
            }
        }

        func run() async throws {
            var fields: [String: AnyCodable] = ["state": .string("ignored")]
            if let more { fields["ignore_more_occurrences"] = .integer(more) }
            if let hours { fields["ignore_until"] = .number(Date().timeIntervalSince1970 + hours * 3600) }
            try await ErrorsCommand.change(connection, app: app, issue: issue, fields)
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a resolved, ignored or regressed issue unresolved.",
            discussion: "Example: apm errors reopen shop 42"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Argument(help: "The issue's id (apm errors list).") var issue: Int64

        func run() async throws {
            try await ErrorsCommand.change(connection, app: app, issue: issue, ["state": .string("unresolved")])
        }
    }

    /// Sends a state change and prints the new state.
    static func change(
        _ connection: ConnectionOptions,
        app: String,
        issue: Int64,
        _ fields: [String: AnyCodable]
    ) async throws {
        try await runVerb {
            let client = try connection.client()
            let id = try await AppsCommand.id(of: app, client: client)
            let data = try await client.send(
                "PATCH",
                "/api/v1/apps/\(id)/issues/\(issue)",
                body: JSONEncoder().encode(fields)
            )
            let status = try JSONDecoder().decode(APIIssueStatus.self, from: data)
            print("Issue \(issue) of \(app) is \(status.state.replacingOccurrences(of: "_", with: " ")).")
        }
    }
}
