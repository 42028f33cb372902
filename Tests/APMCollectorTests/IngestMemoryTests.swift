import APMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import APMAgent
@testable import APMCollector

/// Small bodies that inflate or parse into a lot of memory: the limits apply while reading, and a collector-wide
/// budget bounds what concurrent requests hold together.
@Suite struct IngestMemoryTests {
    typealias Support = CollectorTestSupport

    static func post(
        _ body: Data,
        path: String,
        contentType: String,
        key: String,
        client: any TestClientProtocol,
        compressed: Bool = false
    ) async throws -> (status: HTTPResponse.Status, body: String, retryAfter: String?) {
        try await client.execute(
            uri: path,
            method: .post,
            headers: [
                .contentType: contentType, .contentEncoding: "gzip", HTTPField.Name("X-APM-License-Key")!: key,
            ],
            body: ByteBuffer(bytes: compressed ? body : try Gzip.compress(body, level: 9))
        ) { ($0.status, String(buffer: $0.body), $0.headers[.retryAfter]) }
    }

    /// 8 MiB of empty protobuf spans (4 million) compress to a few KiB; 16 MiB of `{}` spans in JSON to 16 KiB.
    static func protobufOfEmptySpans(megabytes: Int) -> Data {
        func field(_ tag: UInt8, _ bytes: Data) -> Data {
            Data([tag] + OTLPProtobufResponse.varint(UInt64(bytes.count))) + bytes
        }
        // An empty span is field 2 of ScopeSpans with length 0: 0x12 0x00.
        let spans = Support.repeated("\u{12}\u{00}", toAtLeast: megabytes * 1_048_576)
        return field(0x0a, field(0x12, spans))
    }

