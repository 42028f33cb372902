/// What the retention job did.
public struct RetentionReport: Sendable, Hashable {
    /// Minute rows deleted (they are already in the hour tables).
    public var minuteRowsDeleted: Int
    /// Hour rows deleted.
    public var hourRowsDeleted: Int
    /// Traces, error groups, deployments and batch ids deleted.
    public var otherRowsDeleted: Int
    /// Log lines deleted (``LogStore/applyLogRetention(cutoff:)``).
    public var logRecordsDeleted = 0

    /// Creates a report.
    ///
    /// - Parameters:
    ///   - minuteRowsDeleted: Minute rows.
    ///   - hourRowsDeleted: Hour rows.
    ///   - otherRowsDeleted: Other rows.
    public init(minuteRowsDeleted: Int, hourRowsDeleted: Int, otherRowsDeleted: Int) {
        self.minuteRowsDeleted = minuteRowsDeleted
        self.hourRowsDeleted = hourRowsDeleted
        self.otherRowsDeleted = otherRowsDeleted
    }
}

/// Figures about the store for `/metrics`.
public struct StoreStatistics: Sendable, Hashable {
    /// Rows per table.
    public var rows: [String: Int]
    /// Bytes on disk (database plus write-ahead log).
    public var fileSize: Int64

    /// Creates statistics.
    ///
    /// - Parameters:
    ///   - rows: Rows per table.
    ///   - fileSize: Bytes on disk.
    public init(rows: [String: Int], fileSize: Int64) {
        self.rows = rows
        self.fileSize = fileSize
    }
}
