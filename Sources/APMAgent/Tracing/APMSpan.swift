import APMCore
import Foundation
public import Instrumentation
import Synchronization
public import Tracing

/// A span of the agent's tracer: a transaction, a segment, or (outside transactions) a span that only carries
/// the trace context.
///
/// `@unchecked Sendable`: every mutable field is guarded by `lock`. A spin lock rather than a `Mutex` because
/// `attributes` is modified in place through a `_modify` accessor, which must hold the lock across the yield;
/// with get-then-set every attribute written would copy the whole dictionary.
public final class APMSpan: Tracing.Span, @unchecked Sendable {
    enum Role: Sendable {
        case transaction(TransactionStorage)
        case segment(TransactionStorage, Int32, SegmentRecord?)
        case inert
    }

    let role: Role
    let kind: SpanKind
    private let lock = SpinLock()
    private var name: String
    private var storedAttributes: SpanAttributes = [:]
    private var failed = false
    private var ended = false

    /// The span's context, carrying the agent's trace and span ids.
    public let context: InstrumentationContext

    init(role: Role, operationName: String, kind: SpanKind, context: InstrumentationContext) {
        self.role = role
        self.kind = kind
        self.context = context
        self.name = operationName
        // Room for the few attributes instrumentation sets, so the dictionary does not grow one by one.
        if case .inert = role {} else { storedAttributes.reserveCapacity(4) }
    }

    /// The span's name.
    public var operationName: String {
        get {
            lock.lock()
            defer { lock.unlock() }
            return name
        }
        set {
            lock.lock()
            name = newValue
            lock.unlock()
        }
    }

    /// The span's attributes; read when the span ends to name and classify it.
    public var attributes: SpanAttributes {
        get {
            lock.lock()
            defer { lock.unlock() }
            return storedAttributes
        }
        set {
            lock.lock()
            storedAttributes = newValue
            lock.unlock()
        }
        _modify {
            lock.lock()
            defer { lock.unlock() }
            yield &storedAttributes
        }
    }

    /// Whether the span is recorded.
    public var isRecording: Bool {
        if case .inert = role { return false }
        return true
    }

    /// An error status marks a background transaction or a segment as failed; web transactions are judged by
    /// their HTTP status instead.
    ///
    /// - Parameter status: The status.
    public func setStatus(_ status: SpanStatus) {
        guard status.code == .error else { return }
        lock.lock()
        failed = true
        lock.unlock()
    }

    /// Events are not recorded.
    ///
    /// - Parameter event: Ignored.
    public func addEvent(_ event: SpanEvent) {}

    /// Links are not recorded.
    ///
    /// - Parameter link: Ignored.
    public func addLink(_ link: SpanLink) {}

    /// Records an error: on a transaction span it is noticed (the transaction fails unless its status is
    /// ignored); on a segment span it marks the segment failed.
    ///
    /// - Parameters:
    ///   - error: The error.
    ///   - attributes: Ignored.
    ///   - instant: Ignored.
    public func recordError<Instant: TracerInstant>(
        _ error: any Error,
        attributes: SpanAttributes,
        at instant: @autoclosure () -> Instant
    ) {
        switch role {
        case .transaction(let storage):
            storage.noticeError(error, at: storage.core.clock.now().unixNanoseconds)
        case .segment:
            lock.lock()
            failed = true
            lock.unlock()
        case .inert:
            break
        }
    }

    /// Ends the span; the agent reads its own clock rather than `instant`.
    ///
    /// - Parameter instant: Ignored.
    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        lock.lock()
        guard !ended else {
            lock.unlock()
            return
        }
        ended = true
        let finished = Finished(operationName: name, attributes: storedAttributes, failed: failed)
        lock.unlock()
        switch role {
        case .transaction(let storage):
            endTransaction(storage, finished)
        case .segment(let storage, let index, let overflow):
            endSegment(storage, index: index, overflow: overflow, finished)
        case .inert:
            break
        }
    }

    /// What the span recorded, read once when it ends.
    struct Finished {
        var operationName: String
        var attributes: SpanAttributes
        var failed: Bool
    }

    /// The semantic-convention attributes the agent reads, collected in one pass over the span's attributes.
    static func conventions(_ attributes: SpanAttributes) -> SpanConventions {
        var conventions = SpanConventions()
        // SpanAttributes is not a Sequence: forEach is its only iteration.
        // swift-format-ignore: ReplaceForEachWithForLoop
        attributes.forEach { key, value in
            conventions.read(key, string: { value.stringValue }, integer: { value.intValue })
        }
        return conventions
    }

    private func endTransaction(_ storage: TransactionStorage, _ finished: Finished) {
        let conventions = Self.conventions(finished.attributes)
        let method = conventions.httpMethod ?? ""
        var name =
            kind == .server ? conventions.webTransactionName(spanName: finished.operationName) : finished.operationName
        name = TransactionNameNormalizer.normalize(name.utf8.count > 255 ? String(name.prefix(255)) : name)
        let failed = finished.failed && kind != .server
        let status = conventions.httpStatus
        storage.state.withLock { state in
            if !state.nameIsExplicit { state.name = name }
            if state.method.isEmpty { state.method = method }
            if let status, state.status == 0 { state.status = status }
            if failed { state.failedBySpanStatus = true }
        }
        storage.end()
    }

    private func endSegment(_ storage: TransactionStorage, index: Int32, overflow: SegmentRecord?, _ finished: Finished)
    {
        let conventions = Self.conventions(finished.attributes)
        let segment = conventions.segment(spanName: finished.operationName, isClient: kind == .client)
        var classification = SegmentClassification(operation: finished.operationName, isError: finished.failed)
        classification.category = segment.category
        classification.system = segment.system
        classification.operation = segment.operation
        classification.target = segment.target
        classification.statement = segment.statement
        classification.url = segment.url
        if segment.category == .external, let code = conventions.httpStatus {
            classification.status = Int32(clamping: code)
            if code >= 500 { classification.isError = true }
        }
        storage.endSegment(
            index: index,
            overflow: overflow,
            classification: classification,
            at: storage.core.clock.monotonicNanoseconds()
        )
    }
}

extension SpanAttribute {
    var stringValue: String {
        switch self {
        case .string(let value): value
        case .stringConvertible(let value): value.description
        default: "\(self)"
        }
    }

    var intValue: Int? {
        switch self {
        case .int64(let value): Int(value)
        case .int32(let value): Int(value)
        case .string(let value): Int(value)
        case .double(let value): Int(exactly: value.rounded())
        default: nil
        }
    }
}
