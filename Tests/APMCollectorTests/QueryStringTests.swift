import APMCollector
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Query strings are decoded as HTTP clients encode them, and a transaction the app never recorded is a 404
/// that names the nearest known names.
@Suite struct QueryStringTests {
    typealias Support = CollectorTestSupport

    static func status(
        _ path: String,
        key: String,
        client: any TestClientProtocol
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        try await client.execute(
            uri: path,
            method: .get,
            headers: [.authorization: "Bearer \(Support.token(for: key))"]
        ) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func aPlusIsASpaceAndUnknownTransactionsAre404WithTheNearestNames() async throws {
        try await Support.withCollector { collector, client, key in
            let minute = Support.currentMinute(offset: -2)
            let batch = Support.batch(
                minute: minute,
                metrics: [
                    Support.metric("GET /db", durations: [0.1, 0.2, 0.3]),
                    Support.metric("GET /db/{id}", durations: [0.4]),
                    Support.metric("POST /orders", durations: [0.7, 2.5]),
                    Support.metric("GET /c++", durations: [0.05]),
                ]
            )
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            let app = try #require(try await collector.store.apps(accountID: 1).first)
            // What Python's urlencode and requests send (before: read as "GET+/db", a 200 with zeros).
            for query in ["transaction=GET+%2Fdb", "transaction=GET%20/db", "transaction=GET+/db"] {
                let figures = try await Support.get(
                    APIFigures.self,
                    "/api/v1/apps/\(app.id)/summary?since=1h&\(query)",
                    key: key,
                    client: client
                )
                #expect(figures.count == 3, "\(query)")
            }
            // A plus in a name travels as %2B.
            let plus = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/\(app.id)/summary?since=1h&transaction=GET+%2Fc%2B%2B",
                key: key,
                client: client
            )
            #expect(plus.count == 1)
            // A known name without data in the range is 200 with zeros; an unknown one is 404 on every endpoint.
            let empty = try await Support.get(
                APIFigures.self,
                "/api/v1/apps/\(app.id)/summary?from=\(minute - 7200)&to=\(minute - 3600)&transaction=GET+%2Fdb",
                key: key,
                client: client
            )
            #expect(empty.count == 0)
            for endpoint in ["summary", "series", "apdex", "databases", "externals", "traces"] {
                let unknown = try await Self.status(
                    "/api/v1/apps/\(app.id)/\(endpoint)?since=1h&transaction=GET+%2Fdbs",
                    key: key,
                    client: client
                )
                #expect(unknown.status == .notFound, "\(endpoint)")
                #expect(unknown.body.contains(#""code":"unknown_transaction""#), "\(endpoint)")
                #expect(
                    unknown.body.contains(#"the nearest names: \"GET /db\", \"GET /db/{id}\""#),
                    "\(endpoint): \(unknown.body)"
                )
            }
            // The dashboard's transaction page: a 404 page linking the nearest names, escaped.
            let password = try await DashboardTests.adminPassword(collector)
            let session = try #require(
                try await DashboardTests.signIn(client, name: "admin", password: password).session
            )
            try await client.execute(
                uri: "/apps/\(app.id)/transaction?name=GET+%2Fdb%3Cb%3E",
                method: .get,
                headers: [.cookie: session]
            ) { response in
                let body = String(buffer: response.body)
                #expect(response.status == .notFound)
                #expect(body.contains("has no transaction named GET /db&lt;b&gt;"))
                #expect(body.contains("name=GET%20%2Fdb&amp;"), "\(body)")
            }
            try await client.execute(
                uri: "/apps/\(app.id)/transaction?name=POST+%2Forders&since=1h",
                method: .get,
                headers: [.cookie: session]
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#"data-figure="count">2<"#))
            }
        }
    }

    @Test func nearestNamesByEditDistance() {
        let known = ["GET /users/{id}", "GET /user", "POST /users", "GET /orders"]
        #expect(NearestNames.nearest(to: "GET /users", in: known) == ["GET /users/{id}", "GET /user", "GET /orders"])
        #expect(NearestNames.nearest(to: "/orders", in: known).first == "GET /orders")
        #expect(NearestNames.nearest(to: "x", in: []) == [])
    }
}
