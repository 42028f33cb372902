import APMAgent
import APMCore
import Foundation
import Logging
import Testing

@Suite struct AgentConfigurationTests {
    static let key = "apm_0123456789abcdef0123456789abcdef01234567"

    func load(_ ini: String?, _ environment: [String: String] = [:]) throws -> AgentConfiguration.Loaded {
        var environment = environment
        if ini != nil { environment["APM_CONFIG_FILE"] = "agent.ini" }
        return try AgentConfiguration.load(environment: environment) { path in
            #expect(path == "agent.ini")
            return ini ?? ""
        }
    }

    @Test func defaultsWithoutAnyConfig() throws {
        let configuration = try load(nil).configuration
        #expect(configuration.licenseKey.isEmpty)
        #expect(!configuration.isActive)
        #expect(configuration.apdexT.seconds == 0.5)
        #expect(configuration.harvestInterval == .seconds(10))
        #expect(configuration.errorCollector.ignoreStatusCodes == [404])
        #expect(configuration.transactionTracer.recordSQL == .obfuscated)
        #expect(configuration.shutdownTimeout == .seconds(3))
    }

    @Test func fileThenEnvironmentSectionThenVariables() throws {
        let ini = """
            [agent]
            license_key = \(Self.key)
            app_name = Shop
            apdex_t = 0.3
            log_level = debug
            transaction_tracer.record_sql = raw

            [agent:staging]
            app_name = Shop (staging)
            apdex_t = 0.8

            [agent:production]
            app_name = Shop (production)
            """
        let plain = try load(ini).configuration
        #expect(plain.appName == "Shop")
        #expect(plain.apdexT.seconds == 0.3)
        #expect(plain.transactionTracer.recordSQL == .raw)

        let staging = try load(ini, ["APM_ENVIRONMENT": "staging"]).configuration
        #expect(staging.appName == "Shop (staging)")
        #expect(staging.apdexT.seconds == 0.8)
        #expect(staging.logLevel == .debug)

        let overridden = try load(
            ini,
            ["APM_ENVIRONMENT": "staging", "APM_APP_NAME": "From env", "APM_LOG_LEVEL": "error"]
        ).configuration
        #expect(overridden.appName == "From env")
        #expect(overridden.logLevel == .error)
        #expect(overridden.apdexT.seconds == 0.8)
    }

    @Test func environmentKeyInTheFileSelectsTheSection() throws {
        let ini = "[agent]\nenvironment = production\n[agent:production]\napp_name = Prod\n"
        #expect(try load(ini).configuration.appName == "Prod")
        #expect(try load(ini, ["APM_ENVIRONMENT": "other"]).configuration.appName == "My Application")
    }

    @Test func everyKeyOfTheExampleFileParses() throws {
        let loaded = try load(
            "[agent]\n" + AgentConfiguration.keys.map { "\($0) = \(Self.validValue(for: $0))" }.joined(separator: "\n")
        )
        #expect(loaded.warnings.isEmpty)
        let configuration = loaded.configuration
        #expect(configuration.isActive)
        #expect(configuration.labels == ["team": "checkout", "region": "eu"])
        #expect(configuration.errorCollector.ignoreStatusCodes == [404, 409, 410])
        #expect(configuration.attributesExclude == ["password", "http.request.header.*"])
        #expect(configuration.isAttributeExcluded("http.request.header.cookie"))
        #expect(!configuration.isAttributeExcluded("user_tier"))
        #expect(configuration.harvestInterval == .seconds(5))
        #expect(configuration.maxMemoryBytes == 16 * 1024 * 1024)
    }

    static func validValue(for key: String) -> String {
        switch key {
        case "license_key": AgentConfigurationTests.key
        case "app_name": "Shop"
        case "collector_url": "http://127.0.0.1:7070"
        case "environment": "production"
        case "log_level": "info"
        case "log_file": "stderr"
        case "apdex_t": "0.5"
        case "harvest_interval": "5s"
        case "max_memory_mb": "16"
        case "max_transaction_names", "max_segment_names": "500"
        case "request_timeout", "shutdown_timeout": "3"
        case "labels": "team:checkout;region:eu"
        case "attributes.exclude": "password http.request.header.*"
        case "transaction_tracer.threshold": "apdex_f"
        case "transaction_tracer.record_sql": "obfuscated"
        case "transaction_tracer.max_segments", "transaction_tracer.max_traces", "transaction_tracer.max_name_traces",
            "error_collector.max_samples", "log_forwarding.max_per_harvest":
            "10"
        case "log_forwarding.level": "warn"
        case "error_collector.ignore_status_codes": "404 409-410"
        case "error_collector.ignore_errors": "CancellationError"
        case "high_security": "false"
        default: "true"
        }
    }

