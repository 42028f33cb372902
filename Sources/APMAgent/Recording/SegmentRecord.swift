import APMCore

/// One segment as stored inside its transaction while it runs. Strings are kept as passed (no formatting, no
/// obfuscation) so that recording costs no allocation; names and obfuscated SQL are built at harvest.
struct SegmentRecord: Sendable {
    var category: SegmentCategory
    /// Datastore system, or the HTTP method of an external.
    var system: String
    /// Datastore operation, the host of an external, or the name of a custom segment.
    var operation: String
    /// Datastore table.
    var target: String
    /// The raw SQL statement.
    var statement: String
    /// The external URL (query string removed when the trace is built).
    var url: String
    /// Index of the parent segment, -1 for a direct child of the transaction.
    var parent: Int32
    var start: UInt64
    /// 0 while the segment runs.
    var end: UInt64 = 0
    /// Time spent in ended child segments, for the exclusive time.
    var childTime: UInt64 = 0
    var status: Int32 = 0
    var isError: Bool = false

    var key: SegmentKey {
        SegmentKey(category: category, system: system, operation: operation, target: target)
    }
}

/// What identifies a segment metric within a transaction.
struct SegmentKey: Hashable, Sendable {
    var category: SegmentCategory
    var system: String
    var operation: String
    var target: String

    static func overflow(_ category: SegmentCategory) -> SegmentKey {
        SegmentKey(category: category, system: "", operation: OverflowName.text, target: "")
    }

    /// `Postgres SELECT users`, `External api.example.com`, or a custom segment's own name.
    var displayName: String {
        SegmentNaming.name(category: category, system: system, operation: operation, target: target)
    }
}

/// An error noticed during a transaction.
struct NoticedError: Sendable {
    var type: String
    var message: String
    var stack: CapturedStack
    var unixNanoseconds: Int64
    /// The app's own grouping key, if it gave one.
    var fingerprint: String? = nil
}

/// What a span's attributes say about its segment, applied when it ends.
struct SegmentClassification {
    var category: SegmentCategory = .custom
    var system = ""
    var operation: String
    var target = ""
    var statement = ""
    var url = ""
    var status: Int32?
    var isError: Bool

    init(operation: String, isError: Bool) {
        self.operation = operation
        self.isError = isError
    }

    func apply(to record: inout SegmentRecord) {
        record.category = category
        record.system = system
        record.operation = operation
        record.target = target
        record.statement = statement
        record.url = url
        if let status { record.status = status }
        if isError { record.isError = true }
    }
}
