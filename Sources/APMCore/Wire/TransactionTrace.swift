/// One slow transaction with its segment tree, kept as a sample.
public struct TransactionTrace: Codable, Sendable, Hashable {
    /// The W3C trace id (32 hex digits).
    public var traceID: String
    /// The transaction's name.
    public var transaction: String
    /// Web or background.
    public var kind: TransactionKind
    /// When the transaction started (Unix seconds).
    public var start: Double
    /// How long it took (seconds).
    public var duration: Double
    /// The HTTP status of a web transaction, 0 when none.
    public var status: Int
    /// The HTTP method of a web transaction, empty when none.
    public var method: String
    /// Whether the transaction failed.
    public var isError: Bool
    /// Custom attributes (after `attributes.exclude`).
    public var attributes: [String: String]
    /// Segments in start order; a segment's `parent` is an index into this array.
    public var segments: [TraceSegment]
    /// Segments not kept because the trace reached `transaction_tracer.max_segments`.
    public var droppedSegments: Int

    /// Creates a trace.
    ///
    /// - Parameters:
    ///   - traceID: The W3C trace id.
    ///   - transaction: The transaction name.
    ///   - kind: Web or background.
    ///   - start: Start, Unix seconds.
    ///   - duration: Duration, seconds.
    ///   - status: HTTP status or 0.
    ///   - method: HTTP method or empty.
    ///   - isError: Whether it failed.
    ///   - attributes: Custom attributes.
    ///   - segments: The segment tree.
    ///   - droppedSegments: Segments left out.
    public init(
        traceID: String,
        transaction: String,
        kind: TransactionKind,
        start: Double,
        duration: Double,
        status: Int = 0,
        method: String = "",
        isError: Bool = false,
        attributes: [String: String] = [:],
        segments: [TraceSegment] = [],
        droppedSegments: Int = 0
    ) {
        self.traceID = traceID
        self.transaction = transaction
        self.kind = kind
        self.start = start
        self.duration = duration
        self.status = status
        self.method = method
        self.isError = isError
        self.attributes = attributes
        self.segments = segments
        self.droppedSegments = droppedSegments
    }

    enum CodingKeys: String, CodingKey {
        case traceID = "trace_id"
        case transaction, kind, start, duration, status, method
        case isError = "error"
        case attributes, segments
        case droppedSegments = "dropped_segments"
    }
}

/// One segment of a trace.
public struct TraceSegment: Codable, Sendable, Hashable {
    /// The index of the parent segment in the trace's `segments`, or `nil` for a direct child of the transaction.
    public var parent: Int?
    /// The segment's name, as in ``SegmentMetric/name``.
    public var name: String
    /// Datastore, external or custom.
    public var category: SegmentCategory
    /// Seconds from the transaction's start to the segment's start.
    public var offset: Double
    /// The segment's duration in seconds.
    public var duration: Double
    /// The SQL statement, obfuscated unless `record_sql = raw`; empty when not recorded.
    public var statement: String
    /// For externals: the URL without its query string.
    public var url: String
    /// For externals: the HTTP status, 0 when none.
    public var status: Int
    /// Whether the segment recorded an error.
    public var isError: Bool
    /// Further attributes.
    public var attributes: [String: String]

    /// Creates a trace segment.
    ///
    /// - Parameters:
    ///   - parent: Parent index or `nil`.
    ///   - name: Segment name.
    ///   - category: Category.
    ///   - offset: Start offset from the transaction's start, seconds.
    ///   - duration: Duration, seconds.
    ///   - statement: SQL statement or empty.
    ///   - url: External URL or empty.
    ///   - status: External HTTP status or 0.
    ///   - isError: Whether it failed.
    ///   - attributes: Further attributes.
    public init(
        parent: Int?,
        name: String,
        category: SegmentCategory,
        offset: Double,
        duration: Double,
        statement: String = "",
        url: String = "",
        status: Int = 0,
        isError: Bool = false,
        attributes: [String: String] = [:]
    ) {
        self.parent = parent
        self.name = name
        self.category = category
        self.offset = offset
        self.duration = duration
        self.statement = statement
        self.url = url
        self.status = status
        self.isError = isError
        self.attributes = attributes
    }

    enum CodingKeys: String, CodingKey {
        case parent, name, category, offset, duration, statement, url, status
        case isError = "error"
        case attributes
    }
}

/// One sampled error.
public struct ErrorSample: Codable, Sendable, Hashable {
    /// When it happened (Unix seconds).
    public var timestamp: Double
    /// The transaction it happened in.
    public var transaction: String
    /// The error's type, e.g. `PostgresError` or `HTTP 500`.
    public var type: String
    /// The error's message (empty under `high_security`).
    public var message: String
    /// Stack frames, innermost first, where available.
    public var stack: [String]
    /// The HTTP status of the transaction, 0 when none.
    public var status: Int
    /// The trace id of the transaction.
    public var traceID: String
    /// Custom attributes of the transaction.
    public var attributes: [String: String]
    /// The stack symbolicated (function, file, line, in-app or not), innermost first; `nil` when the platform
    /// gave only `stack`'s text (an agent without Swift's Runtime module, an OpenTelemetry exception).
    public var frames: [StackFrame]?
    /// The app's own grouping key, when it chose one (`noticeError(_:fingerprint:)`): occurrences with the same
    /// fingerprint are one issue whatever their type, message or stack. At most 255 bytes.
    public var fingerprint: String?

    /// Creates an error sample.
    ///
    /// - Parameters:
    ///   - timestamp: Unix seconds.
    ///   - transaction: Transaction name.
    ///   - type: Error type.
    ///   - message: Error message.
    ///   - stack: Stack frames.
    ///   - status: HTTP status or 0.
    ///   - traceID: Trace id.
    ///   - attributes: Attributes.
    ///   - frames: The symbolicated stack.
    ///   - fingerprint: The app's own grouping key.
    public init(
        timestamp: Double,
        transaction: String,
        type: String,
        message: String,
        stack: [String] = [],
        status: Int = 0,
        traceID: String = "",
        attributes: [String: String] = [:],
        frames: [StackFrame]? = nil,
        fingerprint: String? = nil
    ) {
        self.fingerprint = fingerprint
        self.timestamp = timestamp
        self.transaction = transaction
        self.type = type
        self.message = message
        self.stack = stack
        self.status = status
        self.traceID = traceID
        self.attributes = attributes
        self.frames = frames
    }

    enum CodingKeys: String, CodingKey {
        case timestamp, transaction, type, message, stack, status
        case traceID = "trace_id"
        case attributes, frames, fingerprint
    }
}

/// One symbolicated stack frame.
public struct StackFrame: Codable, Sendable, Hashable {
    /// The function, demangled (`OrderService.submit(_:)`), or its address when no symbol was found.
    public var function: String
    /// The source file, empty when unknown.
    public var file: String
    /// The line, 0 when unknown.
    public var line: Int
    /// Whether the frame is the app's own code (not a dependency's, the standard library's or the system's).
    public var inApp: Bool

    /// Creates a frame.
    ///
    /// - Parameters:
    ///   - function: The function.
    ///   - file: The source file.
    ///   - line: The line.
    ///   - inApp: Whether it is the app's own code.
    public init(function: String, file: String, line: Int, inApp: Bool) {
        self.function = function
        self.file = file
        self.line = line
        self.inApp = inApp
    }

    /// `function at file:line`, as the text stack shows it.
    public var text: String {
        file.isEmpty ? function : "\(function) at \(file):\(line)"
    }

    enum CodingKeys: String, CodingKey {
        case function, file, line
        case inApp = "in_app"
    }
}
