import APMCore
import Instrumentation
import Synchronization

/// A web request or background job being recorded.
///
/// A value type around the transaction's storage: copying it is free, and when the agent is off it holds
/// nothing and every call is a no-op. End it exactly once with ``end()``; the `with…` functions of
/// ``APMAgent`` do that for you.
public struct Transaction: Sendable {
    let storage: TransactionStorage?
    /// The segment that segments started without a `parent` go under: the innermost span of the agent's
    /// tracer when the transaction was found through ``current`` inside one, else -1 (the transaction).
    let defaultParent: Int32

    init(storage: TransactionStorage?, defaultParent: Int32 = -1) {
        self.storage = storage
        self.defaultParent = defaultParent
    }

    /// A transaction that records nothing.
    public static let disabled = Transaction(storage: nil)

    /// The transaction of the current task, whichever API started it: the agent's `with…Transaction`
    /// functions, or a root span of the agent's tracer (Hummingbird's `TracingMiddleware`). Both keep it in the
    /// task's `InstrumentationContext`, so that segments started here and spans started through
    /// swift-distributed-tracing land in the same transaction, nested under the innermost span.
    public static var current: Transaction? {
        guard let span = InstrumentationContext.current?[APMSpanContextKey.self] else { return nil }
        return Transaction(storage: span.storage, defaultParent: span.segmentIndex)
    }

    /// The context to run a transaction's work in: the current one with this transaction as the active span.
    var instrumentationContext: InstrumentationContext? {
        guard let storage else { return InstrumentationContext.current }
        var context = InstrumentationContext.current ?? .topLevel
        context[APMSpanContextKey.self] = APMSpanContext(storage: storage, spanID: storage.spanID, segmentIndex: -1)
        return context
    }

    /// Whether anything is recorded.
    public var isRecording: Bool { storage != nil }

    /// The W3C trace id, `nil` when not recording.
    public var traceID: TraceID? { storage?.traceID }

    /// The `traceparent` header value for an outgoing request, `nil` when not recording.
    public var traceparent: String? {
        guard let storage else { return nil }
        return "00-\(storage.traceID)-\(storage.spanID)-01"
    }

    /// Names the transaction explicitly; an explicit name wins over one derived from a route.
    ///
    /// - Parameter name: The name; identifiers in it are normalised (`/users/42` → `/users/{id}`).
    public func setName(_ name: String) {
        guard let storage, !name.isEmpty else { return }
        let normalized = TransactionNameNormalizer.normalize(String(name.prefix(255)))
        storage.state.withLock {
            $0.name = normalized
            $0.nameIsExplicit = true
        }
    }

    /// Sets the HTTP response status. A 5xx marks the transaction as failed, unless the status is in
    /// `error_collector.ignore_status_codes`.
    ///
    /// - Parameter status: The HTTP status code.
    public func setStatus(_ status: Int) {
        storage?.state.withLock { $0.status = status }
    }

    /// Adds a custom attribute, shown on traces and error samples. Dropped when excluded by
    /// `attributes.exclude` or under `high_security`.
    ///
    /// - Parameters:
    ///   - name: The attribute's name.
    ///   - value: Its value (truncated to 255 characters).
    public func setAttribute(_ name: String, _ value: String) {
        guard let storage, !storage.core.configuration.isAttributeExcluded(name) else { return }
        storage.state.withLock { state in
            guard state.attributes.count < 64 || state.attributes[name] != nil else { return }
            state.attributes[String(name.prefix(255))] = String(value.prefix(255))
        }
    }

    /// Drops the transaction: nothing of it is recorded (health checks, long polls).
    public func ignore() {
        storage?.state.withLock { $0.ignored = true }
    }

    /// Records an error: its type, message (not under `high_security`) and the stack. The transaction counts as
    /// failed unless the error's type is in `error_collector.ignore_errors` or the response status is ignored.
    ///
    /// - Parameters:
    ///   - error: The error.
    ///   - fingerprint: Your own grouping key: errors noticed with the same fingerprint are one issue on the
    ///     collector, whatever their type, message and stack (e.g. `"payments-timeout"` for every kind of timeout
    ///     of one provider). `nil` groups by type, message and the app's own frames. Cut to 255 bytes of UTF-8.
    public func noticeError(_ error: any Error, fingerprint: String? = nil) {
        guard let storage else { return }
        storage.noticeError(error, fingerprint: fingerprint, at: storage.core.clock.now().unixNanoseconds)
    }

    /// Records an error given by type and message.
    ///
    /// - Parameters:
    ///   - type: The error's type or class.
    ///   - message: The error's message.
    ///   - fingerprint: Your own grouping key (see ``noticeError(_:fingerprint:)``).
    public func noticeError(type: String, message: String, fingerprint: String? = nil) {
        guard let storage, storage.core.configuration.errorCollector.enabled else { return }
        guard !storage.core.configuration.errorCollector.ignoreErrors.contains(type) else { return }
        storage.noticeError(
            type: type,
            message: message,
            stack: StackCapture.current(),
            fingerprint: fingerprint,
            at: storage.core.clock.now().unixNanoseconds
        )
    }

