import APMCore
public import APMStorage

/// Process metrics of an app.
public struct ProcessMetricsResponse: Codable, Sendable {
    /// Resources per minute.
    public var samples: [ProcessSlice]
    /// Start, exit and crash events.
    public var events: [StoredProcessEvent]

    /// Creates a response.
    ///
    /// - Parameters:
    ///   - samples: Samples.
    ///   - events: Events.
    public init(samples: [ProcessSlice], events: [StoredProcessEvent]) {
        self.samples = samples
        self.events = events
    }
}