    static func jsonOfEmptySpans(megabytes: Int) -> Data {
        let spans = Support.repeated("{},", toAtLeast: megabytes * 1_048_576)
        return Data(#"{"resourceSpans":[{"scopeSpans":[{"spans":["#.utf8) + spans + Data("{}]}]}]}".utf8)
    }

    @Test func amplifyingBodiesAreRefusedWhileReadingWithoutTheirMemory() async throws {
        try await Support.withCollector { _, client, key in
            let (protobuf, json, numbers) = try await Support.offPool {
                let ones = Support.repeated("1,", toAtLeast: 6_000_000)
                return (
                    try Gzip.compress(Self.protobufOfEmptySpans(megabytes: 8), level: 9),
                    try Gzip.compress(Self.jsonOfEmptySpans(megabytes: 15), level: 9),
                    try Gzip.compress(Data("{\"intervals\":[".utf8) + ones + Data("1]}".utf8), level: 9)
                )
            }
            // The agent's symbol tables (parsed once per process by the first error noticed, by any test of this
            // process: hundreds of MiB for this debug binary) are not the collector's: parsed before measuring.
            StackSymbolicator.shared.warmUp()
            _ = await StackSymbolicator.shared.waitUntilWarm(within: .seconds(300))
            let before = Support.residentBytes()
            let first = try await Self.post(
                protobuf,
                path: "/v1/traces",
                contentType: "application/x-protobuf",
                key: key,
                client: client,
                compressed: true
            )
            #expect(first.status == .contentTooLarge, "\(first.body)")
            #expect(first.body.contains("more than 100000"))
            let second = try await Self.post(
                json,
                path: "/v1/traces",
                contentType: "application/json",
                key: key,
                client: client,
                compressed: true
            )
            #expect(second.status == .contentTooLarge, "\(second.body)")
            #expect(second.body.contains("JSON values"))
            let third = try await Self.post(
                numbers,
                path: "/v1/agent/batches",
                contentType: "application/json",
                key: key,
                client: client,
                compressed: true
            )
            #expect(third.status == .contentTooLarge, "\(third.body)")
            let growth = Support.residentBytes() - before
            // Before: 1.4 GB for the protobuf spans and 1.9 GB for the JSON ones. The bound leaves room for what the
            // rest of the suite allocates meanwhile in this process (the agent's symbol tables, parsed lazily as
            // other tests' errors are symbolicated, took the growth from about 100 to 190 MiB).
            #expect(growth < 400 * 1_048_576, "resident memory grew by \(growth / 1_048_576) MiB")
        }
    }

    /// Ten bombs at once: each is refused on its own estimate, and together they hold no more than the budget.
    @Test func tenBombsAtOnceStayWithinTheBudget() async throws {
        try await Support.withCollector { collector, client, key in
            let protobuf = try await Support.offPool {
                try Gzip.compress(Self.protobufOfEmptySpans(megabytes: 8), level: 9)
            }
            // The agent's symbol tables (parsed once per process by the first error noticed, by any test of this
            // process: hundreds of MiB for this debug binary) are not the collector's: parsed before measuring.
            StackSymbolicator.shared.warmUp()
            _ = await StackSymbolicator.shared.waitUntilWarm(within: .seconds(300))
            let before = Support.residentBytes()
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await Self.post(
                            protobuf,
                            path: "/v1/traces",
                            contentType: "application/x-protobuf",
                            key: key,
                            client: client,
                            compressed: true
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let growth = Support.residentBytes() - before
            #expect(statuses.allSatisfy { $0 == .contentTooLarge || $0 == .serviceUnavailable }, "\(statuses)")
            #expect(growth < 600 * 1_048_576, "resident memory grew by \(growth / 1_048_576) MiB")
            #expect(collector.memoryBudget.inUse == 0)
        }
    }

    /// When the budget is taken, a request is answered 503 with Retry-After, and is accepted once it frees up.
    @Test func aFullBudgetAnswers503WithRetryAfter() async throws {
        try await Support.withCollector { collector, client, key in
            let batch = Support.batch(
                minute: Support.currentMinute(),
                metrics: [Support.metric("GET /a", durations: [0.1])]
            )
            let body = try WireCoding.makeEncoder().encode(batch)
            let taken = collector.memoryBudget.capacity - 1024
            #expect(collector.memoryBudget.tryReserve(taken))
            let refused = try await Self.post(
                body,
                path: "/v1/agent/batches",
                contentType: "application/json",
                key: key,
                client: client
            )
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.retryAfter == "2")
            #expect(refused.body.contains("ingest_memory_mb"))
            collector.memoryBudget.release(taken)
            let accepted = try await Self.post(
                body,
                path: "/v1/agent/batches",
                contentType: "application/json",
                key: key,
                client: client
            )
            #expect(accepted.status == .accepted)
            #expect(collector.memoryBudget.inUse == 0)
        }
    }

    /// Past `max_queued_batches` waiting for the store, a batch is answered 503 with Retry-After (and is not
    /// stored), instead of waiting in an unbounded queue; every batch acknowledged is stored.
    @Test func aFullIngestQueueAnswers503AndLosesNothingAcknowledged() async throws {
        let configuration = Support.configuration { $0.limits.maxQueuedBatches = 1 }
        try await Support.withCollector(configuration, transport: .live) { collector, client, key in
            let minute = Support.currentMinute()
            var accepted = 0
            var refused = 0
            // Concurrent posts queue behind a commit in progress; a few rounds make a refusal all but certain.
            for _ in 0..<5 where refused == 0 {
                let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                    let port = try #require(collector.boundPort)
                    for _ in 0..<40 {
                        group.addTask {
                            // A connection each, as agents have: one connection serves its requests in turn.
                            try await TestClient.withClient(
                                host: "127.0.0.1",
                                port: port,
                                configuration: .init(timeout: .seconds(60))
                            ) { connection in
                                let batch = Support.batch(
                                    minute: minute,
                                    metrics: [Support.metric("GET /q", durations: [0.1])]
                                )
                                let body = try WireCoding.makeEncoder().encode(batch)
                                // With a Host, as every HTTP/1.1 client sends (the collector refuses a request without).
                                let response = try await connection.execute(
                                    TestClient.Request(
                                        "/v1/agent/batches",
                                        method: .post,
                                        authority: "127.0.0.1",
                                        headers: [
                                            .contentType: "application/json", HTTPField.Name("X-APM-License-Key")!: key,
                                        ],
                                        body: ByteBuffer(bytes: body)
                                    )
                                )
                                return (response.status, response.headers[.retryAfter])
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for (status, retryAfter) in statuses {
                    if status == .accepted {
                        accepted += 1
                    } else {
                        #expect(status == .serviceUnavailable)
                        #expect(retryAfter == "5")
                        refused += 1
                    }
                }
            }
            #expect(refused > 0)
            #expect(try await IngestTests.totalCount(collector) == UInt64(accepted))
        }
    }

    @Test func theValueCountBoundsWhatTheDecoderIndexes() {
        #expect(JSONValueCount.count(in: Data(#"{"a":[1,2,{"b":"x,[]:{"}]}"#.utf8)) == 8)
        #expect(JSONValueCount.count(in: Data(#"["a\"b,", 1]"#.utf8)) == 3)
        #expect(JSONValueCount.count(in: Data("[]".utf8)) == 2)
    }
}
