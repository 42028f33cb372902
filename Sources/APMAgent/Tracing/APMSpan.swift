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

    /// The semantic-convention attributes the agent reads, collected in one pass over the span's attributes
    /// (comparing keys instead of hashing one lookup per convention name).
    struct KnownAttributes {
        var httpMethod: String?
        var httpRoute: String?
        var httpStatus: Int?
        var urlPath: String?
        var urlFull: String?
        var serverAddress: String?
        var dbSystem: String?
        var dbStatement: String?
        var dbOperation: String?
        var dbTable: String?

        init(_ attributes: SpanAttributes) {
            // SpanAttributes is not a Sequence: forEach is its only iteration.
            // swift-format-ignore: ReplaceForEachWithForLoop
            attributes.forEach { key, value in
                switch key {
                case "http.request.method", "http.method": httpMethod = httpMethod ?? value.stringValue
                case "http.route": httpRoute = value.stringValue
                case "http.response.status_code", "http.status_code": httpStatus = httpStatus ?? value.intValue
                case "url.path", "http.target": urlPath = urlPath ?? value.stringValue
                case "url.full", "http.url": urlFull = urlFull ?? value.stringValue
                case "server.address", "net.peer.name": serverAddress = serverAddress ?? value.stringValue
                case "db.system.name", "db.system": dbSystem = dbSystem ?? value.stringValue
                case "db.query.text", "db.statement": dbStatement = dbStatement ?? value.stringValue
                case "db.operation.name", "db.operation": dbOperation = dbOperation ?? value.stringValue
                case "db.collection.name", "db.sql.table": dbTable = dbTable ?? value.stringValue
                default: break
                }
            }
        }
    }

    private func endTransaction(_ storage: TransactionStorage, _ finished: Finished) {
        let attributes = KnownAttributes(finished.attributes)
        let method = attributes.httpMethod ?? ""
        var name: String
        if let route = attributes.httpRoute, !route.isEmpty {
            name = method.isEmpty ? route : "\(method) \(route)"
        } else if let path = attributes.urlPath, finished.operationName == path {
            // Never name a transaction by its raw path: that is unbounded cardinality.
            name = method.isEmpty ? "(unrouted)" : "\(method) (unrouted)"
        } else {
            name = finished.operationName
        }
        name = TransactionNameNormalizer.normalize(name.utf8.count > 255 ? String(name.prefix(255)) : name)
        let failed = finished.failed && kind != .server
        let status = attributes.httpStatus
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
        let attributes = KnownAttributes(finished.attributes)
        var classification = SegmentClassification(operation: finished.operationName, isError: finished.failed)
        if let system = attributes.dbSystem {
            let statement = attributes.dbStatement ?? ""
            classification.category = .datastore
            classification.system = system
            classification.statement = statement
            classification.operation =
                attributes.dbOperation
                ?? (statement.isEmpty ? finished.operationName : SQLStatementSummary.operation(of: statement))
            classification.target =
                attributes.dbTable ?? (statement.isEmpty ? "" : SQLStatementSummary.table(of: statement))
        } else if kind == .client, let method = attributes.httpMethod {
            let url = attributes.urlFull ?? ""
            classification.category = .external
            classification.system = method
            classification.url = url
            classification.operation = attributes.serverAddress ?? Self.host(of: url) ?? "unknown"
            if let code = attributes.httpStatus {
                classification.status = Int32(clamping: code)
                if code >= 500 { classification.isError = true }
            }
        }
        storage.endSegment(
            index: index,
            overflow: overflow,
            classification: classification,
            at: storage.core.clock.monotonicNanoseconds()
        )
    }

    static func host(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last ?? authority
        if hostPort.hasPrefix("[") { return hostPort.split(separator: "]").first.map { String($0.dropFirst()) } }
        return hostPort.split(separator: ":").first.map(String.init)
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
