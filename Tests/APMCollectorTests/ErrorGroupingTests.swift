import APMCollector
import APMCollectorTestSupport
import APMCore
import APMStorage
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Errors are grouped on their in-app functions and files, not on addresses or lines, which change with every
/// build: two builds of the same code give one group; another function gives another.
@Suite struct ErrorGroupingTests {
    typealias Support = CollectorTestSupport

    static func sample(
        at minute: Int64,
        line: Int,
        address: String,
        function: String = "Checkout.authorize()"
    )
        -> ErrorSample
    {
        let frames = [
            StackFrame(
                function: function,
                file: "/build-\(address)/Sources/Shop/Checkout.swift",
                line: line,
                inApp: true
            ),
            StackFrame(
                function: "Checkout.chargeCard()",
                file: "/b/Sources/Shop/Checkout.swift",
                line: line + 5,
                inApp: true
            ),
            StackFrame(
                function: "NIOCore.EventLoop.run()",
                file: "/b/.build/checkouts/swift-nio/x.swift",
                line: 9,
                inApp: false
            ),
        ]
        return ErrorSample(
            timestamp: Double(minute + 5),
            transaction: "POST /checkout",
            type: "PaymentDeclined",
            message: "card declined",
            stack: frames.map { "\(address) \($0.text)" },
            frames: frames
        )
    }

    @Test(arguments: StoreBackend.available) func twoBuildsOfTheSameCodeAreOneGroup(backend: StoreBackend) async throws
    {
        try await Support.withCollector(backend: backend) { collector, client, key in
            let minute = Support.currentMinute(offset: -2)
            for (line, address, function) in [
                (40, "0x55c8aa01", "Checkout.authorize()"), (47, "0x7f00bb02", "Checkout.authorize()"),
                (40, "0x55c8aa01", "Checkout.refund()"),
            ] {
                var batch = Support.batch(minute: minute, metrics: [Support.metric("POST /checkout", durations: [0.1])])
                batch.errors = [Self.sample(at: minute, line: line, address: address, function: function)]
                #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            }
            struct Errors: Decodable { var errors: [APIErrorGroup] }
            let groups = try await Support.get(Errors.self, "/api/v1/apps/1/errors?since=1h", key: key, client: client)
                .errors
            #expect(
                groups.map(\.count).sorted() == [1, 2],
                "\(groups.map { ($0.count, $0.sample.frames?.first?.function ?? "") })"
            )
            let two = try #require(groups.first { $0.count == 2 })
            #expect(two.sample.frames?.first?.function == "Checkout.authorize()")
            #expect(two.sample.frames?.first?.line == 47, "the latest sample, with its own line")
            // The errors page lists the app's frames first and folds the libraries'.
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
            #expect(page.contains("<ol data-figure=\"app-frames\"><li><code>Checkout.authorize()</code>"))
            #expect(page.contains("<details><summary>1 library frames</summary>"))
            #expect(HTMLStructure.problems(in: page).isEmpty)
        }
    }

    /// An app's own fingerprint makes one issue of errors that differ in type, message and stack; an error without
    /// one is grouped as usual; a fingerprint longer than 255 characters is refused by field.
    @Test(arguments: StoreBackend.available) func theAppsFingerprintGroups(backend: StoreBackend) async throws {
        try await Support.withCollector(backend: backend) { _, client, key in
            let minute = Support.currentMinute(offset: -2)
            var batch = Support.batch(
                minute: minute,
                metrics: [Support.metric("POST /pay", durations: [0.1, 0.2, 0.3])]
            )
            batch.errors = [
                ErrorSample(
                    timestamp: Double(minute + 1),
                    transaction: "POST /pay",
                    type: "ReadTimeout",
                    message: "read",
                    fingerprint: "payments-timeout"
                ),
                ErrorSample(
                    timestamp: Double(minute + 2),
                    transaction: "POST /pay",
                    type: "ConnectTimeout",
                    message: "connect",
                    fingerprint: "payments-timeout"
                ),
                ErrorSample(
                    timestamp: Double(minute + 3),
                    transaction: "POST /pay",
                    type: "ReadTimeout",
                    message: "read"
                ),
            ]
            #expect(try await Support.post(batch, key: key, client: client).status == .accepted)
            struct Errors: Decodable { var errors: [APIErrorGroup] }
            let groups = try await Support.get(Errors.self, "/api/v1/apps/1/errors?since=1h", key: key, client: client)
                .errors
            #expect(groups.map(\.count).sorted() == [1, 2])
            #expect(groups.first { $0.count == 2 }?.sample.type == "ConnectTimeout", "the latest sample of the two")
            var tooLong = Support.batch(minute: minute, metrics: [Support.metric("POST /pay", durations: [0.1])])
            tooLong.errors = [
                ErrorSample(
                    timestamp: Double(minute + 4),
                    transaction: "POST /pay",
                    type: "X",
                    message: "",
                    fingerprint: String(repeating: "f", count: 256)
                )
            ]
            let refused = try await Support.post(tooLong, key: key, client: client)
            #expect(refused.status == .badRequest && refused.body.contains("errors[0].fingerprint"))
        }
    }
}