    @Test(arguments: [
        ("license_key", "short", "16 to 128 characters"),
        ("app_name", "", "1 to 255 characters"),
        ("collector_url", "ftp://x", "http:// or https://"),
        ("collector_url", "not a url", "http:// or https://"),
        ("enabled", "maybe", "true or false"),
        ("environment", "prod env", "letters, digits"),
        ("log_level", "loud", "trace, debug, info"),
        ("apdex_t", "0", "seconds from 0.001 to 3600"),
        ("apdex_t", "fast", "seconds from 0.001 to 3600"),
        ("harvest_interval", "0.5", "from 1 to 600"),
        ("max_memory_mb", "-1", "whole number from 1 to 4096"),
        ("labels", "novalue", "key:value pairs"),
        ("transaction_tracer.threshold", "slow", "apdex_f"),
        ("transaction_tracer.record_sql", "some", "off, obfuscated or raw"),
        ("transaction_tracer.max_segments", "0", "from 1 to 10000"),
        ("error_collector.ignore_status_codes", "404 abc", "HTTP status codes"),
        ("error_collector.ignore_status_codes", "700", "HTTP status codes"),
    ])
    func invalidValueNamesFileLineKeyValueAndWhatIsAllowed(_ key: String, _ value: String, _ allowed: String) {
        let ini = "[agent]\n# comment\n\(key) = \(value)\n"
        #expect {
            try load(ini)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            let text = error.description
            return error.code == .invalidValue && error.file == "agent.ini" && error.line == 3 && error.key == key
                && error.value == value && text.contains(allowed)
                && text.hasPrefix("agent.ini:3: \(key) = \"\(value)\"")
        }
    }

    @Test func invalidEnvironmentVariableIsNamed() {
        #expect {
            try load(nil, ["APM_APDEX_T": "-2"])
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.file == "environment" && error?.key == "APM_APDEX_T" && error?.value == "-2"
        }
    }

    @Test func unknownKeysWarnWithASuggestion() throws {
        let loaded = try load("[agent]\nlicence_key = x\n[other]\n")
        #expect(loaded.warnings.count == 2)
        #expect(
            loaded.warnings.contains {
                $0.key == "licence_key" && $0.message.contains("did you mean `license_key`") && $0.line == 2
            }
        )
    }

    @Test func unreadableFileAndSyntaxErrorsAreReported() {
        #expect {
            try AgentConfiguration.load(environment: ["APM_CONFIG_FILE": "/nonexistent/agent.ini"])
        } throws: { ($0 as? ConfigurationError)?.code == .unreadableFile }
        #expect {
            try load("[agent]\nthis is not a setting\n")
        } throws: { ($0 as? ConfigurationError)?.line == 2 }
    }

    @Test func highSecurityForcesObfuscationAndDropsAttributes() throws {
        let configuration = try load("[agent]\nhigh_security = true\ntransaction_tracer.record_sql = raw\n")
            .configuration
        #expect(configuration.effectiveRecordSQL == .obfuscated)
        #expect(configuration.isAttributeExcluded("anything"))
    }

    @Test func badConfigLeavesTheAgentOffAndTheAppRunning() {
        let agent = APMAgent.fromEnvironment(environment: ["APM_LICENSE_KEY": "bad key!"])
        #expect(!agent.isEnabled)
        let transaction = agent.startWebTransaction(method: "GET", route: "/")
        #expect(!transaction.isRecording)
        transaction.end()
    }
}

@Suite struct ExampleConfigFileTests {
    static var examplePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("agent.ini.example").path
    }

    @Test func documentsEveryKeyAndParsesWithoutWarnings() throws {
        let text = try String(contentsOfFile: Self.examplePath, encoding: .utf8)
        for key in AgentConfiguration.keys {
            #expect(
                text.contains("\n\(key) =") || text.contains("\n# \(key) ="),
                "agent.ini.example does not document \(key)"
            )
        }
        let loaded = try AgentConfiguration.load(environment: ["APM_CONFIG_FILE": Self.examplePath])
        #expect(loaded.warnings.isEmpty)
        // The example's values are the defaults (no license key: off).
        var expected = AgentConfiguration()
        expected.logFile = ""
        #expect(loaded.configuration == expected)
        let staging = try AgentConfiguration.load(environment: [
            "APM_CONFIG_FILE": Self.examplePath, "APM_ENVIRONMENT": "staging",
        ])
        #expect(staging.configuration.appName == "My Application (staging)")
    }
}

@Suite struct AgentConfigurationTemplateTests {
    @Test func templateIsTheExampleFile() throws {
        let example = try String(contentsOfFile: ExampleConfigFileTests.examplePath, encoding: .utf8)
        #expect(AgentConfigurationTemplate.text(licenseKey: "") == example)
        let filled = AgentConfigurationTemplate.text(licenseKey: AgentConfigurationTests.key)
        let document = try INIDocument(parsing: filled)
        #expect(document.sections(named: "agent").first?.entry("license_key")?.value == AgentConfigurationTests.key)
    }
}
