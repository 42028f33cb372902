import APMCollector
import APMCore
import APMStorage
import Foundation
import Testing

@Suite struct ReportVerbTests {
    /// Batches with known figures, as an agent would send them.
    static func load(
        _ collector: Collector,
        key: String
    ) async throws -> (minute: Int64, durations: [Double], errors: Int) {
        let now = Int64(Date().timeIntervalSince1970)
        let minute = now - now % 60 - 120
        let durations: [Double] = [0.05, 0.1, 0.2, 0.4, 0.6, 0.9, 1.5, 2.5, 3.0, 0.3]
        var histogram = LatencyHistogram()
        var errorHistogram = LatencyHistogram()
        var apdex = ApdexCounts()
        for (index, duration) in durations.enumerated() {
            histogram.record(seconds: duration)
            if index == 9 { errorHistogram.record(seconds: duration) }
            apdex.record(ApdexThreshold.default.zone(seconds: duration, isError: index == 9))
        }
        let metric = TransactionMetric(
            name: "GET /orders",
            kind: .web,
            count: 10,
            errorCount: 1,
            apdexT: 0.5,
            satisfied: apdex.satisfied,
            tolerating: apdex.tolerating,
            frustrated: apdex.frustrated,
            totalDuration: durations.reduce(0, +),
            minDuration: 0.05,
            maxDuration: 3.0,
            sumOfSquares: durations.reduce(0) { $0 + $1 * $1 },
            breakdown: TimeBreakdown(database: 2, external: 1, application: durations.reduce(0, +) - 3),
            histogram: histogram,
            errorHistogram: errorHistogram
        )
        let segment = SegmentMetric(
            transaction: "GET /orders",
            name: "Postgres SELECT orders",
            category: .datastore,
            system: "postgresql",
            operation: "SELECT",
            target: "orders",
            count: 20,
            totalDuration: 2,
            exclusiveDuration: 2,
            minDuration: 0.01,
            maxDuration: 0.5
        )
        let batch = AgentBatch(
            batchID: UUID().uuidString,
            agent: AgentIdentity(appName: "shop", host: "h", pid: 1, agentVersion: "t"),
            createdAt: Double(now),
            apdexT: 0.5,
            intervals: [MetricInterval(start: minute, transactions: [metric], segments: [segment])],
            // An error of another transaction, which `--transaction "GET /orders"` must not list.
            errors: [
                ErrorSample(
                    timestamp: Double(minute + 10),
                    transaction: "GET /other",
                    type: "OtherError",
                    message: "not of /orders"
                )
            ]
        )
        let account = try #require(try await collector.store.accounts().first)
        _ = try await collector.store.commit(
            [IngestItem(accountID: account.id, batch: batch, receivedAt: Double(now))],
            limits: CardinalityLimits()
        )
        return (minute, durations, 1)
    }

    @Test func jsonMatchesTheWorkloadExactlyAndTheTableShowsTheSameNumbers() async throws {
        try await CLI.withCollector { collector, port, key in
            let loaded = try await Self.load(collector, key: key)
            let directory = try CLI.temporaryDirectory()
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]

            let json = try await CLI.run(
                ["report", "--format", "json", "--since", "1h"],
                in: directory,
                environment: environment
            )
            #expect(json.status == 0, "\(json.stderr)")
            struct Apps: Decodable { var apps: [APIAppSummary] }
            let apps = try JSONDecoder().decode(Apps.self, from: Data(json.stdout.utf8)).apps
            let shop = try #require(apps.first { $0.name == "shop" })
            // S: 0.05 0.1 0.2 0.4 (≤ 0.5); T: 0.6 0.9 1.5 (≤ 2); F: 2.5 3.0 and the error (0.3).
            #expect(shop.summary.count == 10)
            #expect(shop.summary.errors == 1)
            #expect(
                shop.summary.apdex.satisfied == 4 && shop.summary.apdex.tolerating == 3
                    && shop.summary.apdex.frustrated == 3
            )
            #expect(shop.summary.apdex.score == 0.55)
            // rpm is over the range shown (aligned to whole minutes).
            #expect(abs(shop.summary.rpm - 10.0 / (Double(shop.summary.seconds) / 60)) < 1e-12)
            #expect(abs(try #require(shop.summary.average) - 0.955) < 1e-9)

            let table = try await CLI.run(["report", "--since", "1h"], in: directory, environment: environment)
            #expect(table.status == 0)
            #expect(table.stdout.contains("0.55"))
            #expect(table.stdout.contains("4/3/3"))
            #expect(table.stdout.contains("955.0 ms"))
            #expect(table.stdout.contains("10.0 %"))

