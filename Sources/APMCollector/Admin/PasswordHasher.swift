import Crypto
import Dispatch
import Foundation
import _CryptoExtras

/// Dashboard passwords: scrypt (N = 2^15, r = 8, p = 1, 32-byte output) with a random 16-byte salt, stored as
/// `scrypt$N$r$p$<salt hex>$<hash hex>`; verified in constant time.
public enum PasswordHasher {
    /// The default cost: N = 2^15 (32 MiB and tens of milliseconds per hash in a release build).
    public static let defaultCost = 15
    static let blockSize = 8
    static let parallelism = 1

    /// A random password of 20 letters and digits (about 119 bits).
    ///
    /// - Returns: The password.
    public static func makePassword() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// Hashes a password.
    ///
    /// - Parameters:
    ///   - password: The password.
    ///   - cost: log2 of scrypt's N (10 to 20).
    /// - Returns: The stored form.
    /// - Throws: When the KDF fails.
    public static func hash(_ password: String, cost: Int = defaultCost) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let rounds = 1 << min(max(cost, 10), 20)
        let key = try derive(password, salt: salt, rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        return "scrypt$\(rounds)$\(blockSize)$\(parallelism)$\(hex(salt))$\(hex(key))"
    }

    /// Hashing is deliberately slow (tens of milliseconds, a second in debug builds): it runs on a thread of its
    /// own, never on the Swift concurrency pool, where it would stall every other request. (Not on a dispatch
    /// queue either: on Linux those share the pool's threads, so a busy server starved the hash, and the request
    /// waiting for it, for seconds.) One at a time, which also bounds what a flood of sign-in attempts can cost
    /// (scrypt at the default cost takes 32 MiB).
    private static let oneAtATime = DispatchSemaphore(value: 1)

    private static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                oneAtATime.wait()
                let result = work()
                oneAtATime.signal()
                continuation.resume(returning: result)
            }
        }
    }

    /// ``hash(_:cost:)`` off the concurrency pool.
    ///
    /// - Parameters:
    ///   - password: The password.
    ///   - cost: log2 of scrypt's N.
    /// - Returns: The stored form.
    /// - Throws: When the KDF fails.
    public static func hashInBackground(_ password: String, cost: Int = defaultCost) async throws -> String {
        try await offPool { Result { try hash(password, cost: cost) } }.get()
    }

    /// ``verify(_:against:)`` off the concurrency pool.
    ///
    /// - Parameters:
    ///   - password: The password tried.
    ///   - stored: The stored form.
    /// - Returns: Whether it matches.
    public static func verifyInBackground(_ password: String, against stored: String) async -> Bool {
        await offPool { verify(password, against: stored) }
    }

    /// A stored form no password matches, with the parameters of `cost`: checking a password against it takes the
    /// same work as against a real hash, so that signing in as an unknown user takes as long as a known one.
    ///
    /// - Parameter cost: log2 of scrypt's N, as for real hashes.
    /// - Returns: The stored form.
    public static func unmatchableHash(cost: Int) -> String {
        "scrypt$\(1 << cost)$8$1$\(String(repeating: "00", count: 16))$\(String(repeating: "00", count: 32))"
    }

    /// Checks a password against a stored hash.
    ///
    /// - Parameters:
    ///   - password: The password tried.
    ///   - stored: The stored form.
    /// - Returns: Whether it matches.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$")
        guard parts.count == 6, parts[0] == "scrypt", let rounds = Int(parts[1]), let blockSize = Int(parts[2]),
            let parallelism = Int(parts[3]), let salt = bytes(parts[4]), let expected = bytes(parts[5]),
            rounds <= 1 << 20, blockSize <= 16, parallelism <= 4,
            let key = try? derive(password, salt: salt, rounds: rounds, blockSize: blockSize, parallelism: parallelism),
            key.count == expected.count
        else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(key, expected) { difference |= a ^ b }
        return difference == 0
    }

    private static func derive(
        _ password: String,
        salt: [UInt8],
        rounds: Int,
        blockSize: Int,
        parallelism: Int
    ) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Data(password.utf8),
            salt: salt,
            outputByteCount: 32,
            rounds: rounds,
            blockSize: blockSize,
            parallelism: parallelism
        )
        return key.withUnsafeBytes { Array($0) }
    }

    private static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private static func bytes(_ hex: Substring) -> [UInt8]? {
        guard hex.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            result.append(byte)
            index = next
        }
        return result
    }
}