    /// Starts a datastore segment (a database or cache call).
    ///
    /// - Parameters:
    ///   - system: The database system: `postgresql`, `mysql`, `sqlite`, `redis`, ...
    ///   - operation: The operation: `SELECT`, `INSERT`, `GET`; derived from `statement` when empty.
    ///   - table: The table or collection, empty when unknown.
    ///   - statement: The statement; stored obfuscated in traces unless `record_sql` says otherwise.
    ///   - parent: The enclosing segment, `nil` for a direct child of the transaction.
    /// - Returns: The segment; end it with ``Segment/end()``.
    public func startDatastoreSegment(
        system: String,
        operation: String = "",
        table: String = "",
        statement: String = "",
        parent: Segment? = nil
    ) -> Segment {
        guard let storage else { return .disabled }
        let operation = operation.isEmpty ? SQLStatementSummary.operation(of: statement) : operation
        let table = table.isEmpty && !statement.isEmpty ? SQLStatementSummary.table(of: statement) : table
        return startSegment(
            storage,
            SegmentRecord(
                category: .datastore,
                system: system,
                operation: operation,
                target: table,
                statement: statement,
                url: "",
                parent: parent?.index ?? defaultParent,
                start: 0
            )
        )
    }

    /// Starts an external segment (an outgoing HTTP call).
    ///
    /// - Parameters:
    ///   - host: The host called.
    ///   - method: The HTTP method.
    ///   - url: The URL; the query string is never stored.
    ///   - parent: The enclosing segment, `nil` for a direct child of the transaction.
    /// - Returns: The segment; end it with ``Segment/end(status:)``.
    public func startExternalSegment(
        host: String,
        method: String = "GET",
        url: String = "",
        parent: Segment? = nil
    ) -> Segment {
        guard let storage else { return .disabled }
        return startSegment(
            storage,
            SegmentRecord(
                category: .external,
                system: method,
                operation: host,
                target: "",
                statement: "",
                url: url,
                parent: parent?.index ?? defaultParent,
                start: 0
            )
        )
    }

    /// Starts a custom segment timing a block of the app's own code.
    ///
    /// - Parameters:
    ///   - name: The segment's name, e.g. `render invoice`.
    ///   - parent: The enclosing segment, `nil` for a direct child of the transaction.
    /// - Returns: The segment; end it with ``Segment/end()``.
    public func startSegment(_ name: String, parent: Segment? = nil) -> Segment {
        guard let storage else { return .disabled }
        return startSegment(
            storage,
            SegmentRecord(
                category: .custom,
                system: "",
                operation: name,
                target: "",
                statement: "",
                url: "",
                parent: parent?.index ?? defaultParent,
                start: 0
            )
        )
    }

    private func startSegment(_ storage: TransactionStorage, _ record: SegmentRecord) -> Segment {
        var record = record
        record.start = storage.core.clock.monotonicNanoseconds()
        let index = storage.startSegment(record)
        return Segment(storage: storage, index: index, overflow: index < 0 ? record : nil)
    }

    /// Ends the transaction and hands it to aggregation. Later calls do nothing.
    public func end() {
        storage?.end()
    }
}

/// A timed part of a transaction: a database call, an external call or a custom block.
public struct Segment: Sendable {
    let storage: TransactionStorage?
    let index: Int32
    /// For a segment past the per-transaction storage cap: its record, aggregated when it ends.
    let overflow: SegmentRecord?

    /// A segment that records nothing.
    public static let disabled = Segment(storage: nil, index: -1, overflow: nil)

    /// Whether anything is recorded.
    public var isRecording: Bool { storage != nil }

    /// The transaction the segment belongs to.
    public var transaction: Transaction { Transaction(storage: storage) }

    /// Marks the segment as failed (the transaction is not failed by this alone).
    public func markFailed() {
        storage?.updateSegment(index: index) { $0.isError = true }
    }

    /// Records the HTTP status an external call received (a 5xx marks the segment failed), for a segment ended
    /// later, e.g. by ``Transaction/withExternalSegment(host:method:url:parent:isolation:_:)``.
    ///
    /// - Parameter status: The status.
    public func setStatus(_ status: Int) {
        storage?.updateSegment(index: index) { record in
            record.status = Int32(clamping: status)
            if status >= 500 { record.isError = true }
        }
    }

    /// Ends the segment. Later calls do nothing.
    ///
    /// - Parameter status: For an external segment, the HTTP status received; a 5xx marks the segment failed.
    public func end(status: Int? = nil) {
        guard let storage else { return }
        let now = storage.core.clock.monotonicNanoseconds()
        storage.endSegment(
            index: index,
            overflow: overflow,
            at: now,
            status: status.map { Int32(clamping: $0) },
            isError: (status ?? 0) >= 500
        )
    }

    /// Starts a child datastore segment. See ``Transaction/startDatastoreSegment(system:operation:table:statement:parent:)``.
    ///
    /// - Parameters:
    ///   - system: The database system.
    ///   - operation: The operation.
    ///   - table: The table.
    ///   - statement: The statement.
    /// - Returns: The child segment.
    public func startDatastoreSegment(
        system: String,
        operation: String = "",
        table: String = "",
        statement: String = ""
    ) -> Segment {
        transaction.startDatastoreSegment(
            system: system,
            operation: operation,
            table: table,
            statement: statement,
            parent: self
        )
    }

    /// Starts a child external segment. See ``Transaction/startExternalSegment(host:method:url:parent:)``.
    ///
    /// - Parameters:
    ///   - host: The host.
    ///   - method: The HTTP method.
    ///   - url: The URL.
    /// - Returns: The child segment.
    public func startExternalSegment(host: String, method: String = "GET", url: String = "") -> Segment {
        transaction.startExternalSegment(host: host, method: method, url: url, parent: self)
    }

    /// Starts a child custom segment.
    ///
    /// - Parameter name: The segment's name.
    /// - Returns: The child segment.
    public func startSegment(_ name: String) -> Segment {
        transaction.startSegment(name, parent: self)
    }
}
