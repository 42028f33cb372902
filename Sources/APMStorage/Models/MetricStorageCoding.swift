package import APMCore

extension MetricPoint.Kind {
    /// The small integer every backend stores for the kind (a column of `metric_series`). Stored data depends on
    /// these values: never renumber them.
    package var storageCode: Int16 {
        switch self {
        case .gauge: 0
        case .counter: 1
        case .histogram: 2
        }
    }

    /// The kind a stored code stands for; an unknown code reads as a gauge.
    ///
    /// - Parameter storageCode: A value of ``storageCode``.
    package init(storageCode: Int16) {
        switch storageCode {
        case 1: self = .counter
        case 2: self = .histogram
        default: self = .gauge
        }
    }
}

/// How both backends keep a histogram's bounds and bucket counts: comma-separated text (bounds in Swift's
/// shortest exact form, so that they read back equal).
package enum MetricStorageText {
    package static func text(_ counts: [UInt64]) -> String {
        counts.map(String.init).joined(separator: ",")
    }

    package static func text(_ bounds: [Double]) -> String {
        bounds.map { "\($0)" }.joined(separator: ",")
    }

    package static func counts(_ text: String) -> [UInt64] {
        text.isEmpty ? [] : text.split(separator: ",").map { UInt64($0) ?? 0 }
    }

    package static func bounds(_ text: String) -> [Double] {
        text.isEmpty ? [] : text.split(separator: ",").map { Double($0) ?? 0 }
    }
}
