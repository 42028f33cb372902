import Foundation
import Testing

/// An app that adds only the agent (with the default `Collector` trait off, as the README says) resolves only the
/// agent's dependencies: before the traits, 27 packages (≈ 211 MB of checkouts: Hummingbird, GRDB, NIO SSL, ...).
@Suite struct AgentDependenciesTests {
    @Test func anAppWithOnlyTheAgentResolvesOnlyTheAgentsDependencies() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let expected = try String(
            contentsOf: root.appendingPathComponent("Tests/resolved-agent-dependencies.txt"),
            encoding: .utf8
        ).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let consumer = FileManager.default.temporaryDirectory.appendingPathComponent("apm-agent-only-\(UUID())")
        try FileManager.default.createDirectory(
            at: consumer.appendingPathComponent("Sources/App"),
            withIntermediateDirectories: true
        )
        defer { try? FileManager.default.removeItem(at: consumer) }
        let manifest = """
            // swift-tools-version:6.1
            import PackageDescription

            let package = Package(
                name: "agent-only",
                platforms: [.macOS(.v15)],
                dependencies: [.package(path: \(String(reflecting: root.path)), traits: [])],
                targets: [
                    .executableTarget(
                        name: "App",
                        dependencies: [.product(name: "APMAgent", package: \(String(reflecting: root.lastPathComponent)))]
                    )
                ]
            )
            """
        try manifest.write(to: consumer.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        try "import APMAgent\nprint(APMAgent.version)\n".write(
            to: consumer.appendingPathComponent("Sources/App/main.swift"),
            atomically: true,
            encoding: .utf8
        )
        let result = try await CLI.runTool(
            "/usr/bin/env",
            ["swift", "package", "--package-path", consumer.path, "resolve"],
            in: consumer.path
        )
        #expect(result.status == 0, "\(result.stderr)")
        struct Resolved: Decodable {
            struct Pin: Decodable { var identity: String }
            var pins: [Pin]
        }
        let resolved = try JSONDecoder().decode(
            Resolved.self,
            from: Data(contentsOf: consumer.appendingPathComponent("Package.resolved"))
        )
        let identities = resolved.pins.map(\.identity).sorted()
        #expect(
            identities == expected,
            "the agent now resolves \(identities); if that is meant, update Tests/resolved-agent-dependencies.txt"
        )
    }

    /// Before: on a Debian without libcurl's headers the build stopped deep inside with `curl/curl.h: file not
    /// found`. Declared as a system library with pkg-config and an apt provider, SwiftPM names the package to install.
    @Test func libcurlIsASystemLibraryWithItsAptPackage() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        // Its own scratch path: `swift test` holds the lock on this package's .build while this runs.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("apm-dump-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try await CLI.runTool(
            "/usr/bin/env",
            ["swift", "package", "--package-path", root.path, "--scratch-path", scratch.path, "dump-package"],
            in: root.path
        )
        #expect(result.status == 0, "\(result.stderr)")
        struct Manifest: Decodable {
            struct Target: Decodable {
                var name: String
                var type: String
                var pkgConfig: String?
                var providers: [[String: [[String]]]]?
            }
            var targets: [Target]
        }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(result.stdout.utf8))
        let libcurl = try #require(manifest.targets.first { $0.name == "CAPMLibcurl" })
        #expect(libcurl.type == "system")
        #expect(libcurl.pkgConfig == "libcurl")
        #expect(libcurl.providers?.first?["apt"]?.first == ["libcurl4-openssl-dev"])
    }
}
