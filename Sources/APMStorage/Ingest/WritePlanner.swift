import APMCore
import Foundation

/// Turns validated batches into one ``WritePlan``: duplicates skipped (per account and batch id), names admitted
/// under the app's caps or renamed `(overflow)`, rows accumulated per minute and hour, errors grouped by
/// fingerprint. Every backend applies the plan it computes; none of these rules is written in a store.
package struct WritePlanner {
    /// What the store read in the commit's transaction before planning.
    package struct Snapshot: Sendable {
        /// Per item, in order: its app, or why the batch was refused (nothing of it is written).
        package var apps: [Result<StoredApp, StoreError>]
        /// (account, batch id) pairs committed before.
        package var storedBatches: Set<BatchKey>
        /// Per app of the items: the names it has under its caps.
        package var names: [Int64: KnownNames]
        /// Per app of the items: the log records stored today (the day of ``logDay(_:)``), for the daily cap.
        package var logsStoredToday: [Int64: UInt64]
        /// The stored series the items' readings belong to (those that exist).
        package var metricSeries: [MetricSeriesKey: StoredMetricSeries]
        /// Per app of the items with readings: how many series it has.
        package var metricSeriesCounts: [Int64: Int]

        package init(
            apps: [Result<StoredApp, StoreError>],
            storedBatches: Set<BatchKey>,
            names: [Int64: KnownNames],
            logsStoredToday: [Int64: UInt64] = [:],
            metricSeries: [MetricSeriesKey: StoredMetricSeries] = [:],
            metricSeriesCounts: [Int64: Int] = [:]
        ) {
            self.apps = apps
            self.storedBatches = storedBatches
            self.names = names
            self.logsStoredToday = logsStoredToday
            self.metricSeries = metricSeries
            self.metricSeriesCounts = metricSeriesCounts
        }
    }

    package struct BatchKey: Sendable, Hashable {
        package var accountID: Int64
        package var batchID: String

        package init(accountID: Int64, batchID: String) {
            self.accountID = accountID
            self.batchID = batchID
        }
    }

    package let limits: CardinalityLimits

    package init(limits: CardinalityLimits) {
        self.limits = limits
    }

    /// Per app name (account, name): the transaction and segment names its batches carry, for a backend that reads
    /// only these from the names it has.
    package static func candidateNames(
        of items: [IngestItem]
    ) -> [AppName: (transactions: Set<String>, segments: Set<String>)] {
        var names: [AppName: (transactions: Set<String>, segments: Set<String>)] = [:]
        for item in items {
            let key = AppName(accountID: item.accountID, name: item.batch.agent.appName)
            var entry = names[key] ?? ([], [])
            for interval in item.batch.intervals {
                for metric in interval.transactions { entry.transactions.insert(metric.name) }
                for metric in interval.segments {
                    entry.transactions.insert(metric.transaction)
                    entry.segments.insert("\(metric.transaction)\u{0}\(metric.name)")
                    // Its transaction may be renamed past the cap.
                    entry.segments.insert("\(IngestRules.overflowName)\u{0}\(metric.name)")
                }
            }
            for trace in item.batch.traces { entry.transactions.insert(trace.transaction) }
            for sample in item.batch.errors { entry.transactions.insert(sample.transaction) }
            names[key] = entry
        }
        return names
    }

    package struct AppName: Sendable, Hashable {
        package var accountID: Int64
        package var name: String

        package init(accountID: Int64, name: String) {
            self.accountID = accountID
            self.name = name
        }
    }

    /// The batch ids a snapshot must look up.
    package static func batchKeys(of items: [IngestItem]) -> Set<BatchKey> {
        Set(items.map { BatchKey(accountID: $0.accountID, batchID: $0.batch.batchID) })
    }

    /// The plan for `items`.
    ///
    /// - Parameter metricAttributes: Per item and reading, its attributes as stored, when the caller made them
    ///   already (``IngestCommit``); made here otherwise.
    package func plan(
        _ items: [IngestItem],
        metricAttributes: [[String]]? = nil,
        snapshot: Snapshot
    ) throws -> WritePlan {
        var plan = WritePlan()
        plan.outcomes.reserveCapacity(items.count)
        var names = snapshot.names
        var seen = snapshot.storedBatches
        var seriesCounts = snapshot.metricSeriesCounts
        let encoder = WireCoding.makeEncoder()
        for (index, item) in items.enumerated() {
            let app: StoredApp
            switch snapshot.apps[index] {
            case .success(let found): app = found
            case .failure(let error):
                plan.outcomes.append(
                    IngestOutcome(
                        appID: 0,
                        duplicate: false,
                        apdexT: ApdexThreshold.default.seconds,
                        transactionApdexT: [:],
                        rejection: error.message
                    )
                )
                continue
            }
            let key = BatchKey(accountID: item.accountID, batchID: item.batch.batchID)
            let duplicate = seen.contains(key)
            plan.outcomes.append(
                IngestOutcome(
                    appID: app.id,
                    duplicate: duplicate,
                    apdexT: app.apdexT,
                    transactionApdexT: app.transactionApdexT
                )
            )
            plan.lastSeen[app.id] = max(plan.lastSeen[app.id] ?? item.receivedAt, item.receivedAt)
            guard !duplicate else { continue }
            seen.insert(key)
            plan.batches.append(
                WritePlan.BatchRecord(
                    accountID: item.accountID,
                    batchID: item.batch.batchID,
                    appID: app.id,
                    receivedAt: item.receivedAt
                )
            )
            var appNames = names[app.id] ?? KnownNames()
            try add(
                item.batch,
                appID: app.id,
                receivedAt: item.receivedAt,
                names: &appNames,
                encoder: encoder,
                to: &plan
            )
            names[app.id] = appNames
            addLogs(
                item.batch,
                appID: app.id,
                receivedAt: item.receivedAt,
                storedToday: snapshot.logsStoredToday[app.id] ?? 0,
                to: &plan
            )
            guard !item.batch.metrics.isEmpty else { continue }
            var seriesCount = seriesCounts[app.id] ?? 0
            var refusals = WritePlan.MetricRefusals()
            addMetrics(
                item.batch,
                appID: app.id,
                receivedAt: item.receivedAt,
                attributes: metricAttributes?[index]
                    ?? item.batch.metrics.map { Self.attributesJSON($0.attributes) },
                series: snapshot.metricSeries,
                seriesCount: &seriesCount,
                to: &plan,
                refusals: &refusals
            )
            seriesCounts[app.id] = seriesCount
            plan.outcomes[plan.outcomes.count - 1].metricPointsRefused = refusals.count
            plan.outcomes[plan.outcomes.count - 1].metricRefusalReasons = refusals.reasons.sorted()
        }
        return plan
    }

    /// Admits a name under the app's cap, or returns the overflow name (and keeps an example).
    private func admit(
        _ name: String,
        kind: NameKind,
        appID: Int64,
        at now: Double,
        names: inout KnownNames,
        plan: inout WritePlan
    ) -> String {
        if name == IngestRules.overflowName { return name }
        if names.contains(name, kind: kind) { return name }
        let cap = kind == .segment ? limits.maxSegmentNames : limits.maxTransactionNames
        guard names.count(of: kind) < cap else {
            plan.overflowExamples.append(WritePlan.AdmittedName(appID: appID, kind: kind, name: name, at: now))
            return IngestRules.overflowName
        }
        names.insert(name, kind: kind)
        plan.admittedNames.append(WritePlan.AdmittedName(appID: appID, kind: kind, name: name, at: now))
        return name
    }

    private func add(
        _ batch: AgentBatch,
        appID: Int64,
        receivedAt: Double,
        names: inout KnownNames,
        encoder: JSONEncoder,
        to plan: inout WritePlan
    ) throws {
        var renamed: [String: String] = [:]
        func transactionName(_ name: String) -> String {
            if let mapped = renamed[name] { return mapped }
            let admitted = admit(name, kind: .transaction, appID: appID, at: receivedAt, names: &names, plan: &plan)
            renamed[name] = admitted
            return admitted
        }
        var overflow = WritePlan.OverflowCount()
        for interval in batch.intervals {
            for var metric in interval.transactions {
                metric.name = transactionName(metric.name)
                if metric.name == IngestRules.overflowName {
                    overflow.transactions = overflow.transactions.addingSaturated(metric.count)
                }
                plan.add(metric, appID: appID, minute: interval.start)
            }
            for var metric in interval.segments {
                metric.transaction = transactionName(metric.transaction)
                let admitted = admit(
                    "\(metric.transaction)\u{0}\(metric.name)",
                    kind: .segment,
                    appID: appID,
                    at: receivedAt,
                    names: &names,
                    plan: &plan
                )
                if admitted == IngestRules.overflowName {
                    Self.rename(&metric)
                    overflow.segments = overflow.segments.addingSaturated(metric.count)
                }
                plan.add(metric, appID: appID, minute: interval.start)
            }
        }
        if overflow.transactions > 0 || overflow.segments > 0 {
            var total = plan.overflowCounts[appID] ?? WritePlan.OverflowCount()
            total.transactions = total.transactions.addingSaturated(overflow.transactions)
            total.segments = total.segments.addingSaturated(overflow.segments)
            plan.overflowCounts[appID] = total
        }
        for var trace in batch.traces {
            trace.transaction = transactionName(trace.transaction)
            plan.traces.append(try Self.traceRow(trace, appID: appID, encoder: encoder))
        }
        for var sample in batch.errors {
            sample.transaction = transactionName(sample.transaction)
            sample.message = SecretScrubber.scrubbed(text: sample.message)
            sample.attributes = SecretScrubber.scrubbed(attributes: sample.attributes)
            try addError(sample, appID: appID, host: batch.agent.host, encoder: encoder, to: &plan)
        }
        if !batch.dropped.isZero {
            let minute = Int64(receivedAt) - Int64(receivedAt) % 60
            plan.drops[WritePlan.AppKey(appID: appID, bucket: minute, kind: .web), default: DropCounters()].add(
                batch.dropped
            )
        }
    }

    /// A segment past its app's cap, counted under `(overflow)` without its own details.
    private static func rename(_ metric: inout SegmentMetric) {
        metric.name = IngestRules.overflowName
        metric.system = ""
        metric.operation = IngestRules.overflowName
        metric.target = ""
        metric.slowestStatement = nil
        metric.slowestStatementDuration = nil
    }

    /// A sampled trace as stored: secrets in a request's headers, query or attributes are never stored
    /// (SecretScrubber).
    private static func traceRow(
        _ trace: TransactionTrace,
        appID: Int64,
        encoder: JSONEncoder
    ) throws -> WritePlan.TraceRow {
        var trace = trace
        trace.attributes = SecretScrubber.scrubbed(attributes: trace.attributes)
        for index in trace.segments.indices where !trace.segments[index].attributes.isEmpty {
            trace.segments[index].attributes = SecretScrubber.scrubbed(attributes: trace.segments[index].attributes)
        }
        return WritePlan.TraceRow(
            appID: appID,
            traceID: trace.traceID,
            transaction: trace.transaction,
            start: trace.start,
            duration: trace.duration,
            isError: trace.isError,
            payload: String(decoding: try encoder.encode(trace), as: UTF8.self)
        )
    }

    private func addError(
        _ sample: ErrorSample,
        appID: Int64,
        host: String,
        encoder: JSONEncoder,
        to plan: inout WritePlan
    ) throws {
        let message = ErrorFingerprint.normalizedMessage(sample.message)
        let inApp = ErrorFingerprint.inAppFrames(sample.frames ?? [])
        let topFrame = inApp.first ?? ErrorFingerprint.normalizedFrame(sample.stack.first ?? "")
        let key = WritePlan.ErrorGroupKey(
            appID: appID,
            fingerprint: sample.fingerprint.flatMap { $0.isEmpty ? nil : ErrorFingerprint.fingerprint(["custom", $0]) }
                ?? ErrorFingerprint.fingerprint([sample.type, message] + (inApp.isEmpty ? [topFrame] : inApp))
        )
        let payload = String(decoding: try encoder.encode(sample), as: UTF8.self)
        let minute = Int64(sample.timestamp) - Int64(sample.timestamp) % 60
        if var group = plan.errorGroups[key] {
            group.count = group.count.addingSaturated(1)
            group.firstSeen = min(group.firstSeen, sample.timestamp)
            if sample.timestamp >= group.lastSeen {
                group.lastSeen = sample.timestamp
                group.transaction = sample.transaction
                group.sample = payload
            }
            group.minutes[minute, default: 0] = group.minutes[minute, default: 0].addingSaturated(1)
            Self.addOccurrence(sample, host: host, payload: payload, to: &group)
            plan.errorGroups[key] = group
        } else {
            var group = WritePlan.ErrorGroupDelta(
                type: sample.type,
                message: message,
                topFrame: topFrame,
                count: 1,
                firstSeen: sample.timestamp,
                lastSeen: sample.timestamp,
                transaction: sample.transaction,
                sample: payload,
                minutes: [minute: 1]
            )
            Self.addOccurrence(sample, host: host, payload: payload, to: &group)
            plan.errorGroups[key] = group
        }
    }

    /// Counts an occurrence by transaction, host and user, and keeps it whole if it is among the latest.
    private static func addOccurrence(
        _ sample: ErrorSample,
        host: String,
        payload: String,
        to group: inout WritePlan.ErrorGroupDelta
    ) {
        var facets: [(ErrorFacetKind, String)] = [(.transaction, sample.transaction), (.host, host)]
        if let user = IngestRules.userAttributes.lazy.compactMap({ sample.attributes[$0] }).first(where: {
            !$0.isEmpty
        }) {
            facets.append((.user, user))
        }
        for (kind, value) in facets {
            let key = WritePlan.ErrorFacetKey(kind: kind, value: String(value.prefix(255)))
            var delta = group.facets[key] ?? WritePlan.ErrorFacetDelta(count: 0, lastSeen: sample.timestamp)
            delta.count = delta.count.addingSaturated(1)
            delta.lastSeen = max(delta.lastSeen, sample.timestamp)
            group.facets[key] = delta
        }
        let row = WritePlan.ErrorSampleRow(at: sample.timestamp, host: host, payload: payload)
        if group.samples.count < IngestRules.samplesPerIssue {
            group.samples.append(row)
        } else if let oldest = group.samples.indices.min(by: { group.samples[$0].at < group.samples[$1].at }),
            group.samples[oldest].at <= sample.timestamp
        {
            group.samples[oldest] = row
        }
    }
}
