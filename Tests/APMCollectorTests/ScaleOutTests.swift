import APMAgent
import APMCollector
import APMCollectorTestSupport
import APMCore
import APMPostgres
import APMStorage
import APMTestSupport
import APMTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Several collectors on one PostgreSQL database: each batch counted once whichever collector gets it (and
/// after one is killed), name caps exact across them, periodic jobs on one at a time.
@Suite(.tags(.slow)) struct ScaleOutTests {
    typealias Support = CollectorTestSupport

    /// Leases: one holder at a time; it renews; another takes over when it stops renewing.
    @Test(arguments: StoreBackend.available) func aJobsLeaseHasOneHolderAndMovesWhenItLapses(
        backend: StoreBackend
    )
        async throws
    {
        try await backend.withStore { (store: any APMStore) async throws -> Void in
            #expect(try await store.holdLease("retention", holder: "a", seconds: 10, now: 100))
            #expect(try await !store.holdLease("retention", holder: "b", seconds: 10, now: 101))
            #expect(try await store.holdLease("otlp-settler", holder: "b", seconds: 10, now: 101))
            #expect(try await store.holdLease("retention", holder: "a", seconds: 10, now: 105))
            #expect(try await !store.holdLease("retention", holder: "b", seconds: 10, now: 114))
            #expect(try await store.holdLease("retention", holder: "b", seconds: 10, now: 115))
            #expect(try await !store.holdLease("retention", holder: "a", seconds: 10, now: 116))
        }
    }

    /// Two collectors (each with its own connection pool, as two processes have) share one database: batches
    /// posted to either, with a third of them retried on the other, are counted exactly once; the name cap is
    /// exact across both; and of two collectors only one takes a job's lease.
    @Test(.enabled(if: StoreBackend.available.contains(.postgresql)))
    func twoCollectorsOnOneDatabaseCountEveryBatchOnceAndShareTheNameCap() async throws {
        try await StoreBackend.withPostgresDatabase { database in
            let configuration = Support.configuration { $0.limits.cardinality.maxTransactionNames = 40 }
            let first = StoreBackend.postgresStore(database)
            let second = StoreBackend.postgresStore(database)
            try await first.withRunning { first in
                try await second.withRunning { second in
                    let one = Collector(configuration: configuration, logger: Support.quietLogger, store: first)
                    let two = Collector(configuration: configuration, logger: Support.quietLogger, store: second)
                    let credentials = try #require(try await one.bootstrapIfNeeded())
                    #expect(try await two.bootstrapIfNeeded() == nil, "the second collector found the account")
                    let key = credentials.licenseKey
                    TestCollector.remember(token: credentials.apiToken, for: key)

                    let minute = Support.currentMinute()
                    // 120 batches over 60 distinct names: the cap (40) admits exactly 40 of them in all.
                    let batches = (0..<120).map { index in
                        Support.batch(
                            minute: minute,
                            metrics: [
                                Support.metric(
                                    "GET /route-\(index % 60)",
                                    durations: Array(repeating: 0.05, count: index % 4 + 1),
                                    errors: index % 10 == 0 ? [0] : []
                                )
                            ]
                        )
                    }
                    let expected = batches.reduce(UInt64(0)) { $0 + $1.intervals[0].transactions[0].count }
                    let expectedErrors = UInt64(batches.count / 10)
                    try await one.application.test(.live) { clientOne in
                        try await two.application.test(.live) { clientTwo in
                            // Four agents, each posting in turn to both collectors (the test client's one
                            // connection per collector serves requests one at a time).
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                for worker in 0..<4 {
                                    group.addTask {
                                        for (index, batch) in batches.enumerated() where index % 4 == worker {
                                            let (home, other) =
                                                index % 2 == 0 ? (clientOne, clientTwo) : (clientTwo, clientOne)
                                            let status = try await Support.post(batch, key: key, client: home).status
                                            #expect(status == .accepted)
                                            if index % 3 == 0 {
                                                let retry = try await Support.post(batch, key: key, client: other)
                                                #expect(retry.status == .ok, "a retry on the other collector")
                                            }
                                        }
                                    }
                                }
                                try await group.waitForAll()
                            }
                            let apps = try await Support.get(
                                AppsResponse.self,
                                "/api/v1/apps?since=1h",
                                key: key,
                                client: clientTwo
                            )
                            let summary = try #require(apps.apps.first).summary
                            #expect(summary.count == expected)
                            #expect(summary.errors == expectedErrors)
                            #expect(summary.apdex.satisfied == expected - expectedErrors)
                            #expect(summary.apdex.frustrated == expectedErrors)
                            let appID = try #require(apps.apps.first).id
                            #expect(try await first.transactionNames(appID: appID).count == 40)
                            let overflow = try await second.nameOverflow(appID: appID)
                            #expect(overflow.transactionCount > 0)
                        }
                    }
                    let leaders = [
                        try await first.holdLease("retention", holder: one.instanceID, seconds: 60, now: 1000),
                        try await second.holdLease("retention", holder: two.instanceID, seconds: 60, now: 1000),
                    ]
                    #expect(leaders.filter { $0 }.count == 1)
                }
            }
        }
    }

    /// Posts a batch as an agent does; `nil` when the collector does not answer.
    static func post(_ batch: AgentBatch, key: String, port: Int) async -> Int? {
        guard let body = try? Gzip.compress(WireCoding.makeEncoder().encode(batch)) else { return nil }
        let request = CollectorRequest(
            url: URL(string: "http://127.0.0.1:\(port)/v1/agent/batches")!,
            headers: [
                "Content-Type": "application/json", "Content-Encoding": "gzip", "X-APM-License-Key": key,
                "X-APM-Batch-ID": batch.batchID,
            ],
            body: body,
            timeout: .seconds(5)
        )
        let response: CollectorResponse
        do {
            response = try await URLSessionCollectorTransport().send(request)
        } catch {
            return nil
        }
        return response.status
    }

    /// Two `apm collector` processes on one database behind a client that fails over, as a load balancer does:
    /// one is killed with SIGKILL mid-stream and restarted; every batch acknowledged before the kill was durable
    /// and every batch is counted once.
    @Test(.enabled(if: StoreBackend.available.contains(.postgresql)))
    func twoCollectorProcessesCountEveryBatchOnceThroughASIGKILL() async throws {
        try await HeavyTestGate.run { try await killOneOfTwoCollectors() }
    }

    private func killOneOfTwoCollectors() async throws {
        try await StoreBackend.withPostgresDatabase { database in
            let url =
                "postgres://\(database.username)@\(database.host):\(database.port)/\(database.database)?sslmode=disable"
            // Each collector on port 0, read back from what it prints; the killed one comes back on a new port
            // and the agents follow it there, as a load balancer would.
            func start() throws -> APMProcess {
                try APMProcess(arguments: ["collector", "--postgres-url", url, "--port", "0"])
            }
            let first = try start()
            let second = try start()
            defer { second.kill(signal: SIGTERM) }
            let ports = Locked([
                try #require(await first.waitForPort(after: APMProcess.collectorAnnouncement)),
                try #require(await second.waitForPort(after: APMProcess.collectorAnnouncement)),
            ])
            let printed = [first, second].filter { $0.output.contains("license key:") }
            #expect(printed.count == 1, "exactly one collector set up the database")
            let setUp = try #require(printed.first)
            let key = try #require(setUp.licenseKey)
            let token = try #require(setUp.apiToken)

            let minute = Support.currentMinute()
            let batches = (0..<300).map { index in
                Support.batch(
                    minute: minute,
                    metrics: [
                        Support.metric(
                            "GET /item/\(index % 3)",
                            durations: Array(repeating: index % 7 == 0 ? 0.8 : 0.02, count: index % 5 + 1),
                            errors: index % 11 == 0 ? [0] : []
                        )
                    ]
                )
            }
            let expected = batches.reduce(
                into: [String: (count: UInt64, errors: UInt64, s: UInt64, t: UInt64, f: UInt64)]()
            ) {
                totals,
                batch in
                let metric = batch.intervals[0].transactions[0]
                var total = totals[metric.name] ?? (0, 0, 0, 0, 0)
                total.count += metric.count
                total.errors += metric.errorCount
                total.s += metric.satisfied
                total.t += metric.tolerating
                total.f += metric.frustrated
                totals[metric.name] = total
            }
            @Sendable func send(_ batch: AgentBatch, to port: Int) async -> Int? {
                await Self.post(batch, key: key, port: port)
            }
            /// Sends to the batch's collector, or to the other when that one does not answer (a load balancer).
            @Sendable func sendWithFailover(_ batch: AgentBatch, preferring index: Int) async -> Int? {
                if let status = await send(batch, to: ports.withLock { $0[index] }) { return status }
                return await send(batch, to: ports.withLock { $0[1 - index] })
            }

            // Four agents spread over both collectors; the first is killed once 100 batches are acknowledged.
            let acknowledged = Locked<Set<String>>([])
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for (offset, batch) in batches.enumerated() where offset % 4 == worker {
                            if let status = await sendWithFailover(batch, preferring: offset % 2),
                                (200..<300).contains(status)
                            {
                                acknowledged.withLock { _ = $0.insert(batch.batchID) }
                            }
                        }
                    }
                }
                group.addTask {
                    while acknowledged.withLock({ $0.count }) < 100 { try? await Task.sleep(for: .milliseconds(2)) }
                    first.kill(signal: SIGKILL)
                }
            }
            let acknowledgedBeforeRestart = acknowledged.withLock { $0 }
            #expect(acknowledgedBeforeRestart.count == batches.count, "the other collector took over")

            // The killed collector comes back; every agent sends everything again, spread over both.
            let restarted = try start()
            defer { restarted.kill(signal: SIGTERM) }
            let restartedPort = try #require(await restarted.waitForPort(after: APMProcess.collectorAnnouncement))
            ports.withLock { $0[0] = restartedPort }
            #expect(!restarted.output.contains("license key:"))
            var duplicates = Set<String>()
            for (offset, batch) in batches.enumerated() {
                var status: Int?
                for _ in 0..<20 {
                    status = await send(batch, to: ports.withLock { $0[offset % 2] })
                    if status != nil { break }
                    try? await Task.sleep(for: .milliseconds(50))
                }
                #expect(status == 200)
                if status == 200 { duplicates.insert(batch.batchID) }
            }
            #expect(acknowledgedBeforeRestart.isSubset(of: duplicates))

            for port in ports.withLock({ $0 }) {
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v1/apps?since=1h")!)
                request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                let (data, _) = try await URLSession.shared.data(for: request)
                let app = try #require(try JSONDecoder().decode(AppsResponse.self, from: data).apps.first)
                var rowsRequest = URLRequest(
                    url: URL(string: "http://127.0.0.1:\(port)/api/v1/apps/\(app.id)/transactions?since=1h")!
                )
                rowsRequest.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                struct Rows: Decodable { var transactions: [APITransactionRow] }
                let (rowsData, _) = try await URLSession.shared.data(for: rowsRequest)
                let rows = try JSONDecoder().decode(Rows.self, from: rowsData).transactions
                #expect(rows.count == expected.count)
                for row in rows {
                    let want = try #require(expected[row.name])
                    #expect(row.figures.count == want.count, "\(row.name)")
                    #expect(row.figures.errors == want.errors, "\(row.name)")
                    #expect(row.figures.apdex.satisfied == want.s, "\(row.name)")
                    #expect(row.figures.apdex.tolerating == want.t, "\(row.name)")
                    #expect(row.figures.apdex.frustrated == want.f, "\(row.name)")
                }
            }

            // A lost admin token is created directly in the database, without a credential.
            let tokens = try APMProcess(arguments: [
                "tokens", "create", "--scope", "admin", "--postgres-url", url,
            ])
            await tokens.waitUntilExit()
            #expect(tokens.process.terminationStatus == 0, "\(tokens.output)")
            let recovered = try #require(tokens.apiToken)
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(ports.withLock { $0[1] })/api/v1/users")!)
            request.setValue("Bearer \(recovered)", forHTTPHeaderField: "Authorization")
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
        }
    }
}
