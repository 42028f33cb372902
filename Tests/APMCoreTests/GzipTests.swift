import APMCore
import Foundation
import Testing

@Suite struct GzipTests {
    @Test func roundTrips() throws {
        let original = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 31 % 251) })
        let compressed = try Gzip.compress(original)
        #expect(Gzip.isGzip(compressed))
        #expect(try Gzip.decompress(compressed, maxOutputSize: 1 << 20) == original)
    }

    @Test func stopsABombAtTheLimit() throws {
        let bomb = try Gzip.compress(Data(count: 50 * 1024 * 1024))
        #expect(bomb.count < 100_000)
        #expect {
            try Gzip.decompress(bomb, maxOutputSize: 1024 * 1024)
        } throws: { ($0 as? WireFormatError)?.code == .tooLarge }
    }

    @Test func rejectsGarbageAndTruncation() throws {
        #expect(throws: WireFormatError.self) { try Gzip.decompress(Data("not gzip".utf8), maxOutputSize: 1000) }
        let compressed = try Gzip.compress(Data(repeating: 7, count: 10_000))
        #expect(throws: WireFormatError.self) {
            try Gzip.decompress(compressed.prefix(compressed.count / 2), maxOutputSize: 100_000)
        }
    }
}
