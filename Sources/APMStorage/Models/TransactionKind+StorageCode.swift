package import APMCore

extension TransactionKind {
    /// The small integer every backend stores for the kind (a column of transaction and app rows). Stored data
    /// depends on these values: never renumber them.
    package var storageCode: Int16 { self == .web ? 0 : 1 }

    /// The kind a stored code stands for; an unknown code reads as `background`.
    ///
    /// - Parameter storageCode: A value of ``storageCode``.
    package init(storageCode: Int16) {
        self = storageCode == 0 ? .web : .background
    }
}