            let detail = try await CLI.run(
                ["report", "--app", "shop", "--since", "1h", "--what-if-t", "1"],
                in: directory,
                environment: environment
            )
            #expect(detail.status == 0, "\(detail.stderr)")
            #expect(detail.stdout.contains("GET /orders"))
            #expect(detail.stdout.contains("Postgres SELECT orders"))
            #expect(detail.stdout.contains("What if T = 1.000 s"))
            // Throughput as the chart ends: the last complete minute (the loaded one, 10 requests, until the next
            // one is 15 s old), then the range's average, each named (before: the average alone, 0.3 rpm).
            let formatter = DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "HH:mm"
            let label = { (minute: Int64) in formatter.string(from: Date(timeIntervalSince1970: Double(minute))) }
            #expect(
                detail.stdout.contains("10 rpm in the minute from \(label(loaded.minute)) UTC")
                    || detail.stdout.contains("0 rpm in the minute from \(label(loaded.minute + 60)) UTC"),
                "\(detail.stdout)"
            )
            #expect(detail.stdout.contains("rpm on average"))

            let detailJSON = try await CLI.run(
                ["report", "--app", "shop", "--since", "1h", "--format", "json"],
                in: directory,
                environment: environment
            )
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(detailJSON.stdout.utf8)) as? [String: Any]
            )
            let databases = try #require(object["databases"] as? [[String: Any]])
            #expect(databases.first?["calls"] as? Int == 20)

            let csv = try await CLI.run(
                ["report", "--format", "csv", "--since", "1h"],
                in: directory,
                environment: environment
            )
            #expect(csv.stdout.contains("shop,0.550,4,3,3,0.500,"))

            // One transaction, then a name the app never recorded: an error naming the nearest names, not an
            // empty report with the app's trend (before: exit 0 and zeros).
            let orders = try await CLI.run(
                ["report", "--app", "shop", "--transaction", "GET /orders", "--since", "1h"],
                in: directory,
                environment: environment
            )
            #expect(orders.status == 0 && orders.stdout.contains("955.0 ms"), "\(orders.stderr)")
            #expect(!orders.stdout.contains("OtherError"), "another transaction's error group")
            let whatIf = try await CLI.run(
                ["report", "--app", "shop", "--transaction", "GET /orders", "--since", "1h", "--what-if-t", "0.3"],
                in: directory,
                environment: environment
            )
            #expect(whatIf.stdout.contains("What if T = 0.300 s"), "\(whatIf.stdout)")
            #expect(!whatIf.stdout.contains("score_min"), "API field names in the report")
            let unknown = try await CLI.run(
                ["report", "--app", "shop", "--transaction", "GET /nonexistent", "--since", "1h"],
                in: directory,
                environment: environment
            )
            #expect(unknown.status == 1)
            #expect(unknown.stdout.isEmpty)
            #expect(
                unknown.stderr.contains(
                    #"transaction "GET /nonexistent" not found in app shop; the nearest names: "GET /orders""#
                ),
                "\(unknown.stderr)"
            )

            let noSuchApp = try await CLI.run(["report", "--app", "nope"], in: directory, environment: environment)
            #expect(noSuchApp.status == 1)
            #expect(noSuchApp.stderr.contains("no app named nope"))
            let wrongKey = try await CLI.run(
                ["report"],
                in: directory,
                environment: [
                    "APM_COLLECTOR_URL": "http://127.0.0.1:\(port)",
                    "APM_LICENSE_KEY": "apm_" + String(repeating: "0", count: 40),
                ]
            )
            #expect(wrongKey.status == 4)
        }
    }

    @Test func adminVerbsManageKeysApdexAndDeployments() async throws {
        try await CLI.withCollector { collector, port, key in
            _ = try await Self.load(collector, key: key)
            let directory = try CLI.temporaryDirectory()
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]
            let created = try await CLI.run(
                ["keys", "create", "--name", "ci"],
                in: directory,
                environment: environment
            )
            #expect(created.status == 0)
            let newKey = try #require(
                created.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.first {
                    $0.hasPrefix("apm_")
                }
            )
            let list = try await CLI.run(["keys", "list"], in: directory, environment: environment)
            #expect(list.stdout.contains("ci"))
            #expect(!list.stdout.contains(newKey))
            #expect(try await CLI.run(["keys", "revoke", "2"], in: directory, environment: environment).status == 0)

            #expect(
                try await CLI.run(["apps", "set-apdex", "shop", "0.3"], in: directory, environment: environment).status
                    == 0
            )
            #expect(
                try await CLI.run(
                    ["apps", "set-apdex", "shop", "2", "--transaction", "GET /orders"],
                    in: directory,
                    environment: environment
                ).status == 0
            )
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            #expect(app.apdexT == 0.3)
            #expect(app.transactionApdexT == ["GET /orders": 2])
            #expect(
                try await CLI.run(["apps", "set-apdex", "nope", "1"], in: directory, environment: environment).status
                    == 1
            )

            #expect(
                try await CLI.run(
                    ["deployments", "record", "shop", "--revision", "v9"],
                    in: directory,
                    environment: environment
                ).status == 0
            )
            let now = Int64(Date().timeIntervalSince1970)
            #expect(
                try await collector.store.deployments(appID: app.id, range: (now - 60)..<(now + 60)).map(\.revision)
                    == ["v9"]
            )
            let apps = try await CLI.run(["apps", "list"], in: directory, environment: environment)
            #expect(apps.stdout.contains("shop"))
        }
    }
}

