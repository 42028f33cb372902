import Foundation

extension CodingUserInfoKey {
    /// When `true` in an encoder's `userInfo`, histograms are written in their compact form (a base64 string
    /// of ``LatencyHistogram/encoded()``). ``WireCoding/makeEncoder()`` sets it; other encoders write the
    /// readable object form.
    public static let compactHistograms = CodingUserInfoKey(rawValue: "apm.compactHistograms")!
}

extension LatencyHistogram: Codable {
    enum CodingKeys: String, CodingKey {
        case firstIndex = "first_index"
        case counts
    }

    /// The longest compact form accepted: every bucket's count as a 10-byte varint, in base64.
    static let longestCompactForm = (3 + maximumBucketCount * 10) * 4 / 3 + 4

    /// Decodes either form: the object `{"first_index": i, "counts": [...]}`, or the compact string (base64
    /// of ``encoded()``), which agents send because a JSON array of hundreds of mostly-zero counts costs the
    /// collector far more to decode. Buckets outside the histogram's range and counts that overflow are
    /// rejected in both.
    ///
    /// - Parameter decoder: The decoder.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            guard text.utf8.count <= Self.longestCompactForm, let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(
                    in: single,
                    debugDescription:
                        "a histogram string must be the base64 of its compact form (at most \(Self.longestCompactForm) characters)"
                )
            }
            do {
                // The compact decoder checks the bucket range before allocating; the initializer below checks
                // that the counts do not overflow.
                let parsed = try LatencyHistogram(encoded: data)
                try self.init(firstIndex: parsed.firstIndex, counts: parsed.counts)
            } catch let error as WireFormatError {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: error.message)
            }
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let firstIndex = try container.decode(Int.self, forKey: .firstIndex)
        let counts = try container.decode([UInt64].self, forKey: .counts)
        guard counts.count <= Self.maximumBucketCount else {
            throw DecodingError.dataCorruptedError(
                forKey: .counts,
                in: container,
                debugDescription: "at most \(Self.maximumBucketCount) buckets are allowed, got \(counts.count)"
            )
        }
        do {
            try self.init(firstIndex: firstIndex, counts: counts)
        } catch let error as WireFormatError {
            throw DecodingError.dataCorruptedError(forKey: .counts, in: container, debugDescription: error.message)
        }
    }

    /// Encodes the compact string when the encoder asks for it (``CodingUserInfoKey/compactHistograms``),
    /// otherwise the dense bucket counts and the index of the first one.
    ///
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        if encoder.userInfo[.compactHistograms] as? Bool == true {
            var single = encoder.singleValueContainer()
            try single.encode(encoded().base64EncodedString())
            return
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(firstIndex, forKey: .firstIndex)
        try container.encode(counts, forKey: .counts)
    }
}
