import APMStorage
import GRDB

/// Integer sums that saturate at `Int64.max` instead of turning into a REAL, as SQLite's `+` does on overflow
/// (and `SUM` fails): `sat_add(a, b)` for upserts and `sat_sum(x)` for range queries. Accepted counts are
/// bounded (10^12 each), so saturation is a guard against hostile input, not something real data reaches.
enum SaturatingFunctions {
    static let add = DatabaseFunction("sat_add", argumentCount: 2, pure: true) { values in
        saturatingSum(integer(values[0]), integer(values[1]))
    }

    static let sum = DatabaseFunction("sat_sum", argumentCount: 1, pure: true, aggregate: SaturatingSum.self)

    struct SaturatingSum: DatabaseAggregate {
        var total: Int64?

        mutating func step(_ dbValues: [DatabaseValue]) throws {
            guard !dbValues[0].isNull else { return }
            total = saturatingSum(total ?? 0, integer(dbValues[0]))
        }

        func finalize() throws -> (any DatabaseValueConvertible)? { total }
    }

    /// A column's value as an integer: a REAL (left by an overflow before these functions existed) clamps.
    static func integer(_ value: DatabaseValue) -> Int64 {
        switch value.storage {
        case .int64(let integer): integer
        case .double(let double): double.isNaN ? 0 : Int64(clamping: double)
        default: 0
        }
    }

    static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return sum }
        return b > 0 ? .max : .min
    }

    static func register(in db: Database) {
        db.add(function: add)
        db.add(function: sum)
    }
}

extension Int64 {
    /// The nearest `Int64` to a double, saturating at the ends (the standard library's `Int64(_:)` traps).
    init(clamping double: Double) {
        if double >= 9.223_372_036_854_775_807e18 {
            self = .max
        } else if double <= -9.223_372_036_854_775_808e18 {
            self = .min
        } else {
            self = Int64(double)
        }
    }
}
