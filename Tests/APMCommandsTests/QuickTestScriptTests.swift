import Foundation
import Testing

/// `scripts/quick-test` skips the slow suites by name (`swift test --skip` takes a regular expression, not a tag):
/// its list must be exactly the suites tagged `.slow`.
@Suite struct QuickTestScriptTests {
    @Test func theQuickTestScriptSkipsExactlyTheSuitesTaggedSlow() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = try String(contentsOf: root.appendingPathComponent("scripts/quick-test"), encoding: .utf8)
        let listLine = try #require(script.split(separator: "\n").first { $0.hasPrefix("slow_suites=") })
        let listed = Set(listLine.dropFirst("slow_suites='".count).dropLast().split(separator: "|").map(String.init))
        var tagged: Set<String> = []
        let files = FileManager.default.enumerator(
            at: root.appendingPathComponent("Tests"),
            includingPropertiesForKeys: nil
        )
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift" else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("@Suite(") && line.contains(".tags(.slow)") {
                if let name = line.split(separator: " ").drop(while: { $0 != "struct" }).dropFirst().first {
                    tagged.insert(String(name))
                }
            }
        }
        #expect(!tagged.isEmpty)
        #expect(
            listed == tagged,
            "scripts/quick-test lists \(listed.sorted()); the suites tagged .slow are \(tagged.sorted())"
        )
    }
}
