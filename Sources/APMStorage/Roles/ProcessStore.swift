public import APMCore

/// Process samples and events from `apm run-program`.
public protocol ProcessStore: Sendable {
    /// Stores process samples and events from `apm run-program`; the app appears if it is new.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - report: The validated report.
    ///   - receivedAt: Receipt time.
    ///   - maxApps: Apps per account; a report for one more app throws ``StoreError`` (`appLimit`).
    /// - Returns: The app's id, and whether the report (by its ``ProcessReport/reportID``) was stored before and
    ///   was not counted again.
    func recordProcess(
        accountID: Int64,
        report: ProcessReport,
        receivedAt: Double,
        maxApps: Int
    ) async throws -> (appID: Int64, duplicate: Bool)

    /// Process resources per minute.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    /// - Returns: Slices by minute.
    func processSlices(appID: Int64, range: Range<Int64>) async throws -> [ProcessSlice]

    /// Process events in a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    /// - Returns: Events by time.
    func processEvents(appID: Int64, range: Range<Int64>) async throws -> [StoredProcessEvent]
}
