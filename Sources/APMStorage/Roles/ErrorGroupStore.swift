/// Errors grouped by fingerprint, their samples and facets, and the issue workflow (resolve, ignore, merge).
public protocol ErrorGroupStore: Sendable {
    /// Error groups seen in a range, with their counts in the range.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    ///   - limit: At most this many.
    ///   - filter: Which groups (states, transaction, first seen).
    ///   - order: The sort.
    /// - Returns: Groups in that order, each with its state and the users it affected.
    func errorGroups(
        appID: Int64,
        range: Range<Int64>,
        limit: Int,
        filter: ErrorGroupFilter,
        order: ErrorGroupOrder
    ) async throws -> [ErrorGroup]

    /// An error group's occurrences counted by transaction, host and user, most first.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - groupID: The group.
    ///   - limit: At most this many values per facet.
    /// - Returns: Facet → counts.
    func errorGroupFacets(appID: Int64, groupID: Int64, limit: Int) async throws -> [ErrorFacetKind: [ErrorFacetCount]]

    /// An error group's latest occurrences kept whole, newest first.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - groupID: The group.
    /// - Returns: At most ``IngestRules/samplesPerIssue`` samples.
    func errorGroupSamples(appID: Int64, groupID: Int64) async throws -> [StoredErrorSample]

    /// Merges error groups into one: their counts per minute, by facet, their samples and their pending
    /// notifications move to `target`, and their fingerprints become aliases of it, so later occurrences count
    /// for `target` too. The merged groups are deleted.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - target: The group that stays.
    ///   - sources: The groups merged into it (the target itself and unknown ids are skipped).
    ///   - user: Who asks.
    ///   - now: When (Unix seconds).
    /// - Returns: The ids merged; `nil` when the app has no group `target`.
    func mergeErrorGroups(
        appID: Int64,
        into target: Int64,
        from sources: [Int64],
        by user: String,
        at now: Double
    ) async throws -> [Int64]?

    /// Changes an error group's state as a user asks (resolve, resolve in the next deployment, ignore, reopen).
    /// Regressions and the end of an ignore are the ingest's: see ``ErrorGroupState``.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - groupID: The group.
    ///   - change: The change.
    ///   - user: Who asks (kept with the state).
    ///   - now: When (Unix seconds).
    /// - Returns: The group's new status, `nil` when the app has no such group.
    func changeErrorGroupState(
        appID: Int64,
        groupID: Int64,
        to change: ErrorGroupStateChange,
        by user: String,
        at now: Double
    ) async throws -> ErrorGroupStatus?

    /// One error group with its all-time count and its state.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - id: The group.
    /// - Returns: The group, `nil` when the app has no such group.
    func errorGroup(appID: Int64, id: Int64) async throws -> ErrorGroup?

    /// Per-minute counts of an error group.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - groupID: The group.
    ///   - range: Unix seconds.
    /// - Returns: Minute → count.
    func errorGroupSeries(appID: Int64, groupID: Int64, range: Range<Int64>) async throws -> [Int64: UInt64]
}

extension ErrorGroupStore {
    /// Error groups seen in a range, in any state.
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - range: Unix seconds.
    ///   - limit: At most this many.
    /// - Returns: Groups, most frequent first.
    public func errorGroups(appID: Int64, range: Range<Int64>, limit: Int) async throws -> [ErrorGroup] {
        try await errorGroups(appID: appID, range: range, limit: limit, filter: ErrorGroupFilter(), order: .count)
    }
}
