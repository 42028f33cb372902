import APMCore
import Testing

/// How a program's output becomes log records: levels from common prefixes, tracebacks and stacks kept whole.
@Suite struct OutputLogAssemblerTests {
    static func records(_ lines: [String], defaultLevel: LogLevel = .info) -> [OutputLogAssembler.Record] {
        var assembler = OutputLogAssembler(defaultLevel: defaultLevel)
        var records = lines.compactMap { assembler.add($0) }
        if let last = assembler.flush() { records.append(last) }
        return records
    }

    @Test func levelsComeFromTheCommonPrefixes() {
        let cases: [(String, LogLevel?)] = [
            ("ERROR:root:payment failed", .error),
            ("WARNING:urllib3.connectionpool:Retrying", .warn),
            ("[INFO] server started", .info),
            ("2026-12-03 16:00:00,123 - shop - CRITICAL - disk full", .fatal),
            ("2026-12-03T16:00:00+0000 warning shop : [user=7] slow", .warn),
            ("time=2026-12-03T16:00:00Z level=error msg=\"boom\"", .error),
            ("D/debug: cache miss", .debug),
            ("Listening on 127.0.0.1:8080", nil),
            ("The quick brown fox jumps over the lazy dog and logs an error", nil),
        ]
        for (line, level) in cases {
            #expect(OutputLogAssembler.level(of: line) == level, "\(line)")
        }
    }

    @Test func aPythonTracebackUnderItsLoggingLineIsOneRecord() {
        let records = Self.records([
            "INFO:root:starting",
            "ERROR:root:payment failed",
            "Traceback (most recent call last):",
            "  File \"/app/shop.py\", line 12, in charge",
            "    raise ValueError(\"declined\")",
            "ValueError: declined",
            "INFO:root:next request",
        ])
        #expect(records.map(\.level) == [.info, .error, .info])
        #expect(records[1].message.hasPrefix("ERROR:root:payment failed\nTraceback (most recent call last):"))
        #expect(records[1].message.hasSuffix("ValueError: declined"))
        #expect(records[1].message.split(separator: "\n").count == 5)
    }

    @Test func aBareTracebackIsAnErrorAndChainedOnesStayTogether() {
        let records = Self.records(
            [
                "Traceback (most recent call last):",
                "  File \"a.py\", line 1, in <module>",
                "KeyError: 'x'",
                "",
                "During handling of the above exception, another exception occurred:",
                "Traceback (most recent call last):",
                "  File \"a.py\", line 3, in <module>",
                "RuntimeError: wrapped",
                "done",
            ],
            defaultLevel: .warn
        )
        #expect(records.count == 2)
        #expect(records[0].level == .error)
        #expect(records[0].message.contains("KeyError: 'x'\n\nDuring handling of the above exception"))
        #expect(records[0].message.hasSuffix("RuntimeError: wrapped"))
        #expect(records[1].message == "done" && records[1].level == .warn)
    }

    @Test func aJavaStackStaysWithItsExceptionAndRecordsAreBounded() {
        let java = Self.records([
            "java.lang.IllegalStateException: boom", "\tat com.shop.Cart.add(Cart.java:10)", "Caused by: x",
            "\t... 3 more",
        ])
        #expect(java.count == 1)
        let long = Self.records(["ERROR start"] + Array(repeating: "  frame", count: 1_000))
        #expect(long.count > 1)
        #expect(long[0].message.split(separator: "\n").count == OutputLogAssembler.maxLinesPerRecord)
    }
}