@Suite struct UsersVerbTests {
    @Test func theFirstAdminHasARandomHashedPasswordThatCanBeReset() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]
            let admin = try #require(try await collector.store.user(named: "admin"))
            #expect(admin.passwordHash.hasPrefix("scrypt$1024$8$1$"))
            let list = try await CLI.run(["users", "list"], in: directory, environment: environment)
            #expect(list.stdout.contains("admin"))
            let reset = try await CLI.run(
                ["users", "reset-password", "admin"],
                in: directory,
                environment: environment
            )
            #expect(reset.status == 0)
            let password = try #require(
                reset.stdout.split(separator: " ").last.map {
                    String($0).trimmingCharacters(in: .whitespacesAndNewlines)
                }
            )
            #expect(password.count == 20)
            let updated = try #require(try await collector.store.user(named: "admin"))
            #expect(PasswordHasher.verify(password, against: updated.passwordHash))
            #expect(!PasswordHasher.verify("admin", against: updated.passwordHash))
            #expect(
                try await CLI.run(["users", "reset-password", "nobody"], in: directory, environment: environment).status
                    == 1
            )
        }
    }

    /// Before: one user (`admin`) and no way to add another.
    @Test func usersAreAddedListedGivenARoleAndRemoved() async throws {
        try await CLI.withCollector { collector, port, key in
            let directory = try CLI.temporaryDirectory()
            let environment = ["APM_COLLECTOR_URL": "http://127.0.0.1:\(port)", "APM_API_TOKEN": CLI.token(for: key)]
            func run(_ arguments: String...) async throws -> CLI.Result {
                try await CLI.run(arguments, in: directory, environment: environment)
            }
            let added = try await run("users", "add", "alice")
            #expect(added.status == 0, "\(added.stderr)")
            #expect(added.stdout.contains("Added viewer alice; password (shown only once): "))
            let password = try #require(added.stdout.split(separator: " ").last).trimmingCharacters(
                in: .whitespacesAndNewlines
            )
            let alice = try #require(try await collector.store.user(named: "alice"))
            #expect(alice.role == .viewer && PasswordHasher.verify(password, against: alice.passwordHash))
            let list = try await run("users", "list")
            #expect(list.stdout.split(separator: "\n").contains { $0.contains("alice") && $0.contains("viewer") })
            #expect(list.stdout.split(separator: "\n").contains { $0.contains("admin") && $0.contains(" admin ") })
            #expect(try await run("users", "set-role", "alice", "admin").stdout.contains("alice is now an admin"))
            #expect(try await collector.store.user(named: "alice")?.role == .admin)
            // Refusals: a name taken, a bad role (a usage error), the last admin.
            let again = try await run("users", "add", "alice")
            #expect(again.status == 1 && again.stderr.contains("a user named alice exists"), "\(again.stderr)")
            #expect(try await run("users", "add", "bob", "--role", "owner").status == 2)
            #expect(try await run("users", "remove", "alice").status == 0)
            #expect(try await collector.store.user(named: "alice") == nil)
            let last = try await run("users", "set-role", "admin", "viewer")
            #expect(last.status == 1 && last.stderr.contains("only admin"), "\(last.stderr)")
            #expect(try await run("users", "remove", "nobody").status == 1)
        }
    }
}
