import APMCore
import APMStorage
import Foundation
import GRDB

/// SQL functions over stored histograms, so that upserts and range queries merge them inside SQLite:
/// `hist_merge(a, b)` merges two histograms, `hist_sum(h)` is an aggregate merging a column.
enum HistogramFunctions {
    static let merge = DatabaseFunction("hist_merge", argumentCount: 2, pure: true) { values in
        var merged = try histogram(values[0])
        if let data = Data.fromDatabaseValue(values[1]) { try merged.merge(encoded: data) }
        return merged.encoded()
    }

    static let sum = DatabaseFunction("hist_sum", argumentCount: 1, pure: true, aggregate: HistogramSum.self)

    struct HistogramSum: DatabaseAggregate {
        var merged = LatencyHistogram()

        mutating func step(_ dbValues: [DatabaseValue]) throws {
            guard let data = Data.fromDatabaseValue(dbValues[0]) else { return }
            try merged.merge(encoded: data)
        }

        func finalize() throws -> (any DatabaseValueConvertible)? {
            merged.encoded()
        }
    }

    static func histogram(_ value: DatabaseValue) throws -> LatencyHistogram {
        guard let data = Data.fromDatabaseValue(value) else { return LatencyHistogram() }
        return try LatencyHistogram(encoded: data)
    }

    static func register(in db: Database) {
        db.add(function: merge)
        db.add(function: sum)
    }
}
