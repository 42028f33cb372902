public import Foundation

extension LatencyHistogram {
    /// A compact binary form for storage: a version byte, the first index and the bucket count as unsigned
    /// LEB128 varints, then each count as a varint. A typical minute's histogram takes a few hundred bytes.
    ///
    /// - Returns: The encoded bytes.
    public func encoded() -> Data {
        var bytes: [UInt8] = [1]
        bytes.reserveCapacity(4 + counts.count * 2)
        func put(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            bytes.append(UInt8(value))
        }
        put(UInt64(firstIndex))
        put(UInt64(counts.count))
        for count in counts { put(count) }
        return Data(bytes)
    }

    /// Decodes the form written by ``encoded()``.
    ///
    /// - Parameter data: The bytes.
    /// - Throws: ``WireFormatError`` when the bytes are not a histogram.
    public init(encoded data: Data) throws {
        guard !data.isEmpty else {
            self.init()
            return
        }
        var index = data.startIndex
        func fail() -> WireFormatError {
            WireFormatError(.malformed, field: "histogram", message: "corrupt stored histogram")
        }
        func next() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < data.endIndex, shift < 64 else { throw fail() }
                let byte = data[index]
                index += 1
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        guard data[index] == 1 else { throw fail() }
        index += 1
        let first = try next()
        let length = try next()
        guard first < UInt64(Self.maximumBucketCount), length <= UInt64(Self.maximumBucketCount) else { throw fail() }
        var counts: [UInt64] = []
        counts.reserveCapacity(Int(length))
        for _ in 0..<length { counts.append(try next()) }
        try self.init(firstIndex: Int(first), counts: counts)
    }
}
