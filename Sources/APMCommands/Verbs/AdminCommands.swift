import APMCollector
import APMCore
import APMPostgres
import APMSQLite
import APMStorage
import ArgumentParser
import Foundation
import Logging

/// `apm keys create|list|revoke`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke license keys of your account.",
        discussion:
            "Exit codes: 0 done; 1 not found or unexpected answer; 2 bad options; 3 collector unreachable; 4 key rejected.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a license key; it is shown once (the collector keeps only its hash).",
            discussion: "Example: apm keys create --name ci"
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "A label for the key.") var name: String = "key"

        func run() async throws {
            try await runVerb {
                struct Created: Decodable {
                    var key: String
                    var record: APICredential
                }
                let body = try JSONEncoder().encode(["name": name])
                let data = try await connection.client().send("POST", "/api/v1/keys", body: body)
                let created = try JSONDecoder().decode(Created.self, from: data)
                print(
                    "Created key \(created.record.id) (\(created.record.name)). It is shown only once:\n\n    \(created.key)\n"
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List license keys (prefixes only).",
            discussion: "Example: apm keys list"
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runVerb {
                let keys =
                    try await connection.client().get([String: [APICredential]].self, "/api/v1/keys")["keys"] ?? []
                var table = TextTable(["id", "name", "prefix", "created", "status"])
                for key in keys {
                    table.add([
                        "\(key.id)", key.name, key.prefix + "…", ReportCommand.time(key.createdAt),
                        key.revokedAt.map { "revoked \(ReportCommand.time($0))" } ?? "active",
                    ])
                }
                print(table.render())
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a license key: agents using it are refused from now on.",
            discussion: "Example: apm keys revoke 3"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The key's id (from `apm keys list`).") var id: Int64

        func run() async throws {
            try await runVerb {
                _ = try await connection.client().send("DELETE", "/api/v1/keys/\(id)")
                print("Revoked key \(id).")
            }
        }
    }
}

/// `apm apps list|set-apdex`.
struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apps",
        abstract: "List apps and set their Apdex T.",
        discussion:
            "Exit codes: 0 done; 1 no such app or unexpected answer; 2 bad options; 3 collector unreachable; 4 key rejected.",
        subcommands: [List.self, SetApdex.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the account's apps.",
            discussion: "Example: apm apps list"
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runVerb {
                let apps =
                    try await connection.client().allApps(APIAppSummary.self)
                var table = TextTable(["id", "name", "language", "last seen", "apdex T"])
                for app in apps {
                    table.add([
                        "\(app.id)", app.name, app.language, ReportCommand.time(app.lastSeenAt),
                        "\(app.summary.apdex.t) s",
                    ])
                }
                print(table.render())
            }
        }
    }

    struct SetApdex: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-apdex",
            abstract:
                "Set an app's Apdex T, or one transaction's. New data uses it at once; agents learn it from their next delivery.",
            discussion: HelpText.discussion(
                """
                Examples:
                  apm apps set-apdex shop 0.3
                  apm apps set-apdex shop 2 --transaction "POST /export"
                """
            )
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Argument(help: "T in seconds.") var seconds: Double
        @Option(help: "Set it for one transaction only.") var transaction: String?

        func validate() throws {
            guard ApdexThreshold(seconds: seconds) != nil else {
                throw ValidationError("SECONDS must be from 0.001 to 3600")
            }
        }

        func run() async throws {
            try await runVerb {
                let client = try connection.client()
                let id = try await AppsCommand.id(of: app, client: client)
                var body: [String: AnyCodable] = ["apdex_t": .number(seconds)]
                if let transaction { body["transaction"] = .string(transaction) }
                _ = try await client.send("PUT", "/api/v1/apps/\(id)/apdex", body: try JSONEncoder().encode(body))
                print("Apdex T of \(app)\(transaction.map { " / \($0)" } ?? "") is now \(seconds) s.")
            }
        }
    }

    static func id(of name: String, client: CollectorClient) async throws -> Int64 {
        let apps = try await client.allApps(APIAppSummary.self)
        guard let app = apps.first(where: { $0.name == name }) else {
            throw CommandFailure(
                message: "no app named \(name); the apps are: \(apps.map(\.name).joined(separator: ", "))",
                exitCode: APMExit.failure
            )
        }
        return app.id
    }
}

/// `apm deployments record APP --revision R`.
struct DeploymentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deployments",
        abstract: "Record and list deployments: markers on every chart and series.",
        discussion: "Exit codes: 0 done; 1 no such app; 2 bad options; 3 collector unreachable; 4 key rejected.",
        subcommands: [Record.self, List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an app's deployments, newest first.",
            discussion: "Example: apm deployments list shop --since 7d"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Option(help: "How far back: 30m, 1h, 24h, 7d, 30d.") var since: String = "7d"

        func validate() throws {
            try SinceOption.validate(since)
        }

        func run() async throws {
            try await runVerb {
                let client = try connection.client()
                let id = try await AppsCommand.id(of: app, client: client)
                struct Deployments: Decodable { var deployments: [APIDeployment] }
                let list = try await client.get(Deployments.self, "/api/v1/apps/\(id)/deployments?since=\(since)")
                guard !list.deployments.isEmpty else {
                    print("No deployments of \(app) in the last \(since).")
                    return
                }
                var table = TextTable(["at", "revision", "user", "description"])
                for deployment in list.deployments.sorted(by: { $0.at > $1.at }) {
                    table.add([
                        ReportCommand.time(deployment.at), deployment.revision, deployment.user, deployment.description,
                    ])
                }
                print(table.render())
            }
        }
    }

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a deployment of an app now.",
            discussion: #"Example: apm deployments record shop --revision v1.4.2 --description "faster search""#
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Option(help: "The revision deployed.") var revision: String
        @Option(help: "What changed.") var description: String = ""
        @Option(help: "Who deployed (default: $USER).") var user: String?

        func run() async throws {
            try await runVerb {
                let client = try connection.client()
                let fields = [
                    "app": app, "revision": revision, "description": description,
                    "user": user ?? ProcessInfo.processInfo.environment["USER"] ?? "",
                ]
                if CredentialKind(presented: client.credential) == .apiToken {
                    let id = try await AppsCommand.id(of: app, client: client)
                    _ = try await client.send(
                        "POST",
                        "/api/v1/apps/\(id)/deployments",
                        body: JSONEncoder().encode(fields)
                    )
                } else {
                    // A license key may record a deployment by the app's name (it cannot list apps).
                    _ = try await client.send("POST", "/v1/agent/deployments", body: JSONEncoder().encode(fields))
                }
                print("Recorded deployment \(revision) of \(app).")
            }
        }
    }
}

/// A JSON value for small request bodies.
enum AnyCodable: Encodable {
    case number(Double)
    case integer(UInt64)
    case string(String)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }
}
