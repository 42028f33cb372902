import APMAgent
import APMCore
import Foundation
import Testing

@Suite struct ConfigVerbsTests {
    static let key = "apm_0123456789abcdef0123456789abcdef01234567"

    @Test func generateConfigWritesEveryKeyAndRefusesToOverwrite() async throws {
        let directory = try CLI.temporaryDirectory()
        let first = try await CLI.run(["generate-config", Self.key, "agent.ini"], in: directory)
        #expect(first.status == 0)
        let path = (directory as NSString).appendingPathComponent("agent.ini")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let document = try INIDocument(parsing: text, path: path)
        #expect(document.sections(named: "agent").first?.entry("license_key")?.value == Self.key)
        for key in AgentConfiguration.keys {
            #expect(text.contains("\n\(key) =") || text.contains("\n# \(key) ="), "\(key) missing")
        }
        let loaded = try AgentConfiguration.load(environment: ["APM_CONFIG_FILE": path])
        #expect(loaded.configuration.licenseKey == Self.key)
        #expect(loaded.warnings.isEmpty)

        let again = try await CLI.run(["generate-config", Self.key, "agent.ini"], in: directory)
        #expect(again.status == 1)
        #expect(again.stderr.contains("--force"))
        #expect(try await CLI.run(["generate-config", Self.key, "agent.ini", "--force"], in: directory).status == 0)
        let bad = try await CLI.run(["generate-config", "not a key", "other.ini"], in: directory)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("16 to 128 characters"))
        #expect(!FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("other.ini")))
    }

    @Test(arguments: [
        (
            "[agent]\nlicense_key = \(ConfigVerbsTests.key)\napdex_t = fast\n",
            "agent.ini:3: apdex_t = \"fast\": must be a number of seconds"
        ),
        ("[agent\n", "agent.ini:1: a section header"),
        ("[agent]\njust words\n", "agent.ini:2: expected `key = value`"),
        ("[agent]\ntransaction_tracer.record_sql = everything\n", "must be off, obfuscated or raw"),
        ("[agent]\ncollector_url = ftp://x\n", "http:// or https://"),
    ])
    func validateConfigReportsEachKindOfProblem(_ text: String, _ message: String) async throws {
        let directory = try CLI.temporaryDirectory()
        try text.write(
            toFile: (directory as NSString).appendingPathComponent("agent.ini"),
            atomically: true,
            encoding: .utf8
        )
        let result = try await CLI.run(["validate-config", "agent.ini", "--offline"], in: directory)
        #expect(result.status == 2)
        #expect(result.stdout.contains(message), "\(result.stdout)")
    }

    @Test func validateConfigListsEveryProblemAndWarnsAboutUnknownKeys() async throws {
        let directory = try CLI.temporaryDirectory()
        try "[agent]\napdex_t = 0\nlog_level = loud\nlicence_key = x\n".write(
            toFile: (directory as NSString).appendingPathComponent("agent.ini"),
            atomically: true,
            encoding: .utf8
        )
        let result = try await CLI.run(["validate-config", "--offline"], in: directory)
        #expect(result.status == 2)
        #expect(result.stdout.contains("agent.ini:2: apdex_t"))
        #expect(result.stdout.contains("agent.ini:3: log_level"))
        #expect(result.stdout.contains("did you mean `license_key`"))
        #expect(result.stdout.contains("2 problem(s)"))
        let missing = try await CLI.run(["validate-config", "nope.ini", "--offline"], in: directory)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read the config file"))
    }

    @Test func validateConfigReportsACollectorThatIsDownOrRejectsTheKey() async throws {
        let directory = try CLI.temporaryDirectory()
        // Down: nothing listens on port 1.
        _ = try CLI.writeConfig(in: directory, key: Self.key, port: 1)
        let down = try await CLI.run(["validate-config"], in: directory)
        #expect(down.status == 3)
        #expect(down.stdout.contains("cannot reach"))

        try await CLI.withCollector { _, port, key in
            _ = try CLI.writeConfig(in: directory, key: Self.key, port: port)
            let rejected = try await CLI.run(["validate-config"], in: directory)
            #expect(rejected.status == 4)
            #expect(rejected.stdout.contains("rejected the license key"))
            _ = try CLI.writeConfig(in: directory, key: key, port: port)
            let good = try await CLI.run(["validate-config"], in: directory)
            #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
            #expect(good.stdout.contains("license key accepted"))
            #expect(good.stdout.contains("Apdex T = 0.5 s"))
        }
    }
}
