/// The durable commit of validated batches, by the rules of ``WritePlanner``.
public protocol IngestStore: Sendable {
    /// Commits batches in one durable transaction. A batch whose id was committed before is not counted again.
    ///
    /// - Parameters:
    ///   - items: Validated batches.
    ///   - limits: The cardinality caps.
    /// - Returns: One outcome per item, in order.
    func commit(_ items: [IngestItem], limits: CardinalityLimits) async throws -> [IngestOutcome]
}
