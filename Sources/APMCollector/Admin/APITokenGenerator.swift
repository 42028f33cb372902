import Foundation

/// API tokens: 160 random bits after `apt_`, shown once, stored only as a SHA-256 hash (like license keys, and
/// told apart from them by the prefix).
public enum APITokenGenerator {
    /// What every token starts with.
    public static let prefix = "apt_"

    /// A new token.
    ///
    /// - Returns: `apt_` and 40 hex digits.
    public static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + bytes.map { String(format: "%02x", $0) }.joined()
    }
}
