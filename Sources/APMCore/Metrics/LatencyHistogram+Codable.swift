extension LatencyHistogram: Codable {
    enum CodingKeys: String, CodingKey {
        case firstIndex = "first_index"
        case counts
    }

    /// Decodes `{"first_index": i, "counts": [...]}`, rejecting buckets outside the histogram's range.
    ///
    /// - Parameter decoder: The decoder.
    public init(from decoder: any Decoder) throws {
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

    /// Encodes the dense bucket counts and the index of the first one.
    ///
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(firstIndex, forKey: .firstIndex)
        try container.encode(counts, forKey: .counts)
    }
}
