public import APMCore

/// The stored figures: minute and hour slices, totals, Apdex sources, segments, traces, deployments and drop counters.
public protocol FigureStore: Sendable {
    /// App-level slices per bucket, summed over transactions of a kind.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - kind: Web or background.
    ///   - range: Unix seconds, start inclusive, end exclusive.
    ///   - resolution: Minute or hour rows.
    /// - Returns: Slices by bucket.
    func appSlices(
        appID: Int64,
        kind: TransactionKind,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [TransactionSlice]

    /// Per-bucket slices of one transaction.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - name: The transaction name.
    ///   - range: Unix seconds.
    ///   - resolution: Minute or hour rows.
    /// - Returns: Slices by bucket.
    func transactionSlices(
        appID: Int64,
        name: String,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [TransactionSlice]

    /// Totals per transaction name over a range (bucket = range start).
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    ///   - resolution: Minute or hour rows.
    ///   - withHistograms: Whether to merge histograms (costlier).
    /// - Returns: One slice per name.
    func transactionTotals(
        appID: Int64,
        range: Range<Int64>,
        resolution: SliceResolution,
        withHistograms: Bool
    ) async throws -> [TransactionSlice]

    /// The transaction rows (web ones for the app, or one transaction's) whose Apdex counts were classified at
    /// another T than the one in force now for their transaction: its override, else the app's T.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction, or `nil` for the app's web transactions (all, with `background`).
    ///   - range: Bucket range.
    ///   - resolution: Minute or hour rows.
    ///   - background: With no transaction: background transactions' rows too.
    /// - Returns: The rows, usually none.
    func apdexRowsAtOtherT(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        resolution: SliceResolution,
        background: Bool
    ) async throws -> [ApdexRowAtOtherT]

    /// The stored rows behind Apdex for a range: exact counts with their T, and histograms.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction, or `nil` for the app's web transactions.
    ///   - range: Unix seconds.
    ///   - resolution: Minute or hour rows.
    /// - Returns: Rows grouped by T.
    func apdexSources(
        appID: Int64,
        transaction: String?,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [ApdexSourceRow]

    /// Segment totals over a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction, or `nil` to sum over transactions.
    ///   - category: One category, or `nil` for all.
    ///   - range: Unix seconds.
    ///   - resolution: Minute or hour rows.
    /// - Returns: One slice per segment name (and transaction, when given).
    func segmentTotals(
        appID: Int64,
        transaction: String?,
        category: SegmentCategory?,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice]

    /// The totals of each segment of a category per calling transaction: who calls a statement or a host, and
    /// how much of its time each caller accounts for.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - category: The category.
    ///   - range: Unix seconds.
    ///   - resolution: Minute or hour rows.
    /// - Returns: One slice per (transaction, segment name), `bucket` the range's start, most time first.
    func segmentCallers(
        appID: Int64,
        category: SegmentCategory,
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice]

    /// Per-bucket figures of a few segments of the app, with one query.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - names: Segment names.
    ///   - range: Unix seconds.
    ///   - resolution: Minute or hour rows.
    /// - Returns: Slices by bucket and segment name (summed over transactions), in bucket order.
    func segmentSeries(
        appID: Int64,
        names: [String],
        range: Range<Int64>,
        resolution: SliceResolution
    ) async throws -> [SegmentSlice]

    /// The slowest traces in a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: One transaction, or `nil`.
    ///   - range: Unix seconds.
    ///   - limit: At most this many.
    /// - Returns: Traces, slowest first.
    func traces(appID: Int64, transaction: String?, range: Range<Int64>, limit: Int) async throws -> [StoredTrace]

    /// One trace.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - id: The trace's row id.
    /// - Returns: The trace or `nil`.
    func trace(appID: Int64, id: Int64) async throws -> StoredTrace?

    /// The row ids of the kept traces with these trace ids (the latest kept of each), for links from log lines
    /// and error samples to their trace.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - traceIDs: Trace ids (lowercase hex); at most 1,000 are looked up.
    /// - Returns: Trace id → row id, for those kept.
    func traceRowIDs(appID: Int64, traceIDs: Set<String>) async throws -> [String: Int64]

    /// Records a deployment.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - at: When (Unix seconds).
    ///   - revision: The revision.
    ///   - description: A description.
    ///   - user: Who.
    /// - Returns: The deployment.
    func recordDeployment(
        appID: Int64,
        at: Double,
        revision: String,
        description: String,
        user: String
    ) async throws -> Deployment

    /// Deployments in a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    /// - Returns: Deployments by time.
    func deployments(appID: Int64, range: Range<Int64>) async throws -> [Deployment]

    /// What the app's agents dropped in a range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    /// - Returns: Summed counters.
    func droppedCounts(appID: Int64, range: Range<Int64>) async throws -> DropCounters
}
