import APMCore

/// What identifies a transaction metric: the minute, the name and the T its Apdex counts use.
struct TransactionKey: Hashable, Sendable {
    var minute: Int64
    var name: String
    var apdexNanoseconds: UInt64
}

/// What identifies a segment metric: the minute, the transaction and the segment.
struct ScopedSegmentKey: Hashable, Sendable {
    var minute: Int64
    var transaction: String
    var segment: SegmentKey
}

extension SegmentAccumulator {
    /// The wire metric, the statement obfuscated (or not sent) as `record_sql` says, here, off the record path.
    func metric(
        transaction: String,
        key: SegmentKey,
        recordSQL: AgentConfiguration.RecordSQL
    ) -> SegmentMetric {
        var statement: String?
        if !slowestStatement.isEmpty {
            switch recordSQL {
            case .off: statement = nil
            case .obfuscated: statement = SQLObfuscator.obfuscate(slowestStatement, dialect: .forSystem(key.system))
            case .raw: statement = slowestStatement
            }
        }
        return metric(
            transaction: transaction,
            name: key.displayName,
            category: key.category,
            system: key.system,
            operation: key.operation,
            target: key.target,
            statement: statement
        )
    }
}
