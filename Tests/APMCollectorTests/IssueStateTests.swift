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

/// Errors as issues: a known sequence of occurrences, state changes and a deployment gives the states at each
/// step, on both backends (resolve, resolve in the next deployment, regressions, ignore until more occurrences).
@Suite struct IssueStateTests {
    typealias Support = CollectorTestSupport
    struct Issues: Decodable { var issues: [APIErrorGroup] }

    /// One occurrence of an error, at `at`, of the type given (each type is its own issue).
    static func occurrence(_ type: String, at: Double, minute: Int64) -> AgentBatch {
        var batch = Support.batch(
            minute: minute,
            metrics: [Support.metric("POST /checkout", durations: [0.1], errors: [0])]
        )
        batch.errors = [
            ErrorSample(timestamp: at, transaction: "POST /checkout", type: type, message: "declined", status: 500)
        ]
        return batch
    }

    @Test(arguments: StoreBackend.available)
    func aKnownSequenceGivesTheStatesAtEachStep(backend: StoreBackend) async throws {
        let start = Double(Support.currentMinute(offset: -30))
        // The collector's clock, set at each step (the issue's times are compared with it).
        let clock = Locked(start + 5)
        let now: @Sendable () -> Double = { clock.withLock { $0 } }
        try await Support.withCollector(backend: backend, now: now) { collector, client, key in
            func set(_ offset: Double) { clock.withLock { $0 = start + offset } }
            func post(_ type: String, at: Double) async throws {
                let minute = Int64(at) - Int64(at) % 60
                #expect(
                    try await Support.post(Self.occurrence(type, at: at, minute: minute), key: key, client: client)
                        .status == .accepted
                )
            }
            func issue(_ type: String) async throws -> APIErrorGroup {
                let issues = try await Support.get(
                    Issues.self,
                    "/api/v1/apps/1/issues?since=1h",
                    key: key,
                    client: client
                )
                return try #require(issues.issues.first(where: { $0.type == type }))
            }
            func patch(_ id: Int64, _ body: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: "/api/v1/apps/1/issues/\(id)",
                    method: .patch,
                    headers: [.authorization: "Bearer \(Support.token(for: key))", .contentType: "application/json"],
                    body: ByteBuffer(string: body)
                ) { ($0.status, String(buffer: $0.body)) }
            }

            // 1. A new error is unresolved.
            try await post("PaymentDeclined", at: start + 1)
            let declined = try await issue("PaymentDeclined")
            #expect(declined.status.state == "unresolved" && declined.status.changedAt == nil)

