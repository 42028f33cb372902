import APMCollector
import APMCore
import APMPostgres
import APMStorage
import Foundation
import Testing

@Suite struct CollectorConfigurationTests {
    static var examplePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("collector.ini.example").path
    }

    @Test func exampleFileHasEveryKeyAndTheDefaults() throws {
        let text = try String(contentsOfFile: Self.examplePath, encoding: .utf8)
        for key in CollectorConfiguration.keys {
            #expect(text.contains("\n\(key) ="), "collector.ini.example lacks \(key)")
        }
        #expect(try CollectorConfiguration.load(file: Self.examplePath, environment: [:]) == CollectorConfiguration())
    }

    @Test func mailSettingsAreCheckedTogether() throws {
        func load(_ text: String, _ environment: [String: String] = [:]) throws -> CollectorConfiguration {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString).ini")
            try text.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            return try CollectorConfiguration.load(file: file.path, environment: environment)
        }
        let mail = try load(
            "[collector]\nsmtp_url = smtp://mail.example.com:587\nsmtp_from = apm@example.com\nsmtp_username = apm\n",
            ["APM_SMTP_PASSWORD": "hunter22"]
        )
        #expect(mail.alerts.smtp?.isConfigured == true)
        #expect(mail.alerts.smtp?.password == "hunter22")
        #expect(mail.alerts.smtp?.tls == .required)
        #expect(throws: ConfigurationError.self) { try load("[collector]\nsmtp_url = smtp://mail.example.com\n") }
        #expect(throws: ConfigurationError.self) { try load("[collector]\nsmtp_from = apm@example.com\n") }
        #expect(throws: ConfigurationError.self) { try load("[collector]\nsmtp_url = http://mail.example.com\n") }
        #expect(throws: ConfigurationError.self) { try load("[collector]\nsmtp_tls = maybe\n") }
        do {
            _ = try load("[collector]\nsmtp_password = s3cret!\nsmtp_tls = maybe\n")
        } catch {
            #expect(!"\(error)".contains("s3cret"))
        }
    }

    @Test func environmentWinsOverTheFile() throws {
        let configuration = try CollectorConfiguration.load(
            file: Self.examplePath,
            environment: ["APM_COLLECTOR_PORT": "9999", "APM_DATA_DIR": "/tmp/x", "APM_RETENTION_DAYS": "7"]
        )
        #expect(configuration.server.port == 9999)
        #expect(configuration.dataDirectory == "/tmp/x")
        #expect(configuration.retention.retention == .seconds(7 * 86_400))
    }

    @Test func invalidValuesNameTheirSource() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("collector.ini").path
        try "[collector]\nport = 70000\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect {
            try CollectorConfiguration.load(file: file, environment: [:])
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.line == 2 && error?.key == "port" && error?.message.contains("0 to 65535") == true
        }
        #expect {
            try CollectorConfiguration.load(file: nil, environment: ["APM_COLLECTOR_HOST": "bad host!"])
        } throws: { ($0 as? ConfigurationError)?.key == "APM_COLLECTOR_HOST" }
        try "[collector]\nprot = 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try CollectorConfiguration.load(file: file, environment: [:]) }
    }

    @Test func timeRangesPickBucketsAndResolution() {
        let now: Int64 = 1_764_000_000
        let halfHour = TimeRange(from: now - 1800, to: now, now: now, minuteRetention: 48 * 3600)
        #expect(halfHour.bucketSeconds == 60 && halfHour.resolution == .minute)
        let day = TimeRange(from: now - 86_400, to: now, now: now, minuteRetention: 48 * 3600)
        #expect(day.bucketSeconds == 900 && day.resolution == .minute)
        let week = TimeRange(from: now - 7 * 86_400, to: now, now: now, minuteRetention: 48 * 3600)
        #expect(week.bucketSeconds == 7200 && week.resolution == .hour)
        let old = TimeRange(from: now - 5 * 86_400, to: now - 5 * 86_400 + 1800, now: now, minuteRetention: 48 * 3600)
        #expect(old.bucketSeconds == 3600 && old.resolution == .hour)
        #expect(TimeRange.seconds(parsing: "30m") == 1800)
        #expect(TimeRange.seconds(parsing: "7d") == 604_800)
        #expect(TimeRange.seconds(parsing: "10s") == nil)
        #expect(TimeRange.seconds(parsing: "abc") == nil)
        #expect(TimeRange.seconds(parsing: "999999999999d") == nil)
    }
}

@Suite struct PasswordHasherTests {
    /// Seconds of scrypt in a debug build: off the cooperative threads, which the suite's collectors need.
    @Test func defaultCostIsScryptN32768AndVerificationIsExact() async throws {
        let (stored, right, wrong, again) = try await CollectorTestSupport.offPool {
            let stored = try PasswordHasher.hash("correct horse")
            return (
                stored, PasswordHasher.verify("correct horse", against: stored),
                PasswordHasher.verify("correct horse ", against: stored), try PasswordHasher.hash("correct horse")
            )
        }
        #expect(stored.hasPrefix("scrypt$32768$8$1$"))
        #expect(right)
        #expect(!wrong)
        #expect(!PasswordHasher.verify("x", against: "scrypt$garbage"))
        #expect(again != stored)
    }
}

@Suite struct StorageConfigurationTests {
    @Test func aPostgresURLAloneSelectsPostgreSQLAndIsNeverShownWithItsPassword() throws {
        let url = "postgres://apm:s3cret@db.internal:5433/apm?sslmode=require"
        let configuration = try CollectorConfiguration.load(file: nil, environment: ["APM_POSTGRES_URL": url])
        #expect(configuration.storage.effectiveBackend == .postgresql)
        #expect(configuration.storageDescription == "postgres://apm:***@db.internal:5433/apm?sslmode=require")
        #expect(try CollectorConfiguration.load(file: nil, environment: [:]).storage.effectiveBackend == .sqlite)

        let store = try PostgresStoreConfiguration(url: url)
        #expect(store.host == "db.internal" && store.port == 5433 && store.database == "apm")
        #expect(store.username == "apm" && store.password == "s3cret" && store.tls == .require)
        #expect(!store.redactedDescription.contains("s3cret"))
    }

    @Test func wrongStorageSettingsNameTheFix() throws {
        func problem(_ environment: [String: String]) -> String {
            do {
                _ = try CollectorConfiguration.load(file: nil, environment: environment)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(problem(["APM_STORAGE": "mysql"]).contains("must be sqlite"))
        #expect(problem(["APM_STORAGE": "postgresql"]).contains("needs postgres_url"))
        #expect(
            problem(["APM_STORAGE": "sqlite", "APM_POSTGRES_URL": "postgres://a@b/c"]).contains(
                "set storage = postgresql"
            )
        )
        let malformed = problem(["APM_POSTGRES_URL": "mysql://root:hunter2@x/y"])
        #expect(malformed.contains("postgres://USER:PASSWORD@HOST"))
        #expect(!malformed.contains("hunter2"))

        for (url, fragment) in [
            ("postgres://host/db", "names no user"), ("postgres://u@host", "names no database"),
            ("postgres://u@host/db?sslmode=verify", "sslmode=verify"),
            ("postgres://u@host/db?timeout=3", "unknown parameter"),
        ] {
            #expect(throws: StoreError.self, "\(url)") { try PostgresStoreConfiguration(url: url) }
            do {
                _ = try PostgresStoreConfiguration(url: url)
            } catch {
                #expect("\(error)".contains(fragment), "\(url): \(error)")
            }
        }
    }
}
