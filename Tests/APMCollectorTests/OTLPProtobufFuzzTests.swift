import APMCore
import Foundation
import Testing

@testable import APMCollector

/// The protobuf reader takes bytes from the network: no input may crash the collector.
@Suite struct OTLPProtobufFuzzTests {
    @Test func mutatedAndTruncatedExportsNeverCrashTheReaderOrTheTranslator() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/otlp-python-sdk.binpb")
        let original = [UInt8](try Data(contentsOf: fixture))
        let intact = try OTLPExportRequest(protobuf: Data(original))
        // At the fixture's time (five minutes after its spans) every span is used.
        let translation = OTLPTranslator.translate(intact, digest: "x", receivedAt: 1_795_656_601) { _ in (0.5, [:]) }
        #expect(translation.spans == 7 && translation.rejectedSpans == 0 && translation.batches.count == 1)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var decoded = 0
        var rejected = 0
        for round in 0..<3_000 {
            var bytes = original
            switch round % 3 {
            case 0:  // flip a few bytes
                for _ in 0..<(1 + Int(next() % 4)) {
                    bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next())
                }
            case 1:  // truncate
                bytes = Array(bytes.prefix(Int(next() % UInt64(bytes.count))))
            default:  // random bytes
                bytes = (0..<Int(next() % 256)).map { _ in UInt8(truncatingIfNeeded: next()) }
            }
            do {
                let export = try OTLPExportRequest(protobuf: Data(bytes))
                _ = OTLPTranslator.translate(export, digest: "x", receivedAt: 1_795_656_601) { _ in (0.5, [:]) }
                decoded += 1
            } catch is WireFormatError {
                rejected += 1
            }
        }
        // Both outcomes happen: the test exercises the error paths and the translator on odd but valid input.
        #expect(decoded > 100 && rejected > 100)
    }
}
