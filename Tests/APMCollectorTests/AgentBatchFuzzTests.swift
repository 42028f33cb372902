import APMCollector
import APMCore
import APMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A structure-aware fuzz test of the agent batch endpoint: valid batches, mutated one field at a time (numbers
/// pushed to their extremes, wrong types, missing keys, huge arrays and strings) and, in the text, numbers JSON
/// cannot hold (NaN, Infinity, 1e999). Every answer must be a clear 2xx or 4xx, and the collector must still
/// ingest and answer afterwards. The mutations are seeded, so a failure repeats.
@Suite(.tags(.slow)) struct AgentBatchFuzzTests {
    typealias Support = CollectorTestSupport

    /// SplitMix64: small, seedable, good enough to choose mutations.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static var extremes: [Any] {
        [
            Int64.max, Int64.min, UInt64.max, UInt64(1) << 63, Int64.max - 7, 1e300, -1e300, -0.0, 1e-300, 0, -1, 0.5,
            4_294_967_296, 9.3e18,
        ]
    }
    static var wrongTypes: [Any] {
        ["x", NSNull(), [Any](), [String: Any](), true, String(repeating: "y", count: 100_000)]
    }
    static let textNumbers = [
        "NaN", "Infinity", "-Infinity", "-0", "1e999", "-1e999", "99999999999999999999999", "0x10",
    ]

    /// Every path to a leaf (number, string, bool, null) and to an array.
    static func paths(_ node: Any, prefix: [Any] = []) -> (leaves: [[Any]], arrays: [[Any]], keys: [[Any]]) {
        var leaves: [[Any]] = []
        var arrays: [[Any]] = []
        var keys: [[Any]] = []
        if let dictionary = node as? [String: Any] {
            for (key, value) in dictionary {
                keys.append(prefix + [key])
                let inner = paths(value, prefix: prefix + [key])
                leaves += inner.leaves
                arrays += inner.arrays
                keys += inner.keys
            }
        } else if let array = node as? [Any] {
            arrays.append(prefix)
            for (index, value) in array.enumerated() {
                let inner = paths(value, prefix: prefix + [index])
                leaves += inner.leaves
                arrays += inner.arrays
                keys += inner.keys
            }
        } else {
            leaves.append(prefix)
        }
        return (leaves, arrays, keys)
    }

    static func value(at path: [Any], in node: Any) -> Any? {
        var current: Any = node
        for step in path {
            if let key = step as? String, let dictionary = current as? [String: Any], let next = dictionary[key] {
                current = next
            } else if let index = step as? Int, let array = current as? [Any], array.indices.contains(index) {
                current = array[index]
            } else {
                return nil
            }
        }
        return current
    }

    static func removing(_ path: [Any], from node: Any) -> Any {
        guard let first = path.first else { return node }
        let rest = Array(path.dropFirst())
        if var dictionary = node as? [String: Any], let key = first as? String {
            if rest.isEmpty {
                dictionary[key] = nil
            } else if let inner = dictionary[key] {
                dictionary[key] = removing(rest, from: inner)
            }
            return dictionary
        }
        if var array = node as? [Any], let index = first as? Int, array.indices.contains(index) {
            array[index] = removing(rest, from: array[index])
            return array
        }
        return node
    }

    static func mutate(_ object: [String: Any], using generator: inout SeededGenerator) throws -> Data {
        var object = object
        let (leaves, arrays, keys) = paths(object)
        switch Int.random(in: 0..<100, using: &generator) {
        case 0..<45:
            HostileBatchTests.set(
                &object,
                leaves.randomElement(using: &generator)!,
                extremes.randomElement(using: &generator)!
            )
        case 45..<60:
            HostileBatchTests.set(
                &object,
                leaves.randomElement(using: &generator)!,
                wrongTypes.randomElement(using: &generator)!
            )
        case 60..<70:
            object = removing(keys.randomElement(using: &generator)!, from: object) as? [String: Any] ?? object
        case 70..<73:
            // A huge array: its first element (or a number) repeated, past every per-batch cap on samples.
            let path = arrays.randomElement(using: &generator)!
            let element = (value(at: path, in: object) as? [Any])?.first ?? 0
            HostileBatchTests.set(&object, path, Array(repeating: element, count: 3_000))
        case 73..<80:
            // Two mutations at once: extremes in related fields.
            for _ in 0..<2 {
                HostileBatchTests.set(
                    &object,
                    leaves.randomElement(using: &generator)!,
                    extremes.randomElement(using: &generator)!
                )
            }
        default:
            // Text-level: a number JSON cannot hold.
            let marker = "\"__fuzz__\""
            HostileBatchTests.set(&object, leaves.randomElement(using: &generator)!, "__fuzz__")
            let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            return Data(text.replacingOccurrences(of: marker, with: textNumbers.randomElement(using: &generator)!).utf8)
        }
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func mutatedBatchesGetClearAnswersAndTheCollectorStaysUp() async throws {
        try await Support.withCollector { _, client, key in
            var bases = [try HostileBatchTests.object(HostileBatchTests.validBatch())]
            var multi = HostileBatchTests.validBatch()
            multi.intervals.append(
                MetricInterval(
                    start: multi.intervals[0].start - 60,
                    transactions: [Support.metric("POST /b", durations: [0.2, 2.5], kind: .background)]
                )
            )
            bases.append(try HostileBatchTests.object(multi))
            let baseTexts = try bases.map { try JSONSerialization.data(withJSONObject: $0) }
            var generator = SeededGenerator(state: 0x5EED_0015)
            var outcomes: [Int: Int] = [:]
            for round in 0..<200 {
                let base = baseTexts[round % baseTexts.count]
                // Mutating and compressing is the test's own CPU work: off the cooperative threads.
                let seed = generator.next()
                let body = try await Support.offPool {
                    var object = try #require(JSONSerialization.jsonObject(with: base) as? [String: Any])
                    object["batch_id"] = "fuzz-\(round)-" + UUID().uuidString
                    var generator = SeededGenerator(state: seed)
                    return try Gzip.compress(try Self.mutate(object, using: &generator))
                }
                let response = try await Support.postRaw(body, key: key, client: client, gzip: true)
                outcomes[response.status.code, default: 0] += 1
                #expect(
                    [200, 202, 400, 413, 422].contains(response.status.code),
                    "round \(round): \(response.status) \(response.body.prefix(300))"
                )
                if response.status.code >= 400 {
                    #expect(response.body.contains("\"message\""), "round \(round): \(response.body.prefix(300))")
                }
                if round % 100 == 99 { try await HostileBatchTests.expectAlive(key, client) }
            }
            // Both outcomes were exercised: mutations that stay valid, and ones refused.
            #expect((outcomes[202] ?? 0) > 0 && (outcomes[400] ?? 0) > 0, "\(outcomes)")
            try await HostileBatchTests.expectAlive(key, client)
        }
    }
}
