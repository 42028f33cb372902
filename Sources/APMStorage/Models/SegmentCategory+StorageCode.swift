package import APMCore

extension SegmentCategory {
    /// The small integer every backend stores for the category (a column of segment rows). Stored data depends
    /// on these values: never renumber them.
    package var storageCode: Int16 {
        switch self {
        case .datastore: 0
        case .external: 1
        case .custom: 2
        }
    }

    /// The category a stored code stands for; an unknown code reads as `custom`.
    ///
    /// - Parameter storageCode: A value of ``storageCode``.
    package init(storageCode: Int16) {
        switch storageCode {
        case 0: self = .datastore
        case 1: self = .external
        default: self = .custom
        }
    }
}
