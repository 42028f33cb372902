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
        #expect(missing.stderr.contains("nope.ini does not exist"))
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

    /// Before: the file named "My Application" at 127.0.0.1:7070 and had to be edited by hand.
    @Test func generateConfigTakesTheAppNameAndCollectorURLAndValidatesAtOnce() async throws {
        try await CLI.withCollector { _, port, key in
            let directory = try CLI.temporaryDirectory()
            let written = try await CLI.run(
                [
                    "generate-config", key, "agent.ini", "--app-name", "Shop API", "--collector-url",
                    "http://127.0.0.1:\(port)",
                ],
                in: directory
            )
            #expect(written.status == 0, "\(written.stderr)")
            let path = (directory as NSString).appendingPathComponent("agent.ini")
            let loaded = try AgentConfiguration.load(environment: ["APM_CONFIG_FILE": path])
            #expect(loaded.configuration.appName == "Shop API")
            #expect(loaded.configuration.collectorURL == "http://127.0.0.1:\(port)")
            let staging = try AgentConfiguration.load(environment: [
                "APM_CONFIG_FILE": path, "APM_ENVIRONMENT": "staging",
            ])
            #expect(staging.configuration.appName == "Shop API (staging)")
            // Still the fully commented template.
            #expect(try String(contentsOfFile: path, encoding: .utf8).contains("# The name your app is shown under."))
            let valid = try await CLI.run(["validate-config", "agent.ini"], in: directory)
            #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
            // Malformed values: nothing written, the agent's own message.
            let badURL = try await CLI.run(
                ["generate-config", key, "other.ini", "--collector-url", "ftp://x"],
                in: directory
            )
            #expect(badURL.status == 2)
            #expect(badURL.stderr.contains("--collector-url \"ftp://x\""), "\(badURL.stderr)")
            #expect(
                !FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("other.ini"))
            )
        }
    }
}

/// The messages of the config verbs name what the user typed.
@Suite struct ConfigVerbMessagesTests {
    /// Before: a missing file blamed APM_CONFIG_FILE, which was not set.
    @Test func aMissingFileIsNamedAsSuch() async throws {
        let result = try await CLI.run(
            ["validate-config", "missing.ini", "--offline"],
            in: try CLI.temporaryDirectory()
        )
        #expect(result.status == 2)
        #expect(result.stderr.contains("missing.ini does not exist"))
        #expect(!result.stderr.contains("APM_CONFIG_FILE"))
    }

    /// Before: `--environment prod` with no `[agent:prod]` passed without a word.
    @Test func anEnvironmentWithoutItsSectionIsSaid() async throws {
        let directory = try CLI.temporaryDirectory()
        _ = try CLI.writeConfig(in: directory, key: "apm_0123456789abcdef0123456789abcdef01234567", port: 7070)
        let result = try await CLI.run(
            ["validate-config", "agent.ini", "--environment", "prod", "--offline"],
            in: directory
        )
        #expect(result.status == 0)
        #expect(result.stdout.contains("no [agent:prod] section"), "\(result.stdout)")
    }

    /// Before: "20: collector_url …", the line of a file never written.
    @Test func aBadFlagIsNamedAsTheFlag() async throws {
        let result = try await CLI.run(
            ["generate-config", "apm_0123456789abcdef0123456789abcdef01234567", "x.ini", "--collector-url", "ftp://x"],
            in: try CLI.temporaryDirectory()
        )
        #expect(result.status == 2)
        #expect(result.stderr.contains("--collector-url \"ftp://x\": must be an http:// or https:// URL"))
    }
}
