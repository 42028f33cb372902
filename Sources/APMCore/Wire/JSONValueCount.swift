public import Foundation

/// Counts the values (and keys) of a JSON text in one pass, without allocating: a bound on what decoding it will
/// allocate. Foundation's `JSONDecoder` first indexes the whole document, a few machine words per value, so a body
/// of many tiny values (`[1,1,1,...]`, `[{},{},...]`) costs 16 to 24 times its size before any limit of the
/// decoded types can apply; the collector reserves memory for it, or refuses it, from this count.
public enum JSONValueCount {
    /// Bytes the decoder may hold per counted value: its index entries (measured up to 48 bytes per value with
    /// Swift 6.3's `JSONDecoder`) with room for the index array's growth.
    public static let bytesPerValue = 56

    /// The number of separators that start a value or key (`[`, `{`, `,`, `:`) outside strings, plus one for the
    /// root: at least the number of values and keys in a well-formed document.
    ///
    /// - Parameter data: JSON text (malformed text is counted the same way; the decoder rejects it later).
    /// - Returns: The count.
    public static func count(in data: Data) -> Int {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Int in
            var count = 1
            var inString = false
            var escaped = false
            for byte in bytes {
                if inString {
                    if escaped {
                        escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        escaped = true
                    } else if byte == UInt8(ascii: "\"") {
                        inString = false
                    }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":"): count += 1
                default: break
                }
            }
            return count
        }
    }
}
