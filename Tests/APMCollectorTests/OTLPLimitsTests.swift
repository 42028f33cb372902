import APMCore
import APMStorage
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import APMCollector

/// OTLP exports whose shape is hostile or merely unusual: a span of a million attributes is rejected unread past
/// the field cap while the rest of the export counts; a long resource attribute is cut and said so, never a
/// whole-export 400.
@Suite struct OTLPLimitsTests {
    typealias Support = CollectorTestSupport

    /// Protobuf writing, just what these exports need.
    enum Protobuf {
        static func varint(_ value: UInt64) -> [UInt8] { OTLPProtobufResponse.varint(value) }
        static func field(_ number: UInt64, bytes: [UInt8]) -> [UInt8] {
            varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes
        }
        static func field(_ number: UInt64, string: String) -> [UInt8] { field(number, bytes: Array(string.utf8)) }
        static func fixed64(_ number: UInt64, _ value: UInt64) -> [UInt8] {
            varint(number << 3 | 1) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
        static func attribute(_ key: String, _ value: String) -> [UInt8] {
            field(1, string: key) + field(2, bytes: field(1, string: value))
        }
        /// A server span of 0.1 s ending a minute ago, with `extra` appended (more fields).
        static func span(id: UInt8, extra: [UInt8] = []) -> [UInt8] {
            let end = UInt64((Date().timeIntervalSince1970 - 60) * 1e9)
            return field(1, bytes: [UInt8](repeating: id, count: 16))
                + field(2, bytes: [UInt8](repeating: id, count: 8))
                + field(5, string: "GET /items") + varint(6 << 3) + varint(2) + fixed64(7, end - 100_000_000)
                + fixed64(8, end) + field(9, bytes: attribute("http.route", "/items"))
                + field(9, bytes: attribute("http.request.method", "GET")) + extra
        }
        static func export(resource: [(String, String)], spans: [[UInt8]]) -> Data {
            let resourceBytes = resource.flatMap { field(1, bytes: attribute($0.0, $0.1)) }
            let scope = spans.flatMap { field(2, bytes: $0) }
            return Data(field(1, bytes: field(1, bytes: resourceBytes) + field(2, bytes: scope)))
        }
    }

    static func post(
        _ body: Data,
        key: String,
        client: any TestClientProtocol
    ) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(
            uri: "/v1/traces",
            method: .post,
            headers: [.contentType: "application/x-protobuf", HTTPField.Name("x-apm-license-key")!: key],
            body: ByteBuffer(bytes: body)
        ) { ($0.status, String(decoding: Data($0.body.readableBytesView), as: UTF8.self)) }
    }

    static func count(_ app: StoredApp, _ collector: Collector) async throws -> UInt64 {
        let now = Int64(Date().timeIntervalSince1970)
        let range = TimeRange(from: now - 3600, to: now + 60, now: now, minuteRetention: 86_400)
        return try await collector.queries.summary(app: app, range: range).count
    }

    @Test func aSpanOfAMillionAttributesIsRejectedUnreadAndTheRestCounts() async throws {
        // 1,000,000 empty attributes: 2 MB, a few KiB of gzip.
        let emptyAttributes = [UInt8]((0..<2_000_000).map { $0 % 2 == 0 ? 0x4a : 0 })
        let bomb = Protobuf.span(id: 2, extra: emptyAttributes)
        let body = Protobuf.export(resource: [("service.name", "bombed")], spans: [Protobuf.span(id: 1), bomb])
        let decoded = try OTLPExportRequest(protobuf: body)
        #expect(decoded.oversizeSpans == 1)
        #expect(decoded.resourceSpans?.first?.scopeSpans?.first?.spans?.count == 1)

        let configuration = Support.configuration { $0.otlp.traceWait = .zero }
        try await Support.withCollector(configuration) { collector, client, key in
            let (status, answer) = try await Self.post(body, key: key, client: client)
            #expect(status == .ok)
            #expect(answer.contains("more than \(OTLPDecodeLimits.maxFieldsPerElement) fields"), "\(answer)")
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(try await collector.store.apps(accountID: account.id).first)
            #expect(try await Self.count(app, collector) == 1)
        }
    }

    @Test func attributesPastTheCapAreDroppedAndSaidSo() throws {
        let many = (0..<200).flatMap { Protobuf.field(9, bytes: Protobuf.attribute("k\($0)", "v")) }
        let decoded = try OTLPExportRequest(
            protobuf: Protobuf.export(resource: [("service.name", "a")], spans: [Protobuf.span(id: 1, extra: many)])
        )
        let span = try #require(decoded.resourceSpans?.first?.scopeSpans?.first?.spans?.first)
        #expect(span.attributes?.count == OTLPDecodeLimits.maxAttributes)
        #expect(decoded.droppedAttributes == 202 - OTLPDecodeLimits.maxAttributes)
        #expect(decoded.warnings.first?.contains("attributes past 128") == true)
    }

    /// Before: a 100-byte `telemetry.sdk.name` made the whole export a 400, and the exporter dropped every span.
    @Test func aLongResourceAttributeIsCutAndTheSpansCount() async throws {
        let body = Protobuf.export(
            resource: [
                ("service.name", "long-sdk"), ("telemetry.sdk.name", String(repeating: "n", count: 100)),
                ("host.name", String(repeating: "h", count: 300)),
            ],
            spans: [Protobuf.span(id: 1)]
        )
        let configuration = Support.configuration { $0.otlp.traceWait = .zero }
        try await Support.withCollector(configuration) { collector, client, key in
            let (status, answer) = try await Self.post(body, key: key, client: client)
            #expect(status == .ok, "\(answer)")
            #expect(answer.contains("telemetry.sdk.name was cut"), "\(answer)")
            #expect(answer.contains("host.name was cut"), "\(answer)")
            let account = try #require(try await collector.store.accounts().first)
            let app = try #require(
                try await collector.store.apps(accountID: account.id).first { $0.name == "long-sdk" }
            )
            #expect(app.agentVersion.utf8.count <= AgentIdentity.maxShortTextBytes)
            #expect(try await Self.count(app, collector) == 1)
        }
    }
}
