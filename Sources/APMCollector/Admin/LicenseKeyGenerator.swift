import Crypto
import Foundation

/// License keys: 160 random bits, shown once, stored only as a SHA-256 hash.
///
/// A fast hash is right here (unlike passwords): the keys are random, so there is nothing to guess.
public enum LicenseKeyGenerator {
    /// A new key: `apm_` and 40 hex digits.
    ///
    /// - Returns: The key.
    public static func makeKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "apm_" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The stored form of a key.
    ///
    /// - Parameter key: The key.
    /// - Returns: SHA-256, hex.
    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The part of a key shown in listings.
    ///
    /// - Parameter key: The key.
    /// - Returns: Its first 8 characters.
    public static func prefix(of key: String) -> String {
        String(key.prefix(8))
    }
}
