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
}
