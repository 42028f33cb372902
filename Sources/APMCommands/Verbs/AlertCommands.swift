import APMCollector
import APMStorage
import ArgumentParser
import Foundation

/// `apm alerts list|create|delete|test|channels|add-channel|delete-channel|incidents|acknowledge`.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Alert conditions, notification channels and incidents (docs/alerts.md).",
        discussion:
            "Exit codes: 0 done; 1 refused (the message names the field) or not found; 2 bad options; 3 collector unreachable; 4 token rejected.",
        subcommands: [
            List.self, Create.self, Delete.self, Test.self, Channels.self, AddChannel.self, DeleteChannel.self,
            Incidents.self, Acknowledge.self,
        ]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List conditions, open incidents and the latest notifications with their errors.",
            discussion: "Example: apm alerts list"
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runVerb {
                let client = try connection.client()
                let conditions =
                    try await client.get([String: [APIAlertCondition]].self, "/api/v1/alerts/conditions")[
                        "conditions"
                    ] ?? []
                let apps = Dictionary(
                    try await client.allApps(APIAppSummary.self).map { ($0.id, $0.name) },
                    uniquingKeysWith: { first, _ in first }
                )
                var table = TextTable(["id", "name", "app", "metric", "warning", "critical", "window", "channels"])
                for condition in conditions {
                    table.add([
                        "\(condition.id)", condition.name,
                        (apps[condition.appID] ?? "\(condition.appID)")
                            + (condition.transaction.map { " / \($0)" } ?? ""),
                        condition.metric + (condition.metricName.map { " \($0)" } ?? "")
                            + (condition.metricFilter.map { " {\($0)}" } ?? ""),
                        condition.warning.map { "\($0)" } ?? "-",
                        condition.critical.map { "\($0)" } ?? "-", "\(condition.windowMinutes) min",
                        condition.channels.map(String.init).joined(separator: ","),
                    ])
                }
                print("Conditions\n" + table.render())
                let open =
                    try await client.get([String: [APIAlertIncident]].self, "/api/v1/alerts/incidents?state=open")[
                        "incidents"
                    ] ?? []
                print("\nOpen incidents\n" + Incidents.table(open, conditions: conditions).render())
                let deliveries =
                    try await client.get([String: [APIAlertDelivery]].self, "/api/v1/alerts/deliveries?limit=10")[
                        "deliveries"
                    ] ?? []
                var sent = TextTable(["created", "channel", "event", "status", "attempts", "last error"])
                for delivery in deliveries {
                    sent.add([
                        ReportCommand.time(delivery.createdAt), "\(delivery.channelID)", delivery.event,
                        delivery.status,
                        "\(delivery.attempts)", delivery.lastError ?? "",
                    ])
                }
                print("\nLatest notifications\n" + sent.render())
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a condition on an app (or one of its transactions).",
            discussion: HelpText.discussion(
                """
                Metrics: \(AlertMetric.allCases.map(\.rawValue).joined(separator: ", ")).
                Examples:
                  apm alerts create shop --name Apdex --metric apdex --critical 0.7 --channel 1
                  apm alerts create shop --name p95 --metric p95_response_time --critical 1.5
                  apm alerts create shop --name Silent --metric no_data --window 10
                  apm alerts create shop --name "New errors" --metric new_error --channel 1
                """
            )
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The app's name.") var app: String
        @Option(help: "A label.") var name: String
        @Option(help: "The figure watched.") var metric: String
        @Option(help: "The warning threshold.") var warning: Double?
        @Option(help: "The critical threshold.") var critical: Double?
        @Option(help: "Minutes per evaluation (1-60).") var window: Int = 5
        @Option(name: .customLong("for"), help: "Evaluations in a row a breach must last (1-60).") var evaluations:
            Int =
                1
        @Option(help: "Below this many requests in the window, stay quiet.") var minRequests: Int = 10
        @Option(help: "One transaction of the app.") var transaction: String?
        @Option(help: "A channel id to notify (repeat for several).") var channel: [Int64] = []
        @Option(help: "With --metric metric_above or metric_below: the stored metric (e.g. system.cpu.utilization).")
        var metricName: String?
        @Option(help: "With --metric-name: which series, key=value (e.g. state=idle, host=web-1).")
        var metricFilter: String?

        func run() async throws {
            try await runVerb {
                let client = try connection.client()
                var request = AlertConditionRequest()
                request.appID = try await AppsCommand.id(of: app, client: client)
                request.name = name
                request.metric = metric
                request.warning = warning
                request.critical = critical
                request.windowMinutes = window
                request.forEvaluations = evaluations
                request.minRequests = minRequests
                request.transaction = transaction
                request.channels = channel
                request.metricName = metricName
                request.metricFilter = metricFilter
                let data = try await client.send(
                    "POST",
                    "/api/v1/alerts/conditions",
                    body: try JSONEncoder().encode(request)
                )
                let created = try JSONDecoder().decode(APIAlertCondition.self, from: data)
                print("Created condition \(created.id) (\(created.name)).")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a condition; its open incident resolves, its history stays.",
            discussion: "Example: apm alerts delete 3"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The condition's id (from `apm alerts list`).") var id: Int64

        func run() async throws {
            try await runVerb {
                _ = try await connection.client().send("DELETE", "/api/v1/alerts/conditions/\(id)")
                print("Deleted condition \(id).")
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a test notification to a channel now and say how it went.",
            discussion: "Example: apm alerts test 1"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The channel's id (from `apm alerts channels`).") var channel: Int64

        func run() async throws {
            try await runVerb {
                let data = try await connection.client().send("POST", "/api/v1/alerts/channels/\(channel)/test")
                let delivery = try JSONDecoder().decode(APIAlertDelivery.self, from: data)
                guard delivery.status == "delivered" else {
                    throw CommandFailure(
                        message:
                            "the test notification to channel \(channel) failed: \(delivery.lastError ?? "no answer"); it is retried like any other",
                        exitCode: APMExit.failure
                    )
                }
                print("Test notification delivered to channel \(channel).")
            }
        }
    }

    struct Channels: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List notification channels (never their secrets).",
            discussion: "Example: apm alerts channels"
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runVerb {
                let channels =
                    try await connection.client().get([String: [APIAlertChannel]].self, "/api/v1/alerts/channels")[
                        "channels"
                    ] ?? []
                var table = TextTable(["id", "name", "kind", "url"])
                for channel in channels { table.add(["\(channel.id)", channel.name, channel.kind, channel.url]) }
                print(table.render())
            }
        }
    }

    struct AddChannel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-channel",
            abstract: "Add a webhook, Slack or email channel; a webhook's signing secret is shown once.",
            discussion: HelpText.discussion(
                """
                Examples:
                  apm alerts add-channel --name ops --kind webhook --url https://ops.example/h
                  apm alerts add-channel --name team --kind slack --url https://hooks.slack/T
                  apm alerts add-channel --name oncall --kind email --address oncall@example.com
                """
            )
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "A label.") var name: String
        @Option(help: "webhook, slack or email.") var kind: String
        @Option(help: "Where notifications are POSTed (webhook, slack).") var url: String?
        @Option(help: "The recipient (email; needs smtp_url on the collector).") var address: String?
        @Option(help: "The webhook's signing secret (default: a random one).") var secret: String?

        func run() async throws {
            try await runVerb {
                var request = AlertChannelRequest()
                request.name = name
                request.kind = kind
                request.url = url
                request.address = address
                request.secret = secret
                let data = try await connection.client().send(
                    "POST",
                    "/api/v1/alerts/channels",
                    body: try JSONEncoder().encode(request)
                )
                let created = try JSONDecoder().decode(APIAlertChannel.self, from: data)
                print("Created channel \(created.id) (\(created.name)).")
                if let secret = created.secret {
                    print("Its signing secret is shown only once:\n\n    \(secret)\n")
                }
            }
        }
    }

    struct DeleteChannel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-channel",
            abstract: "Delete a channel; conditions stop notifying it.",
            discussion: "Example: apm alerts delete-channel 2"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The channel's id.") var id: Int64

        func run() async throws {
            try await runVerb {
                _ = try await connection.client().send("DELETE", "/api/v1/alerts/channels/\(id)")
                print("Deleted channel \(id).")
            }
        }
    }

    struct Incidents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List incidents, newest first.",
            discussion: "Example: apm alerts incidents --open"
        )
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Only open incidents.") var open = false

        func run() async throws {
            try await runVerb {
                let client = try connection.client()
                let incidents =
                    try await client.get(
                        [String: [APIAlertIncident]].self,
                        "/api/v1/alerts/incidents?state=\(open ? "open" : "all")"
                    )["incidents"] ?? []
                let conditions =
                    try await client.get([String: [APIAlertCondition]].self, "/api/v1/alerts/conditions")[
                        "conditions"
                    ] ?? []
                print(Self.table(incidents, conditions: conditions).render())
            }
        }

        static func table(_ incidents: [APIAlertIncident], conditions: [APIAlertCondition]) -> TextTable {
            let names = Dictionary(conditions.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            var table = TextTable(["id", "condition", "severity", "state", "opened", "value", "resolved", "ack"])
            for incident in incidents {
                table.add([
                    "\(incident.id)", names[incident.conditionID] ?? "(deleted)", incident.severity, incident.state,
                    ReportCommand.time(Double(incident.openedAt)),
                    incident.openedValue.map { String(format: "%.3f", $0) } ?? "-",
                    incident.resolvedAt.map { ReportCommand.time(Double($0)) } ?? "-",
                    incident.acknowledgedBy ?? "-",
                ])
            }
            return table
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Acknowledge an incident (someone is on it).",
            discussion: "Example: apm alerts acknowledge 12"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The incident's id.") var id: Int64

        func run() async throws {
            try await runVerb {
                _ = try await connection.client().send("POST", "/api/v1/alerts/incidents/\(id)/acknowledge")
                print("Acknowledged incident \(id).")
            }
        }
    }
}
