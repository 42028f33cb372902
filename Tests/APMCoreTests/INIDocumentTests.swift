import APMCore
import Testing

@Suite struct INIDocumentTests {
    @Test func parsesSectionsKeysAndLines() throws {
        let text = """
            # comment
            [agent]
            license_key = abc
            app_name = "My App "
            ; another comment

            [agent:staging]
            transaction_tracer.enabled=false
            """
        let document = try INIDocument(parsing: text, path: "agent.ini")
        #expect(document.sections.map(\.name) == ["agent", "agent:staging"])
        let agent = try #require(document.sections(named: "agent").first)
        #expect(agent.entry("license_key")?.value == "abc")
        #expect(agent.entry("license_key")?.line == 3)
        #expect(agent.entry("app_name")?.value == "My App ")
        #expect(document.sections[1].entry("transaction_tracer.enabled")?.value == "false")
    }

    @Test(arguments: [
        ("[agent\nkey = 1", 1, "section header"),
        ("[agent]\njust words", 2, "expected `key = value`"),
        ("key = 1", 1, "before any section"),
        ("[agent]\n= 3", 2, "no key"),
    ])
    func reportsTheLineOfASyntaxError(_ text: String, _ line: Int, _ fragment: String) {
        #expect {
            try INIDocument(parsing: text, path: "x.ini")
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.code == .syntax && error.line == line && error.file == "x.ini"
                && error.message.contains(fragment)
        }
    }
}