            // 2. Resolved in the next deployment: seen again before any deployment, it stays resolved (that was
            //    the old code).
            set(10)
            let resolved = try await patch(declined.id, #"{"state": "resolved_next_deployment"}"#)
            #expect(resolved.0 == .ok && resolved.1.contains(#""state":"resolved_next_deployment""#))
            set(13)
            try await post("PaymentDeclined", at: start + 12)
            #expect(try await issue("PaymentDeclined").status.state == "resolved_next_deployment")

            // 3. A deployment, then the error again: regressed, by the collector.
            try await client.execute(
                uri: "/api/v1/apps/1/deployments",
                method: .post,
                headers: [.authorization: "Bearer \(Support.token(for: key))", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"revision": "v2", "at": \#(start + 20)}"#)
            ) { #expect($0.status == .created) }
            set(16)
            try await post("PaymentDeclined", at: start + 15)
            #expect(
                try await issue("PaymentDeclined").status.state == "resolved_next_deployment",
                "before the deployment"
            )
            set(26)
            try await post("PaymentDeclined", at: start + 25)
            let regressed = try await issue("PaymentDeclined").status
            #expect(
                regressed.state == "regressed" && regressed.regressedAt == start + 25 && regressed.changedBy == "apm"
            )

            // 4. Resolved now: an occurrence after the change regresses at once; one from before it does not.
            set(27)
            try await post("Timeout", at: start + 26)
            let timeout = try await issue("Timeout")
            set(30)
            #expect(try await patch(timeout.id, #"{"state": "resolved"}"#).0 == .ok)
            try await post("Timeout", at: start + 27)
            #expect(try await issue("Timeout").status.state == "resolved", "an occurrence from before the resolve")
            set(46)
            try await post("Timeout", at: start + 45)
            #expect(try await issue("Timeout").status.state == "regressed")

            // 5. Ignored until 2 more: the 2nd stays ignored, the 3rd reopens it.
            set(50)
            try await post("Noise", at: start + 46)
            let noise = try await issue("Noise")
            let ignored = try await patch(noise.id, #"{"state": "ignored", "ignore_more_occurrences": 2}"#)
            #expect(ignored.0 == .ok && ignored.1.contains(#""ignore_until_count":3"#), "\(ignored.1)")
            try await post("Noise", at: start + 47)
            try await post("Noise", at: start + 48)
            #expect(try await issue("Noise").status.state == "ignored")
            try await post("Noise", at: start + 49)
            let reopened = try await issue("Noise").status
            #expect(reopened.state == "unresolved" && reopened.ignoreUntilCount == nil)

            // Filters, and clear answers to what cannot be done.
            let onlyRegressed = try await Support.get(
                Issues.self,
                "/api/v1/apps/1/issues?since=1h&state=regressed",
                key: key,
                client: client
            )
            #expect(Set(onlyRegressed.issues.map(\.type)) == ["PaymentDeclined", "Timeout"])
            let refused = try await patch(noise.id, #"{"state": "regressed"}"#)
            #expect(refused.0 == .badRequest && refused.1.contains("set by the collector"))
            let unknown = try await patch(noise.id, #"{"state": "fixed"}"#)
            #expect(
                unknown.0 == .badRequest
                    && unknown.1.contains("unresolved, resolved, resolved_next_deployment, ignored")
            )
            let limitsAlone = try await patch(noise.id, #"{"state": "resolved", "ignore_more_occurrences": 5}"#)
            #expect(limitsAlone.0 == .badRequest)
            #expect(try await patch(999_999, #"{"state": "resolved"}"#).0 == .notFound)
            try await client.execute(
                uri: "/api/v1/apps/1/issues?state=bogus",
                method: .get,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) {
                #expect($0.status == .badRequest)
            }

            // The errors page shows each issue's state, and its buttons to an admin; a button changes the state.
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            let page = try await client.execute(
                uri: "/apps/1/errors?range=1h",
                method: .get,
                headers: [.cookie: session]
            ) {
                String(buffer: $0.body)
            }
            #expect(page.contains("<th>state</th>") && page.contains("<td data-figure=\"state\"><b>regressed</b>"))
            #expect(page.contains("action=\"/apps/1/errors/\(noise.id)/state\""))
            #expect(HTMLStructure.problems(in: page).isEmpty)
            let csrf = try await DashboardUsersTests.csrf(client, session, "/apps/1/errors?range=1h")
            try await client.execute(
                uri: "/apps/1/errors/\(noise.id)/state",
                method: .post,
                headers: [.cookie: session, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(
                    string:
                        "state=ignored&ignore_more_occurrences=100&back=%2Fapps%2F1%2Ferrors%3Frange%3D1h&csrf=\(csrf)"
                )
            ) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/apps/1/errors?range=1h")
            }
            let byButton = try await issue("Noise").status
            #expect(byButton.state == "ignored" && byButton.changedBy == "admin" && byButton.ignoreUntilCount == 104)

            // Retention deletes the minutes, and the issues nobody changed; a resolved or ignored issue keeps its state
            // and regresses (or stays ignored) when it occurs again.
            set(60)
            #expect(try await patch(timeout.id, #"{"state": "resolved"}"#).0 == .ok)
            let cutoff = Int64(start) + 3600
            _ = try await collector.store.applyRetention(
                minuteCutoff: cutoff,
                cutoff: cutoff,
                batchIDCutoff: Int64(start)
            )
            set(4000)
            try await post("Timeout", at: start + 3990)
            try await post("Noise", at: start + 3991)
            try await post("PaymentDeclined", at: start + 3992)
            #expect(try await issue("Timeout").status.state == "regressed")
            #expect(try await issue("Noise").status.state == "ignored")
            let fresh = try await issue("PaymentDeclined")
            #expect(fresh.status.state == "unresolved" && fresh.status.changedAt == nil && fresh.count == 1)
            // Sorted as asked: by count, last seen, first seen (most recent first), and refused otherwise.
            try await post("Timeout", at: start + 3995)
            for (order, types) in [
                ("count", ["Timeout", "PaymentDeclined", "Noise"]),
                ("last_seen", ["Timeout", "PaymentDeclined", "Noise"]),
                ("first_seen", ["PaymentDeclined", "Noise", "Timeout"]),
            ] {
                let sorted = try await Support.get(
                    Issues.self,
                    "/api/v1/apps/1/issues?since=1h&order=\(order)",
                    key: key,
                    client: client
                )
                #expect(sorted.issues.map(\.type) == types, "\(order)")
            }
            try await client.execute(
                uri: "/api/v1/apps/1/issues?order=random",
                method: .get,
                headers: [.authorization: "Bearer \(Support.token(for: key))"]
            ) { #expect($0.status == .badRequest) }
        }
    }
}
