public import APMStorage
import Crypto
import Foundation

/// License keys and API tokens: 160 random bits after the kind's prefix (`apm_`, `apt_`), shown once, stored only
/// as a SHA-256 hash; the prefix tells them apart when presented.
///
/// A fast hash is right here (unlike passwords): the secrets are random, so there is nothing to guess.
public enum CredentialGenerator {
    /// A new secret: the kind's prefix and 40 hex digits.
    ///
    /// - Parameter kind: License key or API token.
    /// - Returns: The secret.
    public static func make(_ kind: CredentialKind) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return kind.prefix + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The stored form of a secret (also of a dashboard session's token).
    ///
    /// - Parameter secret: The secret.
    /// - Returns: SHA-256, hex.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The part of a secret shown in listings.
    ///
    /// - Parameter secret: The secret.
    /// - Returns: Its first 8 characters.
    public static func displayPrefix(of secret: String) -> String {
        String(secret.prefix(8))
    }
}
