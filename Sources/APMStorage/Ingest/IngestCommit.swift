package import APMCore

/// The steps of committing batches, the same on every backend: the backend answers each question in its own
/// transaction (SQLite inside GRDB's synchronous write closure, PostgreSQL awaiting its connection), and this
/// says which questions, in which order, and turns the answers into the ``WritePlan`` it then applies:
///
/// 1. resolve ``appRequests`` (find or create each app, refusing past the app limit with ``resolving(_:)``);
/// 2. look up ``batchKeys`` (idempotency), the names of ``candidateNames(apps:)``, the log volumes of
///    ``logDays(apps:)`` and the metric series of ``metricSeriesKeys(apps:)``;
/// 3. ``plan(apps:storedBatches:names:logsStoredToday:)``, apply the plan, commit.
package struct IngestCommit: Sendable {
    /// The validated batches, in the order their outcomes are returned.
    package let items: [IngestItem]
    /// The caps names are admitted under.
    package let limits: CardinalityLimits

    /// Step 1: the apps the items name, each once, in the order first named, with the agent and time of the
    /// first item naming each (what a new app is created with).
    package let appRequests: [AppRequest]

    /// An app to find or create.
    package struct AppRequest: Sendable {
        /// The account and the app's name.
        package let name: WritePlanner.AppName
        /// The agent of the first item naming it.
        package let agent: AgentIdentity
        /// When that item was received.
        package let receivedAt: Double
    }

    /// Step 2: the (account, batch id) pairs whose earlier commit makes an item a duplicate.
    package var batchKeys: Set<WritePlanner.BatchKey> { WritePlanner.batchKeys(of: items) }

    /// Per item, per metric reading: its attributes as stored (``WritePlanner/attributesJSON(_:)``), made once
    /// for the lookup and the plan.
    package let metricAttributes: [[String]]

    /// Prepares a commit of `items`.
    ///
    /// - Parameters:
    ///   - items: Validated batches.
    ///   - limits: The cardinality caps.
    package init(_ items: [IngestItem], limits: CardinalityLimits) {
        self.items = items
        self.limits = limits
        metricAttributes = items.map { $0.batch.metrics.map { WritePlanner.attributesJSON($0.attributes) } }
        var seen: Set<WritePlanner.AppName> = []
        appRequests = items.compactMap { item in
            let name = Self.appName(of: item)
            guard seen.insert(name).inserted else { return nil }
            return AppRequest(name: name, agent: item.batch.agent, receivedAt: item.receivedAt)
        }
    }

    /// The app an item names.
    package static func appName(of item: IngestItem) -> WritePlanner.AppName {
        WritePlanner.AppName(accountID: item.accountID, name: item.batch.agent.appName)
    }

    /// An app resolved by `find`: the app, or the refusal of a batch whose account has no room for a new app
    /// (the batch is answered, not the whole commit failed); any other error fails the commit.
    package static func resolving(
        _ find: () throws -> StoredApp
    ) throws -> Result<StoredApp, StoreError> {
        do {
            return .success(try find())
        } catch let error as StoreError where error.code == .appLimit {
            return .failure(error)
        }
    }

    /// ``resolving(_:)`` for a backend that awaits.
    package static func awaitResolving(
        _ find: () async throws -> StoredApp
    ) async throws -> Result<StoredApp, StoreError> {
        do {
            return .success(try await find())
        } catch let error as StoreError where error.code == .appLimit {
            return .failure(error)
        }
    }

    /// Per item, in order: its app as resolved.
    ///
    /// - Parameter resolved: Every app of ``appRequests``, resolved.
    /// - Returns: The items' apps.
    package func apps(
        _ resolved: [WritePlanner.AppName: Result<StoredApp, StoreError>]
    ) -> [Result<StoredApp, StoreError>] {
        items.map { item in
            resolved[Self.appName(of: item)]
                ?? .failure(StoreError(.unavailable, "the commit did not resolve app \(item.batch.agent.appName)"))
        }
    }

    /// Per app of the commit: the transaction and segment names its batches carry (a backend may read only these
    /// of the names it has).
    package func candidateNames(
        apps: [Result<StoredApp, StoreError>]
    ) -> [Int64: (transactions: Set<String>, segments: Set<String>)] {
        var ids: [WritePlanner.AppName: Int64] = [:]
        for case .success(let app) in apps {
            ids[WritePlanner.AppName(accountID: app.accountID, name: app.name)] = app.id
        }
        var candidates: [Int64: (transactions: Set<String>, segments: Set<String>)] = [:]
        for (name, names) in WritePlanner.candidateNames(of: items) {
            guard let id = ids[name] else { continue }
            candidates[id] = names
        }
        return candidates
    }

    /// Per app whose batches carry log lines: the day whose stored volume the daily cap counts against (the day
    /// the app's last batch with lines was received).
    package func logDays(apps: [Result<StoredApp, StoreError>]) -> [Int64: Int64] {
        var days: [Int64: Int64] = [:]
        for (item, app) in zip(items, apps) where !item.batch.logs.isEmpty {
            guard case .success(let app) = app else { continue }
            days[app.id] = WritePlanner.logDay(item.receivedAt)
        }
        return days
    }

    /// Per app whose batches carry metric readings: the series they belong to (a backend reads those that exist,
    /// and counts the app's series for the cap).
    package func metricSeriesKeys(apps: [Result<StoredApp, StoreError>]) -> [Int64: Set<MetricSeriesKey>] {
        var keys: [Int64: Set<MetricSeriesKey>] = [:]
        for (index, (item, app)) in zip(items, apps).enumerated() where !item.batch.metrics.isEmpty {
            guard case .success(let app) = app else { continue }
            for (point, attributes) in zip(item.batch.metrics, metricAttributes[index]) {
                keys[app.id, default: []].insert(
                    WritePlanner.metricSeriesKey(point, attributes: attributes, appID: app.id, agent: item.batch.agent)
                )
            }
        }
        return keys
    }

    /// Step 3: the plan from the answers (``WritePlanner`` holds the rules).
    package func plan(
        apps: [Result<StoredApp, StoreError>],
        storedBatches: Set<WritePlanner.BatchKey>,
        names: [Int64: KnownNames],
        logsStoredToday: [Int64: UInt64],
        metricSeries: [MetricSeriesKey: StoredMetricSeries] = [:],
        metricSeriesCounts: [Int64: Int] = [:]
    ) throws -> WritePlan {
        try WritePlanner(limits: limits).plan(
            items,
            metricAttributes: metricAttributes,
            snapshot: WritePlanner.Snapshot(
                apps: apps,
                storedBatches: storedBatches,
                names: names,
                logsStoredToday: logsStoredToday,
                metricSeries: metricSeries,
                metricSeriesCounts: metricSeriesCounts
            )
        )
    }
}
