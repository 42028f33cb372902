import APMCore
import Foundation
import Testing

@Suite struct AgentBatchTests {
    static let now: Double = 1_764_000_000

    static func sampleBatch() -> AgentBatch {
        var histogram = LatencyHistogram()
        histogram.record(seconds: 0.1)
        histogram.record(seconds: 0.7)
        histogram.record(seconds: 3)
        var errorHistogram = LatencyHistogram()
        errorHistogram.record(seconds: 3)
        let metric = TransactionMetric(
            name: "GET /users/{id}",
            kind: .web,
            count: 3,
            errorCount: 1,
            apdexT: 0.5,
            satisfied: 1,
            tolerating: 1,
            frustrated: 1,
            totalDuration: 3.8,
            minDuration: 0.1,
            maxDuration: 3,
            sumOfSquares: 9.5,
            breakdown: TimeBreakdown(database: 1, external: 0.5, application: 2.3),
            histogram: histogram,
            errorHistogram: errorHistogram
        )
        let segment = SegmentMetric(
            transaction: "GET /users/{id}",
            name: "Postgres SELECT users",
            category: .datastore,
            system: "postgresql",
            operation: "SELECT",
            target: "users",
            count: 2,
            totalDuration: 1,
            exclusiveDuration: 1,
            minDuration: 0.2,
            maxDuration: 0.8
        )
        return AgentBatch(
            batchID: "6f1c2a9e-8d7b-4c3a-9e2f-1a2b3c4d5e6f",
            agent: AgentIdentity(appName: "shop", host: "web-1", pid: 42, agentVersion: "0.1.0"),
            createdAt: now,
            apdexT: 0.5,
            intervals: [MetricInterval(start: Int64(now) / 60 * 60, transactions: [metric], segments: [segment])],
            traces: [
                TransactionTrace(
                    traceID: String(repeating: "a", count: 32),
                    transaction: "GET /users/{id}",
                    kind: .web,
                    start: now - 5,
                    duration: 3,
                    segments: [
                        TraceSegment(
                            parent: nil,
                            name: "Postgres SELECT users",
                            category: .datastore,
                            offset: 0.1,
                            duration: 0.8,
                            statement: "SELECT * FROM users WHERE id = ?"
                        )
                    ]
                )
            ],
            errors: [ErrorSample(timestamp: now - 5, transaction: "GET /users/{id}", type: "HTTP 500", message: "boom")]
        )
    }

    @Test func roundTripsThroughJSON() throws {
        let batch = Self.sampleBatch()
        let data = try WireCoding.makeEncoder().encode(batch)
        let decoded = try WireCoding.decodeBatch(data)
        #expect(decoded == batch)
        try decoded.validate(now: Self.now)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""batch_id":"6f1c2a9e"#))
        #expect(text.contains(#""error_count":1"#))
    }

    @Test func docsExampleDecodesAndValidates() throws {
        // docs/protocol.md carries a full example; it must stay a valid batch.
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/protocol.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let start = try #require(text.range(of: "```json\n"))
        let end = try #require(text.range(of: "\n```", range: start.upperBound..<text.endIndex))
        let batch = try WireCoding.decodeBatch(Data(text[start.upperBound..<end.lowerBound].utf8))
        try batch.validate(now: batch.createdAt)
        #expect(batch.intervals.first?.transactions.isEmpty == false)
    }

    @Test(arguments: [
        ("{", "not valid JSON"),
        (#"{"version": 2}"#, "version 2 is not supported"),
        (#"{"version": 1, "batch_id": 5}"#, "batch_id"),
    ])
    func namesTheProblemInMalformedInput(_ json: String, _ fragment: String) {
        #expect {
            try WireCoding.decodeBatch(Data(json.utf8))
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }

    @Test func wrongTypeNamesTheFieldPath() throws {
        var object =
            try JSONSerialization.jsonObject(with: WireCoding.makeEncoder().encode(Self.sampleBatch()))
            as! [String: Any]
        var intervals = object["intervals"] as! [[String: Any]]
        var transactions = intervals[0]["transactions"] as! [[String: Any]]
        transactions[0]["count"] = "three"
        intervals[0]["transactions"] = transactions
        object["intervals"] = intervals
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect {
            try WireCoding.decodeBatch(data)
        } throws: { error in
            let error = error as? WireFormatError
            return error?.field == "intervals[0].transactions[0].count" && error?.message.contains("integer") == true
        }
    }

    @Test func validationCatchesInconsistentFigures() {
        func expectInvalid(_ field: String, _ mutate: (inout AgentBatch) -> Void) {
            var batch = Self.sampleBatch()
            mutate(&batch)
            #expect {
                try batch.validate(now: Self.now)
            } throws: { error in
                (error as? WireFormatError)?.field.hasPrefix(field) == true
            }
        }
        expectInvalid("intervals[0].transactions[0]") { $0.intervals[0].transactions[0].satisfied = 2 }
        expectInvalid("intervals[0].transactions[0].total_duration") {
            $0.intervals[0].transactions[0].totalDuration = -1
        }
        expectInvalid("intervals[0].transactions[0].error_count") { $0.intervals[0].transactions[0].errorCount = 4 }
        expectInvalid("intervals[0].start") { $0.intervals[0].start = Int64(Self.now) + 86_400 / 60 * 60 }
        expectInvalid("intervals[0].start") { $0.intervals[0].start = 60 }
        expectInvalid("intervals[0].start") { $0.intervals[0].start += 1 }
        expectInvalid("intervals[0].transactions[0].histogram") {
            $0.intervals[0].transactions[0].count = 4
            $0.intervals[0].transactions[0].frustrated = 2
        }
        expectInvalid("intervals[0].transactions[0].name") { $0.intervals[0].transactions[0].name = "" }
        expectInvalid("batch_id") { $0.batchID = "x" }
        expectInvalid("apdex_t") { $0.apdexT = 0 }
        expectInvalid("traces[0].segments[0].parent") { $0.traces[0].segments[0].parent = 0 }
    }
}
