import APMCore
import Testing

@Suite struct ApdexTests {
    @Test func classifiesAtTheEdgesExactly() {
        let t = ApdexThreshold.default
        #expect(t.zone(seconds: 0.5, isError: false) == .satisfied)
        #expect(t.zone(seconds: 0.500000001, isError: false) == .tolerating)
        #expect(t.zone(seconds: 2.0, isError: false) == .tolerating)
        #expect(t.zone(seconds: 2.000000001, isError: false) == .frustrated)
        #expect(t.zone(seconds: 0.001, isError: true) == .frustrated)
    }

    @Test func scoreFollowsTheFormula() throws {
        var counts = ApdexCounts()
        for _ in 0..<60 { counts.record(.satisfied) }
        for _ in 0..<30 { counts.record(.tolerating) }
        for _ in 0..<10 { counts.record(.frustrated) }
        #expect(try #require(counts.score) == 0.75)
        #expect(ApdexCounts().score == nil)
    }

    @Test func rejectsNonsenseThresholds() {
        #expect(ApdexThreshold(seconds: 0) == nil)
        #expect(ApdexThreshold(seconds: -1) == nil)
        #expect(ApdexThreshold(seconds: .nan) == nil)
        #expect(ApdexThreshold(seconds: 0.3)?.nanoseconds == 300_000_000)
    }
}
