import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// One issue in detail (API, dashboard page), the issue list's filters, merging, and the secrets of a request
/// never stored: a known workload on both backends.
@Suite struct IssuePageTests {
    typealias Support = CollectorTestSupport
    struct Issues: Decodable { var issues: [APIErrorGroup] }

    /// Errors of one batch from `host` in `minute`: (type, transaction, user, attributes) each.
    static func batch(
        host: String,
        minute: Int64,
        _ errors: [(type: String, transaction: String, user: String?, attributes: [String: String])],
        trace: String? = nil
    ) -> AgentBatch {
        var batch = Support.batch(
            minute: minute,
            metrics: Set(errors.map(\.transaction)).sorted().map { Support.metric($0, durations: [0.1], errors: [0]) }
        )
        batch.agent.host = host
        batch.errors = errors.enumerated().map { index, error in
            var attributes = error.attributes
            if let user = error.user { attributes["enduser.id"] = user }
            return ErrorSample(
                timestamp: Double(minute) + Double(index) + 1,
                transaction: error.transaction,
                type: error.type,
                message: "declined",
                stack: ["main.swift:12"],
                status: 500,
                traceID: index == 0 ? (trace ?? "") : "",
                attributes: attributes
            )
        }
        if let trace {
            batch.traces = [
                TransactionTrace(
                    traceID: trace,
                    transaction: errors[0].transaction,
                    kind: .web,
                    start: Double(minute),
                    duration: 1.5,
                    status: 500,
                    isError: true
                )
            ]
        }
        return batch
    }

    static let secrets: [String: String] = [
        "http.request.header.authorization": "Bearer abc.def.ghi",
        "http.request.header.cookie": "sid=s3ss10n",
        "http.request.header.user-agent": "curl/8.0",
        "url.query": "page=2&password=hunter2",
        "http.route": "/cart",
    ]

