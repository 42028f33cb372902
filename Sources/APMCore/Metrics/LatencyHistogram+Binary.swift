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
        self.init()
        try merge(encoded: data)
    }
}

extension LatencyHistogram {
    /// Adds the values of an encoded histogram (the form of ``encoded()``) without decoding it into a
    /// histogram of its own first: range queries merge thousands of stored rows, so this avoids an allocation
    /// per row.
    ///
    /// - Parameter data: An encoded histogram.
    /// - Throws: ``WireFormatError`` when the bytes are not a histogram.
    public mutating func merge(encoded data: Data) throws {
        guard !data.isEmpty else { return }
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var index = 0
            func fail() -> WireFormatError {
                WireFormatError(
                    .malformed,
                    field: "histogram",
                    message:
                        "malformed compact histogram (a version byte 1, the first index, the bucket count and the counts as LEB128 varints, buckets within 0..<\(Self.maximumBucketCount))"
                )
            }
            func next() throws -> UInt64 {
                var result: UInt64 = 0
                var shift: UInt64 = 0
                while true {
                    guard index < bytes.count, shift < 64 else { throw fail() }
                    let byte = bytes[index]
                    index += 1
                    result |= UInt64(byte & 0x7f) << shift
                    if byte & 0x80 == 0 { return result }
                    shift += 7
                }
            }
            guard bytes[0] == 1 else { throw fail() }
            index = 1
            let first = try next()
            let length = try next()
            guard first < UInt64(Self.maximumBucketCount), first + length <= UInt64(Self.maximumBucketCount) else {
                throw fail()
            }
            guard length > 0 else { return }
            let start = Int(first)
            let end = start + Int(length)
            if counts.isEmpty {
                firstIndex = start
                counts = [UInt64](repeating: 0, count: Int(length))
            } else if start < firstIndex || end > firstIndex + counts.count {
                let newFirst = Swift.min(firstIndex, start)
                let newEnd = Swift.max(firstIndex + counts.count, end)
                var grown = [UInt64](repeating: 0, count: newEnd - newFirst)
                for (offset, count) in counts.enumerated() { grown[firstIndex - newFirst + offset] = count }
                counts = grown
                firstIndex = newFirst
            }
            let base = start - firstIndex
            for offset in 0..<Int(length) {
                let count = try next()
                counts[base + offset] &+= count
                totalCount &+= count
            }
        }
        // Keep the invariant that both ends are non-zero, as the initializer does.
        while let last = counts.last, last == 0 { counts.removeLast() }
        var leading = 0
        while leading < counts.count && counts[leading] == 0 { leading += 1 }
        if leading == counts.count {
            counts = []
            firstIndex = 0
        } else if leading > 0 {
            counts.removeFirst(leading)
            firstIndex += leading
        }
    }
}
