import Foundation

/// Finds an executable of this package built alongside the tests, for tests that run the real binaries.
public enum BuiltExecutable {
    /// The executable's path: next to the test bundle, or in `.build/debug` of the package.
    ///
    /// - Parameters:
    ///   - name: The product's name, e.g. `apm`.
    ///   - testFile: The calling test file (`Tests/<target>/<file>`), from which the package root is found.
    /// - Returns: The path, or `nil` when it was not built.
    public static func path(_ name: String, testFile: String = #filePath) -> String? {
        var candidates: [URL] = []
        if let first = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL)
        let root = URL(fileURLWithPath: testFile).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug"))
        return candidates.map { $0.appendingPathComponent(name).path }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}
