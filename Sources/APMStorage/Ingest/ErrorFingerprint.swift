package import APMCore

/// How error occurrences are grouped: the type, the message with its literals replaced and the top stack frame
/// without addresses, hashed to a stable fingerprint.
package enum ErrorFingerprint {
    /// The message with literals (numbers, ids, quoted strings) replaced, so that "user 42 not found" and
    /// "user 43 not found" are one group.
    package static func normalizedMessage(_ message: String) -> String {
        String(SQLObfuscator.obfuscate(String(message.prefix(1024)), dialect: .generic).prefix(512))
    }

    /// A stack frame without addresses and offsets, which differ between builds and runs.
    package static func normalizedFrame(_ frame: String) -> String {
        frame.split(separator: " ").filter { !$0.hasPrefix("0x") && !$0.allSatisfy(\.isNumber) }.joined(separator: " ")
    }

    /// The innermost in-app frames of a symbolicated stack (at most 5) as `function file`: the file's name
    /// without its directory, and no line or address, which change with every build.
    package static func inAppFrames(_ frames: [StackFrame]) -> [String] {
        frames.filter(\.inApp).prefix(5).map { frame in
            let file = frame.file.split(separator: "/").last.map(String.init) ?? ""
            return file.isEmpty ? frame.function : "\(frame.function) \(file)"
        }
    }

    /// FNV-1a 64 of the parts, hex: stable across processes and backends (unlike `Hasher`).
    package static func fingerprint(_ parts: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            hash ^= 0xff
            hash &*= 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
