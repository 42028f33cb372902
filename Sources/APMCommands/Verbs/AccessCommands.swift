import APMCollector
import APMCore
import APMPostgres
import APMSQLite
import APMStorage
import ArgumentParser
import Foundation
import Logging

/// `apm users add|list|remove|set-role|reset-password`.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Dashboard users: add, list, remove, set a role, give a new password.",
        discussion: HelpText.discussion(
            """
            A viewer reads every page of the account and changes nothing; an admin also changes apps' T, keys,
            tokens, users and alerts. A removed user's sessions end at once; a change of role applies at once.
            The account's last admin cannot be removed or made a viewer. These verbs need an admin token.

            Exit codes: 0 done; 1 no such user, or refused (the name exists, the last admin); 2 bad options;
            3 collector unreachable; 4 key rejected.
            """
        ),
        subcommands: [Add.self, List.self, Remove.self, SetRole.self, ResetPassword.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a dashboard user with a random password (shown once).",
            discussion: "Example: apm users add alice --role viewer"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The login name: 1 to 64 letters, digits, '.', '-', '_' or '@'.") var name: String
        @Option(help: "viewer (reads everything, changes nothing) or admin.") var role: RoleArgument = .viewer

        func run() async throws {
            try await runVerb {
                let body = try JSONEncoder().encode(["name": name, "role": role.rawValue])
                let data = try await connection.client().send("POST", "/api/v1/users", body: body)
                let answer = try JSONDecoder().decode([String: String].self, from: data)
                print(
                    "Added \(answer["role"] ?? role.rawValue) \(answer["user"] ?? name); "
                        + "password (shown only once): \(answer["password"] ?? "")"
                )
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a dashboard user; the user's sessions end at once.",
            discussion: "Example: apm users remove alice"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The user's login name.") var name: String

        func run() async throws {
            try await runVerb {
                _ = try await connection.client().send("DELETE", "/api/v1/users/\(CollectorClient.encodePath(name))")
                print("Removed \(name); the user's sessions have ended.")
            }
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-role",
            abstract: "Make a user a viewer or an admin, at once for the user's sessions.",
            discussion: "Example: apm users set-role alice admin"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The user's login name.") var name: String
        @Argument(help: "viewer or admin.") var role: RoleArgument

        func run() async throws {
            try await runVerb {
                let body = try JSONEncoder().encode(["role": role.rawValue])
                _ = try await connection.client().send(
                    "PUT",
                    "/api/v1/users/\(CollectorClient.encodePath(name))/role",
                    body: body
                )
                print("\(name) is now \(role == .admin ? "an admin" : "a viewer").")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List dashboard users.",
            discussion: "Example: apm users list"
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runVerb {
                let users =
                    try await connection.client().get([String: [[String: String]]].self, "/api/v1/users")["users"] ?? []
                var table = TextTable(["user", "role", "created", "password changed"])
                for user in users {
                    table.add([
                        user["name"] ?? "", user["role"] ?? "",
                        ReportCommand.time(Double(user["created_at"] ?? "") ?? 0),
                        ReportCommand.time(Double(user["password_changed_at"] ?? "") ?? 0),
                    ])
                }
                print(table.render())
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Give a dashboard user a new random password (shown once).",
            discussion: "Example: apm users reset-password admin"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The user's login name.") var name: String

        func run() async throws {
            try await runVerb {
                let data = try await connection.client().send(
                    "POST",
                    "/api/v1/users/\(CollectorClient.encodePath(name))/reset-password"
                )
                let answer = try JSONDecoder().decode([String: String].self, from: data)
                print("New password for \(name) (shown only once): \(answer["password"] ?? "")")
            }
        }
    }
}

/// `apm tokens create|list|revoke`: API tokens, for reading the API (`read`) and administration (`admin`).
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke API tokens (read or admin).",
        discussion: HelpText.discussion(
            """
            API tokens read the JSON API and drive `apm report` (APM_API_TOKEN); an admin token also manages keys,
            tokens, users and Apdex T. License keys only send data. These verbs need an admin token, except
            `apm tokens create --data-dir DIR`, which writes to a collector's own SQLite database on this machine
            (for the first token of an installation upgraded from before tokens existed, or a lost one).

            Exit codes: 0 done; 1 not found or unexpected answer; 2 bad options; 3 collector unreachable; 4 refused.
            """
        ),
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API token; it is shown once (the collector keeps only its hash).",
            discussion: HelpText.discussion(
                """
                Examples:
                  apm tokens create --name grafana                 (read scope)
                  apm tokens create --name ops --scope admin

                On the collector's machine, no token needed (SQLite, then PostgreSQL):
                  apm tokens create --scope admin --data-dir ./apm-data
                  apm tokens create --scope admin --postgres-url postgres://apm@db/apm
                """
            )
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "A label for the token.") var name: String = "token"
        @Option(help: "read (the default) or admin.") var scope: String = "read"
        @Option(help: "Create it directly in this collector data directory's SQLite database.") var dataDir: String?
        @Option(help: "Create it directly in this PostgreSQL database (postgres://USER:PASSWORD@HOST:PORT/DB).")
        var postgresURL: String?

        func validate() throws {
            guard APITokenScope(rawValue: scope) != nil else { throw ValidationError("--scope must be read or admin") }
            if dataDir != nil && postgresURL != nil {
                throw ValidationError("--data-dir and --postgres-url name two stores: give one")
            }
        }

        func run() async throws {
            try await runVerb {
                if let dataDir {
                    try await createLocally(in: dataDir)
                    return
                }
                if let postgresURL {
                    try await createInPostgreSQL(postgresURL)
                    return
                }
                struct Created: Decodable {
                    struct Record: Decodable {
                        var id: Int64
                        var name: String
                        var scope: String
                    }
                    var token: String
                    var record: Record
                }
                let body = try JSONEncoder().encode(["name": name, "scope": scope])
                let data = try await connection.client().send("POST", "/api/v1/tokens", body: body)
                let created = try JSONDecoder().decode(Created.self, from: data)
                print(
                    "Created \(created.record.scope) token \(created.record.id) (\(created.record.name)). It is shown only once:\n\n    \(created.token)\n"
                )
            }
        }

        private func createInPostgreSQL(_ url: String) async throws {
            let configuration: PostgresStoreConfiguration
            do {
                configuration = try PostgresStoreConfiguration(url: url)
            } catch let error as StoreError {
                throw CommandFailure(message: "--postgres-url: \(error.message)", exitCode: APMExit.configuration)
            }
            var logger = Logger(label: "apm.tokens")
            logger.logLevel = .warning
            let store = PostgresStore(configuration: configuration, logger: logger)
            try await store.withRunning { store in
                try await create(in: store, describing: configuration.redactedDescription)
            }
        }

        /// Creates the token in a store opened here (no collector, no credential).
        private func create(in store: any APMStore, describing location: String) async throws {
            guard let account = try await store.accounts().first else {
                throw CommandFailure(
                    message: "the database at \(location) has no account yet",
                    exitCode: APMExit.failure
                )
            }
            let token = CredentialGenerator.make(.apiToken)
            let record = try await store.createCredential(
                .apiToken,
                scope: APITokenScope(rawValue: scope) ?? .read,
                accountID: account.id,
                name: name,
                hash: CredentialGenerator.hash(token),
                prefix: CredentialGenerator.displayPrefix(of: token)
            )
            print(
                "Created \((record.scope ?? .read).rawValue) token \(record.id) (\(record.name)). It is shown only once:\n\n    \(token)\n"
            )
        }

        private func createLocally(in directory: String) async throws {
            let path = (directory as NSString).appendingPathComponent("apm.sqlite")
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure(message: "no collector database at \(path)", exitCode: APMExit.failure)
            }
            let store = try SQLiteStore(path: path)
            do {
                try await create(in: store, describing: path)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List API tokens (prefixes only).",
            discussion: "Example: apm tokens list"
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runVerb {
                struct Token: Decodable {
                    var id: Int64
                    var name: String
                    var scope: String
                    var prefix: String
                    var createdAt: Double
                    var revokedAt: Double?

                    enum CodingKeys: String, CodingKey {
                        case id, name, scope, prefix
                        case createdAt = "created_at"
                        case revokedAt = "revoked_at"
                    }
                }
                let tokens = try await connection.client().get([String: [Token]].self, "/api/v1/tokens")["tokens"] ?? []
                var table = TextTable(["id", "name", "scope", "prefix", "created", "status"])
                for token in tokens {
                    table.add([
                        "\(token.id)", token.name, token.scope, token.prefix + "…", ReportCommand.time(token.createdAt),
                        token.revokedAt.map { "revoked \(ReportCommand.time($0))" } ?? "active",
                    ])
                }
                print(table.render())
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API token.",
            discussion: "Example: apm tokens revoke 2"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The token's id (from `apm tokens list`).") var id: Int64

        func run() async throws {
            try await runVerb {
                _ = try await connection.client().send("DELETE", "/api/v1/tokens/\(id)")
                print("Revoked token \(id).")
            }
        }
    }
}

/// A user's role as typed on the command line (``UserRole``'s values).
enum RoleArgument: String, ExpressibleByArgument, CaseIterable {
    case viewer
    case admin
}
