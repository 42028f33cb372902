/// Retention, leases for periodic jobs, health and statistics, and the store's end.
public protocol MaintenanceStore: Sendable {
    /// The store's error for an error one of its operations threw, when the caller can act on it (a full disk, a
    /// damaged file, an I/O error): the HTTP layer answers 507 or 503 with its message instead of a bare 500.
    ///
    /// - Parameter error: What an operation threw.
    /// - Returns: The ``StoreError``, or `nil` for any other error.
    func storeError(for error: any Error) -> StoreError?

    /// Deletes minute rows older than `minuteCutoff` (hours keep their totals) and everything else older than
    /// `cutoff`.
    ///
    /// - Parameters:
    ///   - minuteCutoff: Unix seconds; minute rows before it are deleted.
    ///   - cutoff: Unix seconds; hour rows, traces, error groups and deployments before it are deleted.
    ///   - batchIDCutoff: Unix seconds; batch ids received before it are forgotten.
    /// - Returns: What was deleted.
    func applyRetention(minuteCutoff: Int64, cutoff: Int64, batchIDCutoff: Int64) async throws -> RetentionReport

    /// Takes or renews a lease: periodic jobs (retention, settling OTLP spans) run on one collector at a time,
    /// the one holding their lease, and move to another when it stops renewing.
    ///
    /// - Parameters:
    ///   - name: The job, e.g. `retention`.
    ///   - holder: The collector (an id of its process).
    ///   - seconds: How long the lease lasts unless renewed.
    ///   - now: Unix seconds.
    /// - Returns: Whether `holder` holds the lease now.
    func holdLease(_ name: String, holder: String, seconds: Double, now: Double) async throws -> Bool

    /// What is wrong with the store now (cannot read, disk nearly full), for `/healthz`.
    ///
    /// - Returns: Problems, each a sentence; empty when healthy.
    func problems() async -> [String]

    /// Row counts and file size.
    ///
    /// - Returns: Statistics.
    func statistics() async throws -> StoreStatistics

    /// Makes everything durable in the store's own files (SQLite: checkpoints the write-ahead log) and closes it.
    func close() async throws
}
