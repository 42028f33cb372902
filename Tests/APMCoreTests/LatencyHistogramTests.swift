import APMCore
import Foundation
import Testing

@Suite struct LatencyHistogramTests {
    /// Deterministic pseudo-random durations spanning 100 µs to 30 s (log-uniform).
    static func durations(count: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Double(state >> 11) / Double(1 << 53)
            return 1e-4 * pow(3e5, unit)
        }
    }

    static func exactQuantile(_ sorted: [Double], _ q: Double) -> Double {
        let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
        return sorted[rank - 1]
    }

    @Test(arguments: [0.5, 0.9, 0.95, 0.99, 0.999, 1.0])
    func quantilesAreWithinOnePercent(_ quantile: Double) throws {
        let values = Self.durations(count: 20_000, seed: 7)
        var histogram = LatencyHistogram()
        for value in values { histogram.record(seconds: value) }
        let sorted = values.sorted()
        let expected = Self.exactQuantile(sorted, quantile)
        let actual = try #require(histogram.value(atQuantile: quantile))
        #expect(abs(actual - expected) / expected <= LatencyHistogram.relativeAccuracy + 1e-12)
    }

    @Test func everyBucketsRepresentativeIsWithinOnePercentOfItsRange() {
        for index in 1..<LatencyHistogram.maximumBucketCount {
            let lower = LatencyHistogram.lowerBound(ofBucket: index)
            let upper = LatencyHistogram.upperBound(ofBucket: index)
            let representative = LatencyHistogram.representativeValue(ofBucket: index)
            #expect((representative - lower) / lower <= 0.01 + 1e-9)
            #expect((upper - representative) / upper <= 0.01 + 1e-9)
        }
    }

    @Test func bucketIndexMatchesItsBounds() {
        for value in Self.durations(count: 2_000, seed: 3) {
            let index = LatencyHistogram.bucketIndex(seconds: value)
            #expect(value > LatencyHistogram.lowerBound(ofBucket: index) * (1 - 1e-12))
            #expect(value <= LatencyHistogram.upperBound(ofBucket: index) * (1 + 1e-12))
        }
    }

    @Test func mergeEqualsRecordingEverythingInOne() throws {
        let a = Self.durations(count: 3_000, seed: 1)
        let b = Self.durations(count: 2_000, seed: 2).map { $0 / 100 }
        var ha = LatencyHistogram()
        var hb = LatencyHistogram()
        var all = LatencyHistogram()
        for value in a {
            ha.record(seconds: value)
            all.record(seconds: value)
        }
        for value in b {
            hb.record(seconds: value)
            all.record(seconds: value)
        }
        var merged = ha
        merged.merge(hb)
        #expect(merged == all)
        var reversed = hb
        reversed.merge(ha)
        #expect(reversed == all)
        #expect(merged.totalCount == 5_000)
    }

    @Test func memoryIsBounded() {
        var histogram = LatencyHistogram()
        for value in [0.0, 1e-9, 1e-6, 1, 1e9, .infinity, -.infinity, .nan, -3] { histogram.record(seconds: value) }
        #expect(histogram.counts.count <= LatencyHistogram.maximumBucketCount)
        #expect(histogram.totalCount == 9)
        #expect(LatencyHistogram.maximumBucketCount < 1_300)
    }

    @Test func countAtMostSeparatesSureFromUncertain() {
        var histogram = LatencyHistogram()
        for value in [0.1, 0.2, 0.499, 0.5, 0.501, 0.6, 2.0] { histogram.record(seconds: value) }
        let (sure, uncertain) = histogram.count(atMost: 0.5)
        // 0.1, 0.2 are surely ≤ 0.5; values within ~2% of 0.5 may share its bucket.
        #expect(sure >= 2)
        #expect(sure + uncertain >= 4)
        #expect(sure + uncertain <= 5)
    }

    @Test func codableRoundTripAndRejectsOutOfRangeBuckets() throws {
        var histogram = LatencyHistogram()
        for value in Self.durations(count: 500, seed: 9) { histogram.record(seconds: value) }
        let data = try WireCoding.makeEncoder().encode(histogram)
        let decoded = try WireCoding.makeDecoder().decode(LatencyHistogram.self, from: data)
        #expect(decoded == histogram)
        let bad = Data(#"{"first_index": 5000, "counts": [1]}"#.utf8)
        #expect(throws: DecodingError.self) { try WireCoding.makeDecoder().decode(LatencyHistogram.self, from: bad) }
        let negative = Data(#"{"first_index": -1, "counts": [1]}"#.utf8)
        #expect(throws: DecodingError.self) {
            try WireCoding.makeDecoder().decode(LatencyHistogram.self, from: negative)
        }
    }

    @Test func theWireUsesTheCompactFormAndBothFormsDecodeToTheSameHistogram() throws {
        var histogram = LatencyHistogram()
        for value in Self.durations(count: 300, seed: 4) { histogram.record(seconds: value) }
        let compact = try WireCoding.makeEncoder().encode(histogram)
        let readable = try JSONEncoder().encode(histogram)
        #expect(String(decoding: compact, as: UTF8.self) == "\"\(histogram.encoded().base64EncodedString())\"")
        #expect(String(decoding: readable, as: UTF8.self).contains("first_index"))
        #expect(try WireCoding.makeDecoder().decode(LatencyHistogram.self, from: compact) == histogram)
        #expect(try WireCoding.makeDecoder().decode(LatencyHistogram.self, from: readable) == histogram)
    }

    @Test func malformedCompactHistogramsAreRejectedWithoutAllocating() throws {
        // Inside an object, as in a batch, so that the error names the field.
        struct Metric: Decodable { var histogram: LatencyHistogram }
        func compact(_ bytes: [UInt8]) -> Data { Data("\"\(Data(bytes).base64EncodedString())\"".utf8) }
        func rejects(_ value: Data) -> String? {
            let data = Data(#"{"histogram": "#.utf8) + value + Data("}".utf8)
            do {
                _ = try WireCoding.makeDecoder().decode(Metric.self, from: data)
                return nil
            } catch let error as DecodingError {
                let wire = WireFormatError(decodingError: error)
                #expect(wire.field == "histogram")
                return wire.message
            } catch {
                return "\(error)"
            }
        }
        // Not base64.
        #expect(rejects(Data(#""not base64!""#.utf8))?.contains("base64") == true)
        // Too long to be a histogram.
        #expect(rejects(Data("\"\(String(repeating: "A", count: 20_000))\"".utf8))?.contains("at most") == true)
        // A bucket count of 2^62 (would allocate exabytes if trusted), and buckets past the end.
        #expect(
            rejects(compact([1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 1]))?.contains("within")
                == true
        )
        #expect(rejects(compact([1, 0xF4, 0x09, 2, 1, 1]))?.contains("within") == true)
        // Counts whose sum overflows.
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        #expect(rejects(compact([1, 10, 2] + huge + huge))?.contains("overflow") == true)
        // A wrong version byte and a truncated varint.
        #expect(rejects(compact([2, 0, 1, 1])) != nil)
        #expect(rejects(compact([1, 0, 1, 0x80])) != nil)
    }
}

@Suite struct LatencyHistogramBinaryTests {
    @Test func encodedRoundTripAndMergeEncodedEqualsMerge() throws {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        for value in LatencyHistogramTests.durations(count: 1_000, seed: 5) { a.record(seconds: value) }
        for value in LatencyHistogramTests.durations(count: 700, seed: 6) { b.record(seconds: value / 1_000) }
        #expect(try LatencyHistogram(encoded: a.encoded()) == a)
        var merged = a
        merged.merge(b)
        var viaEncoded = a
        try viaEncoded.merge(encoded: b.encoded())
        #expect(viaEncoded == merged)
        var fromEmpty = LatencyHistogram()
        try fromEmpty.merge(encoded: a.encoded())
        #expect(fromEmpty == a)
        try fromEmpty.merge(encoded: LatencyHistogram().encoded())
        #expect(fromEmpty == a)
        #expect(throws: WireFormatError.self) { try fromEmpty.merge(encoded: Data([1, 0xff])) }
    }
}