    @Test(arguments: StoreBackend.available)
    func anIssueHasItsCountsByTransactionHostAndDeploymentItsSamplesAndMerges(backend: StoreBackend) async throws {
        let start = Support.currentMinute(offset: -30)
        try await Support.withCollector(backend: backend) { collector, client, key in
            let auth: HTTPFields = [.authorization: "Bearer \(Support.token(for: key))"]
            func post(_ batch: AgentBatch) async throws {
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            func get<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
                try await Support.get(type, path, key: key, client: client)
            }
            func status(_ path: String) async throws -> HTTPResponse.Status {
                try await client.execute(uri: path, method: .get, headers: auth) { $0.status }
            }

            // Before the deployment: 3 in POST /checkout on web-1 (ann, bob, ann).
            try await post(
                Self.batch(
                    host: "web-1",
                    minute: start,
                    [
                        ("PaymentDeclined", "POST /checkout", "ann", [:]),
                        ("PaymentDeclined", "POST /checkout", "bob", [:]),
                        ("PaymentDeclined", "POST /checkout", "ann", [:]),
                    ],
                    trace: "4bf92f3577b34da6a3ce929d0e0e4736"
                )
            )
            try await client.execute(
                uri: "/api/v1/apps/1/deployments",
                method: .post,
                headers: auth + [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"revision": "v2", "at": \#(start + 120)}"#)
            ) { #expect($0.status == .created) }
            // After it: 2 in POST /checkout (carl) and 1 in GET /cart carrying secrets, on web-2; and a second
            // issue, Timeout, twice in GET /cart.
            try await post(
                Self.batch(
                    host: "web-2",
                    minute: start + 180,
                    [
                        ("PaymentDeclined", "POST /checkout", "carl", [:]),
                        ("PaymentDeclined", "POST /checkout", "carl", [:]),
                        ("PaymentDeclined", "GET /cart", nil, Self.secrets),
                        ("Timeout", "GET /cart", nil, [:]),
                        ("Timeout", "GET /cart", nil, [:]),
                    ]
                )
            )
            let issues = try await get(Issues.self, "/api/v1/apps/1/issues?since=1h").issues
            let declined = try #require(issues.first { $0.type == "PaymentDeclined" })
            let timeout = try #require(issues.first { $0.type == "Timeout" })

            let detail = try await get(APIIssueDetail.self, "/api/v1/apps/1/issues/\(declined.id)?since=1h")
            #expect(detail.issue.count == 6 && detail.totalCount == 6)
            #expect(detail.issue.usersAffected == 3)
            #expect(detail.transactions.map { "\($0.value)=\($0.count)" } == ["POST /checkout=5", "GET /cart=1"])
            #expect(detail.hosts.map { "\($0.value)=\($0.count)" } == ["web-1=3", "web-2=3"])
            #expect(detail.deployments.map { "\($0.revision)=\($0.count)" } == ["v2=3", "=3"])
            #expect(detail.firstSeenDeployment == nil && detail.lastSeenDeployment?.revision == "v2")
            #expect(detail.issue.sparkline.reduce(0, +) == 6)
            // The latest occurrences, newest first; the trace kept of the first one is linked.
            #expect(
                detail.samples.map(\.at) == (0..<3).map { Double(start + 183 - $0) }
                    + [3, 2, 1].map { Double(start) + $0 }
            )
            #expect(detail.samples.last?.traceRowID != nil && detail.samples.first?.traceRowID == nil)
            #expect(detail.samples.map(\.host) == ["web-2", "web-2", "web-2", "web-1", "web-1", "web-1"])
            // The request's secrets were replaced before they were stored; allowed headers and the route stay.
            let cart = try #require(detail.samples.first { $0.sample.transaction == "GET /cart" }).sample.attributes
            #expect(
                cart == [
                    "http.request.header.authorization": "[Filtered]",
                    "http.request.header.cookie": "[Filtered]",
                    "http.request.header.user-agent": "curl/8.0",
                    "url.query": "page=2&password=[Filtered]",
                    "http.route": "/cart",
                ]
            )
            let raw = try await client.execute(
                uri: "/api/v1/apps/1/issues/\(declined.id)?since=1h",
                method: .get,
                headers: auth
            ) { String(buffer: $0.body) }
            for secret in ["abc.def.ghi", "s3ss10n", "hunter2"] { #expect(!raw.contains(secret)) }
            #expect(try await status("/api/v1/apps/1/issues/999999") == .notFound)

            // The list's filters and the users sort.
            func listed(_ query: String) async throws -> [String] {
                try await get(Issues.self, "/api/v1/apps/1/issues?since=1h&\(query)").issues.map(\.type)
            }
            #expect(try await listed("transaction=GET%20/cart&order=first_seen") == ["Timeout", "PaymentDeclined"])
            #expect(try await listed("transaction=POST%20/checkout") == ["PaymentDeclined"])
            #expect(try await listed("deployment=v2") == ["Timeout"])
            #expect(try await listed("new=true&order=users") == ["PaymentDeclined", "Timeout"])
            #expect(try await status("/api/v1/apps/1/issues?deployment=v9") == .badRequest)
            #expect(try await status("/api/v1/apps/1/issues?new=maybe") == .badRequest)

            // The dashboard's page of the issue, as an admin sees it.
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let page = try await client.execute(
                uri: "/apps/1/errors/\(declined.id)?range=1h",
                method: .get,
                headers: [.cookie: session]
            ) { String(buffer: $0.body) }
            #expect(page.contains(#"<b data-figure="total-count">6</b>"#))
            #expect(page.contains(#"<b data-figure="users">3</b>"#))
            #expect(page.contains(#"data-figure="by-transaction""#) && page.contains(#"data-figure="by-deployment""#))
            #expect(page.contains(#"data-figure="sample-trace""#) && page.contains(#"data-figure="merge""#))
            #expect(!page.contains("hunter2"))
            #expect(HTMLStructure.problems(in: page).isEmpty)

            // Merged: Timeout's counts, facets and samples join PaymentDeclined, and its later occurrences too.
            let merged = try await client.execute(
                uri: "/api/v1/apps/1/issues/\(declined.id)/merge",
                method: .post,
                headers: auth + [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"issues": [\#(timeout.id)]}"#)
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(merged.0 == .ok && merged.1 == #"{"merged":[\#(timeout.id)]}"#)
            #expect(try await status("/api/v1/apps/1/issues/\(timeout.id)") == .notFound)
            try await post(Self.batch(host: "web-3", minute: start + 240, [("Timeout", "GET /cart", nil, [:])]))
            let after = try await get(APIIssueDetail.self, "/api/v1/apps/1/issues/\(declined.id)?since=1h")
            #expect(after.totalCount == 9 && after.issue.count == 9)
            #expect(after.transactions.map { "\($0.value)=\($0.count)" } == ["POST /checkout=5", "GET /cart=4"])
            #expect(after.hosts.map { "\($0.value)=\($0.count)" } == ["web-2=5", "web-1=3", "web-3=1"])
            #expect(after.samples.count == 9)
            #expect(try await listed("") == ["PaymentDeclined"])
            // Merging into an unknown issue, or nothing, says so.
            let refused = try await client.execute(
                uri: "/api/v1/apps/1/issues/\(declined.id)/merge",
                method: .post,
                headers: auth + [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"issues": []}"#)
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(refused.0 == .badRequest && refused.1.contains("issues"))
        }
    }
}
