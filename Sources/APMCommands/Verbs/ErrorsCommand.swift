import APMCollector
import APMCore
import APMStorage
import ArgumentParser
import Foundation

/// `apm errors`: an app's errors as issues, and their state (what the errors page's buttons do).
struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "List an app's errors as issues, show one; resolve, ignore, reopen or merge them.",
        discussion: """
            Regressed is the collector's to set: a resolved issue seen again. Needs an admin API token to change \
            a state (APM_API_TOKEN or --token). Exit codes: 0 done; 1 no such app or issue; 2 bad options; \
            3 collector unreachable; 4 key rejected.
            """,
        subcommands: [List.self, Show.self, Resolve.self, Ignore.self, Reopen.self, Merge.self]
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
        @Option(help: "The sort: count (most frequent first), last_seen, first_seen, users (most users affected).")
        var order: String = "count"
        @Option(help: "Only issues that occurred in this transaction.") var transaction: String?
        @Option(help: "Only issues first seen while this deployment (its revision) was the latest.")
        var deployment: String?
        @Flag(help: "Only issues first seen in the range (new ones).") var new = false

        func validate() throws {
            guard ErrorGroupOrder(rawValue: order) != nil else {
                throw ValidationError("--order \(order): use count, last_seen, first_seen or users")
            }
            try SinceOption.validate(since)
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
                var filter = (state.map { "&state=\($0)" } ?? "") + "&order=\(order)"
                if let transaction { filter += "&transaction=\(CollectorClient.encodePath(transaction))" }
                if let deployment { filter += "&deployment=\(CollectorClient.encodePath(deployment))" }
                if new { filter += "&new=true" }
                let list = try await client.get(Issues.self, "/api/v1/apps/\(id)/issues?since=\(since)\(filter)")
                guard !list.issues.isEmpty else {
                    print("No issues of \(app) in the last \(since)\(state.map { " in state \($0)" } ?? "").")
                    return
                }
                var table = TextTable(["id", "state", "count", "users", "last seen", "error", "transaction"])
                for issue in list.issues {
                    table.add([
                        "\(issue.id)", issue.status.state, "\(issue.count)", "\(issue.usersAffected ?? 0)",
                        ReportCommand.time(issue.lastSeen),
                        "\(issue.type): \(issue.message)".prefix(80).description, issue.transaction,
                    ])
                }
                print(table.render())
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one issue: its state, counts by transaction, host and deployment, its latest samples.",
            discussion: "Example: apm errors show shop 42 --since 7d"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Argument(help: "The issue's id (apm errors list).") var issue: Int64
        @Option(help: "How far back the occurrences are counted: 30m, 1h, 24h, 7d, 30d.") var since: String = "24h"

        func validate() throws {
            try SinceOption.validate(since)
        }

        func run() async throws {
            try await runVerb {
                let client = try connection.client()
                let id = try await AppsCommand.id(of: app, client: client)
                let detail = try await client.get(
                    APIIssueDetail.self,
                    "/api/v1/apps/\(id)/issues/\(issue)?since=\(since)"
                )
                print(ErrorsCommand.render(detail))
            }
        }
    }

    /// An issue as `apm errors show` prints it.
    static func render(_ detail: APIIssueDetail) -> String {
        let issue = detail.issue
        func deployment(_ deployment: APIDeployment?) -> String {
            deployment.map { " (deployment \($0.revision))" } ?? ""
        }
        var lines = [
            "Issue \(issue.id): \(issue.type): \(issue.message)",
            "State: \(issue.status.state.replacingOccurrences(of: "_", with: " "))"
                + (issue.status.changedBy.map { " (by \($0))" } ?? ""),
            "Occurrences: \(issue.count) in the range, \(detail.totalCount) in all; users affected: \(issue.usersAffected ?? 0)",
            "First seen: \(ReportCommand.time(issue.firstSeen))\(deployment(detail.firstSeenDeployment))",
            "Last seen: \(ReportCommand.time(issue.lastSeen))\(deployment(detail.lastSeenDeployment))",
        ]
        for (title, counts) in [("transaction", detail.transactions), ("host", detail.hosts)] where !counts.isEmpty {
            var table = TextTable([title, "count", "last seen"])
            for count in counts { table.add([count.value, "\(count.count)", ReportCommand.time(count.lastSeen)]) }
            lines += ["", "By \(title):", table.render()]
        }
        if !detail.deployments.isEmpty {
            var table = TextTable(["deployment", "count in range"])
            for count in detail.deployments {
                table.add([count.revision.isEmpty ? "(before the first)" : count.revision, "\(count.count)"])
            }
            lines += ["", "By deployment:", table.render()]
        }
        if let latest = detail.samples.first {
            lines += [
                "",
                "Latest occurrence: \(ReportCommand.time(latest.at)) on \(latest.host) in \(latest.sample.transaction)",
            ]
            let frames = (latest.sample.frames ?? []).filter(\.inApp).prefix(10).map {
                "  \($0.function)\($0.file.isEmpty ? "" : " \($0.file):\($0.line)")"
            }
            lines += frames.isEmpty ? latest.sample.stack.prefix(10).map { "  \($0)" } : Array(frames)
        }
        return lines.joined(separator: "\n")
    }

    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge issues into one: their counts, samples and fingerprints join it.",
            discussion: "Example: apm errors merge shop 42 57 61   (57 and 61 join 42)"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Argument(help: "The issue that stays.") var issue: Int64
        @Argument(help: "The issues merged into it.") var others: [Int64]

        func validate() throws {
            guard (1...100).contains(others.count) else {
                throw ValidationError("name 1 to 100 issues to merge into \(issue)")
            }
        }

        func run() async throws {
            try await runVerb {
                struct Body: Encodable { var issues: [Int64] }
                struct Merged: Decodable { var merged: [Int64] }
                let client = try connection.client()
                let id = try await AppsCommand.id(of: app, client: client)
                let data = try await client.send(
                    "POST",
                    "/api/v1/apps/\(id)/issues/\(issue)/merge",
                    body: JSONEncoder().encode(Body(issues: others))
                )
                let merged = try JSONDecoder().decode(Merged.self, from: data).merged
                print("Merged \(merged.map(String.init).joined(separator: ", ")) into issue \(issue) of \(app).")
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
