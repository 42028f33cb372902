public import Foundation

/// An OTLP span kept until the rest of its trace has had time to arrive: exporters send a request's spans in
/// whichever export they end up in, so a database span can come before or after its server span. The store
/// keeps the span opaque (the collector's encoding) with what finding its trace needs.
public struct PendingSpan: Sendable, Hashable {
    /// The account that sent it.
    public var accountID: Int64
    /// Lowercase hex trace id.
    public var traceID: String
    /// Lowercase hex span id.
    public var spanID: String
    /// Whether the span is a transaction (server, consumer or root span); the others are its segments.
    public var isTransaction: Bool
    /// When the collector received it (Unix seconds).
    public var receivedAt: Double
    /// The span as the collector encoded it.
    public var payload: Data

    /// Creates a pending span.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - traceID: The trace id.
    ///   - spanID: The span id.
    ///   - isTransaction: Whether it is a transaction.
    ///   - receivedAt: Receipt time.
    ///   - payload: The encoded span.
    public init(
        accountID: Int64,
        traceID: String,
        spanID: String,
        isTransaction: Bool,
        receivedAt: Double,
        payload: Data
    ) {
        self.accountID = accountID
        self.traceID = traceID
        self.spanID = spanID
        self.isTransaction = isTransaction
        self.receivedAt = receivedAt
        self.payload = payload
    }

    /// The span's key.
    public var key: PendingSpanKey { PendingSpanKey(accountID: accountID, traceID: traceID, spanID: spanID) }
}

/// A pending span's identity.
public struct PendingSpanKey: Sendable, Hashable {
    /// The account.
    public var accountID: Int64
    /// The trace id.
    public var traceID: String
    /// The span id.
    public var spanID: String

    /// Creates a key.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - traceID: The trace id.
    ///   - spanID: The span id.
    public init(accountID: Int64, traceID: String, spanID: String) {
        self.accountID = accountID
        self.traceID = traceID
        self.spanID = spanID
    }
}
