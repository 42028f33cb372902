import APMCore
public import Instrumentation
public import Tracing

/// The agent as a swift-distributed-tracing `Tracer`, so instrumented libraries feed it with no extra code:
///
/// - a root span of kind `.server` (Hummingbird's or Vapor's `TracingMiddleware`) is a web transaction, named
///   `METHOD <http.route>`; the raw path is never used as a name;
/// - a root span of another kind (except `.client` and `.producer`) is a background transaction;
/// - a child span with `db.system.name` or `db.system` is a datastore segment, a `.client` child span with an
///   HTTP method (AsyncHTTPClient) is an external segment, any other child span a custom segment;
/// - `traceparent` headers are extracted and injected (W3C trace context).
public struct APMTracer: Tracer {
    /// The span type.
    public typealias Span = APMSpan

    let core: AgentCore?

    init(core: AgentCore?) {
        self.core = core
    }

    /// Starts a span; see the type's documentation for how spans map to transactions and segments.
    ///
    /// The agent times spans with its own monotonic clock; `instant` is not read.
    /// - Parameters:
    ///   - operationName: The span's name.
    ///   - context: The parent context.
    ///   - kind: The span kind.
    ///   - instant: Ignored.
    ///   - function: Ignored.
    ///   - fileID: Ignored.
    ///   - line: Ignored.
    /// - Returns: The span.
    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> APMSpan {
        var context = context()
        guard let core else { return APMSpan(role: .inert, operationName: operationName, kind: kind, context: context) }
        if let parent = context[APMSpanContextKey.self] {
            let storage = parent.storage
            let record = SegmentRecord(
                category: .custom,
                system: "",
                operation: operationName,
                target: "",
                statement: "",
                url: "",
                parent: parent.segmentIndex,
                start: core.clock.monotonicNanoseconds()
            )
            let index = storage.startSegment(record)
            context[APMSpanContextKey.self] = APMSpanContext(storage: storage, spanID: .random(), segmentIndex: index)
            return APMSpan(
                role: .segment(storage, index, index < 0 ? record : nil),
                operationName: operationName,
                kind: kind,
                context: context
            )
        }
        let remote = context[RemoteTraceContextKey.self]
        switch kind {
        case .client, .producer:
            // Outside any transaction: not recorded, but the trace still propagates to the callee.
            context[RemoteTraceContextKey.self] = TraceContext(traceID: remote?.traceID ?? .random(), spanID: .random())
            return APMSpan(role: .inert, operationName: operationName, kind: kind, context: context)
        case .server:
            let storage = core.startTransaction(kind: .web, name: operationName, method: "", traceID: remote?.traceID)
            context[APMSpanContextKey.self] = APMSpanContext(storage: storage, spanID: storage.spanID, segmentIndex: -1)
            return APMSpan(role: .transaction(storage), operationName: operationName, kind: kind, context: context)
        default:
            let name = TransactionNameNormalizer.normalize(operationName)
            let storage = core.startTransaction(kind: .background, name: name, method: "", traceID: remote?.traceID)
            context[APMSpanContextKey.self] = APMSpanContext(storage: storage, spanID: storage.spanID, segmentIndex: -1)
            return APMSpan(role: .transaction(storage), operationName: operationName, kind: kind, context: context)
        }
    }

    /// Asks the agent to harvest and deliver now.
    public func forceFlush() {
        core?.wakeup.signal()
    }

    /// Reads a `traceparent` header into the context.
    ///
    /// - Parameters:
    ///   - carrier: The incoming headers.
    ///   - context: The context to fill.
    ///   - extractor: Reads a header.
    public func extract<Carrier, Extract>(
        _ carrier: Carrier,
        into context: inout InstrumentationContext,
        using extractor: Extract
    )
    where Extract: Extractor, Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier),
            let parsed = TraceContext(traceparent: value)
        else { return }
        context[RemoteTraceContextKey.self] = parsed
    }

    /// Writes a `traceparent` header for the context's active span.
    ///
    /// - Parameters:
    ///   - context: The context.
    ///   - carrier: The outgoing headers.
    ///   - injector: Writes a header.
    public func inject<Carrier, Inject>(
        _ context: InstrumentationContext,
        into carrier: inout Carrier,
        using injector: Inject
    )
    where Inject: Injector, Inject.Carrier == Carrier {
        if let span = context[APMSpanContextKey.self] {
            injector.inject(
                TraceContext(traceID: span.traceID, spanID: span.spanID).traceparent,
                forKey: "traceparent",
                into: &carrier
            )
        } else if let remote = context[RemoteTraceContextKey.self] {
            injector.inject(remote.traceparent, forKey: "traceparent", into: &carrier)
        }
    }
}
