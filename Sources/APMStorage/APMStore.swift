public import APMCore
public import Foundation
public import ServiceLifecycle

/// Where the collector keeps everything. SQLite (``SQLiteStore``) is the embedded default, PostgreSQL (in the
/// APMPostgres module) serves several collectors; every method is safe to call concurrently. A store is a
/// `Service`: the `apm collector` command runs it first in its service group (PostgreSQL's connection pool
/// runs while it does) and stops it last.
public protocol APMStore: Service, LogStore {
    // MARK: Accounts and keys

    /// Creates an account.
    ///
    /// - Parameter name: A unique name.
    /// - Returns: The account.
    func createAccount(name: String) async throws -> Account

    /// Creates the first account, its license key and the administrator in one transaction, unless an account
    /// exists. Refuses a store that holds data but no account (it lost its identity): setting up a new account
    /// over it would leave every agent's key rejected.
    ///
    /// - Parameters:
    ///   - accountName: The account's name.
    ///   - keyHash: The license key's hash.
    ///   - keyPrefix: The key's display prefix.
    ///   - adminName: The administrator's login.
    ///   - passwordHash: The administrator's password hash.
    /// - Returns: The account, or `nil` when one existed.
    /// - Throws: ``StoreError`` (`dataDirectoryNotEmpty`) for data without an account.
    func bootstrap(
        accountName: String,
        keyHash: String,
        keyPrefix: String,
        adminName: String,
        passwordHash: String
    ) async throws -> Account?

    /// Every account.
    ///
    /// - Returns: Accounts by id.
    func accounts() async throws -> [Account]

    /// Stores a license key's hash.
    ///
    /// - Parameters:
    ///   - accountID: The owning account.
    ///   - name: A label.
    ///   - keyHash: SHA-256 of the key, hex.
    ///   - prefix: The key's first characters, for display.
    /// - Returns: The record.
    func createLicenseKey(
        accountID: Int64,
        name: String,
        keyHash: String,
        prefix: String
    ) async throws -> LicenseKeyRecord

    /// An account's keys, revoked ones included.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Keys by id.
    func licenseKeys(accountID: Int64) async throws -> [LicenseKeyRecord]

    /// Revokes a key.
    ///
    /// - Parameters:
    ///   - accountID: The owning account.
    ///   - id: The key's id.
    /// - Returns: `false` when no such active key exists in the account.
    func revokeLicenseKey(accountID: Int64, id: Int64) async throws -> Bool

    /// The active key with this hash.
    ///
    /// - Parameter keyHash: SHA-256 of the key, hex.
    /// - Returns: The key's record, `nil` when unknown or revoked.
    func activeLicenseKey(hash keyHash: String) async throws -> LicenseKeyRecord?

    // MARK: Apps

    /// An account's apps.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Apps by name.
    func apps(accountID: Int64) async throws -> [StoredApp]

    /// One app of an account.
    ///
    /// - Parameters:
    ///   - accountID: The account; an app of another account is not returned.
    ///   - id: The app's id.
    /// - Returns: The app or `nil`.
    func app(accountID: Int64, id: Int64) async throws -> StoredApp?

    /// Sets the app's T, or a transaction's T (`nil` seconds removes a transaction's override).
    ///
    /// - Parameters:
    ///   - appID: The app.
    ///   - transaction: A transaction name, or `nil` for the app.
    ///   - seconds: The T, or `nil` to remove a transaction override.
    func setApdex(appID: Int64, transaction: String?, seconds: Double?) async throws

    /// Names that overflowed the cardinality cap.
    ///
    /// - Parameter appID: The app.
    /// - Returns: Counts and examples.
    func nameOverflow(appID: Int64) async throws -> NameOverflow

    /// The transaction names the app ever recorded (admitted under the name cap), sorted.
    ///
    /// - Parameter appID: The app.
    /// - Returns: The names.
    func transactionNames(appID: Int64) async throws -> [String]

    // MARK: Ingest

    /// Keeps an export's spans until their traces are settled, once per export id.
    ///
    /// - Parameters:
    ///   - spans: The spans.
    ///   - accountID: The account.
    ///   - exportID: The export's id; a second export with the same id adds nothing.
    ///   - receivedAt: Receipt time.
    /// - Returns: `false` when the export was stored before.
    func parkSpans(_ spans: [PendingSpan], accountID: Int64, exportID: String, receivedAt: Double) async throws -> Bool

    /// Every pending span of up to `traceLimit` traces with a transaction received before `cutoff`, or with no
    /// transaction and a span received before it.
    ///
    /// - Parameters:
    ///   - cutoff: The time before which spans have waited long enough.
    ///   - traceLimit: Traces at most.
    /// - Returns: The spans.
    func pendingSpans(receivedBefore cutoff: Double, traceLimit: Int) async throws -> [PendingSpan]

    /// Writes batches settled from pending spans and removes the spans, in one transaction.
    ///
    /// - Parameters:
    ///   - items: The batches.
    ///   - keys: The spans to remove.
    ///   - limits: Cardinality caps.
    /// - Returns: The outcomes, or `nil` with nothing written when a span was no longer pending.
    func settleSpans(
        _ items: [IngestItem],
        removing keys: [PendingSpanKey],
        limits: CardinalityLimits
    ) async throws
        -> [IngestOutcome]?

    /// How many spans are pending.
    func pendingSpanCount() async throws -> Int

    /// Commits batches in one durable transaction. A batch whose id was committed before is not counted again.
    ///
    /// - Parameters:
    ///   - items: Validated batches.
    ///   - limits: The cardinality caps.
    /// - Returns: One outcome per item, in order.
    func commit(_ items: [IngestItem], limits: CardinalityLimits) async throws -> [IngestOutcome]

    // MARK: Queries

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

    // MARK: Process metrics

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

    // MARK: Users

    /// Creates a dashboard user.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - name: A unique login name.
    ///   - passwordHash: The password's hash.
    ///   - role: What the user may do.
    /// - Returns: The user.
    func createUser(accountID: Int64, name: String, passwordHash: String, role: UserRole) async throws -> StoredUser

    /// Changes a user's role; it applies to the user's sessions at once (they read it on every request).
    ///
    /// - Parameters:
    ///   - userID: The user.
    ///   - role: The new role.
    func setRole(userID: Int64, role: UserRole) async throws

    /// Removes a user and ends all of the user's sessions.
    ///
    /// - Parameter userID: The user.
    func deleteUser(userID: Int64) async throws

    /// A user by login name.
    ///
    /// - Parameter name: The login name.
    /// - Returns: The user or `nil`.
    func user(named name: String) async throws -> StoredUser?

    /// An account's users.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Users by name.
    func users(accountID: Int64) async throws -> [StoredUser]

    /// Replaces a user's password hash and ends all of the user's sessions.
    ///
    /// - Parameters:
    ///   - userID: The user.
    ///   - passwordHash: The new hash.
    func setPassword(userID: Int64, passwordHash: String) async throws

    // MARK: API tokens

    /// Stores an API token's hash.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - name: A label.
    ///   - scope: What it may do.
    ///   - tokenHash: SHA-256 of the token, hex.
    ///   - prefix: The display prefix.
    /// - Returns: The record.
    func createAPIToken(
        accountID: Int64,
        name: String,
        scope: APITokenScope,
        tokenHash: String,
        prefix: String
    ) async throws -> APITokenRecord

    /// An account's API tokens, revoked ones included.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: Tokens by id.
    func apiTokens(accountID: Int64) async throws -> [APITokenRecord]

    /// Revokes a token.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The token.
    /// - Returns: Whether an active token was revoked.
    func revokeAPIToken(accountID: Int64, id: Int64) async throws -> Bool

    /// The active token with this hash.
    ///
    /// - Parameter tokenHash: SHA-256 hex.
    /// - Returns: The record or `nil`.
    func activeAPIToken(hash tokenHash: String) async throws -> APITokenRecord?

    // MARK: Sessions and sign-in (shared by every collector of the store)

    /// Stores a session; past `maxSessions` live sessions, the one least recently used ends.
    ///
    /// - Parameters:
    ///   - session: The session.
    ///   - maxSessions: Live sessions kept.
    ///   - now: The current time.
    func createSession(_ session: StoredSession, maxSessions: Int, now: Double) async throws

    /// A live session, its expiry moved forward.
    ///
    /// - Parameters:
    ///   - tokenHash: The cookie token's hash.
    ///   - now: The current time.
    ///   - lifetime: Seconds a session lives unused.
    /// - Returns: The session, `nil` when unknown or expired.
    func session(tokenHash: String, now: Double, lifetime: Double) async throws -> StoredSession?

    /// Ends a session.
    ///
    /// - Parameter tokenHash: The cookie token's hash.
    func deleteSession(tokenHash: String) async throws

    /// Live sessions.
    ///
    /// - Returns: The count.
    func sessionCount() async throws -> Int

    /// Counts a sign-in attempt against every key atomically, unless one of them must wait.
    ///
    /// - Parameters:
    ///   - keys: The keys with their policies.
    ///   - now: The current time.
    ///   - maxEntries: Keys remembered; the least recently tried are forgotten first.
    /// - Returns: Whether the attempt may go ahead.
    func reserveSignInAttempt(
        keys: [SignInThrottleKey],
        now: Double,
        maxEntries: Int
    ) async throws
        -> SignInThrottleVerdict

    /// Forgets the counted attempts of keys.
    ///
    /// - Parameter keys: The keys.
    func clearSignInAttempts(keys: [String]) async throws

    /// Keys the sign-in throttle remembers.
    ///
    /// - Returns: The count.
    func signInThrottleCount() async throws -> Int

    /// A random secret of this installation, the same for every collector of the store.
    ///
    /// - Parameter name: The secret's name.
    /// - Returns: 32 bytes.
    func installationSecret(named name: String) async throws -> Data

    // MARK: Maintenance

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

    // MARK: Alerts

    /// Stores a notification channel.
    ///
    /// - Parameter channel: The channel (its id is ignored).
    /// - Returns: The channel with its id.
    func createAlertChannel(_ channel: AlertChannelRecord) async throws -> AlertChannelRecord

    /// An account's channels, oldest first.
    ///
    /// - Parameter accountID: The account.
    /// - Returns: The channels.
    func alertChannels(accountID: Int64) async throws -> [AlertChannelRecord]

    /// Deletes a channel with its pending notifications; conditions stop naming it.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The channel.
    /// - Returns: Whether it existed.
    func deleteAlertChannel(accountID: Int64, id: Int64) async throws -> Bool

    /// Stores a condition.
    ///
    /// - Parameter condition: The condition (its id is ignored).
    /// - Returns: The condition with its id.
    func createAlertCondition(_ condition: AlertConditionRecord) async throws -> AlertConditionRecord

    /// Conditions, oldest first.
    ///
    /// - Parameter accountID: One account's, or every account's (`nil`, for the evaluator).
    /// - Returns: The conditions with their evaluation state.
    func alertConditions(accountID: Int64?) async throws -> [AlertConditionRecord]

    /// Deletes a condition; its open incident resolves at `now` (without a figure) and its history stays.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The condition.
    ///   - now: Unix seconds.
    /// - Returns: Whether it existed.
    func deleteAlertCondition(accountID: Int64, id: Int64, now: Int64) async throws -> Bool

    /// Applies one evaluation at once (state, incident, notifications to each of the condition's channels), if
    /// the condition is still where the evaluation started.
    ///
    /// - Parameter write: The evaluation's outcome.
    /// - Returns: Whether it was applied (`false`: another evaluation got there first, or the condition is gone).
    func applyAlertEvaluation(_ write: AlertEvaluationWrite) async throws -> Bool

    /// Incidents, newest first.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - openOnly: Only unresolved ones.
    ///   - limit: At most this many.
    /// - Returns: The incidents.
    func alertIncidents(accountID: Int64, openOnly: Bool, limit: Int) async throws -> [AlertIncidentRecord]

    /// One incident.
    ///
    /// - Parameter id: The incident.
    /// - Returns: It, or `nil`.
    func alertIncident(id: Int64) async throws -> AlertIncidentRecord?

    /// Marks an incident acknowledged (once: a second acknowledgement keeps the first).
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - id: The incident.
    ///   - by: Who.
    ///   - at: Unix seconds.
    /// - Returns: Whether the incident exists.
    func acknowledgeAlertIncident(accountID: Int64, id: Int64, by: String, at: Double) async throws -> Bool

    /// Queues a notification (a test; evaluations queue theirs in ``applyAlertEvaluation(_:)``).
    ///
    /// - Parameter delivery: The notification (its id is ignored).
    /// - Returns: It with its id.
    func enqueueAlertDelivery(_ delivery: AlertDeliveryRecord) async throws -> AlertDeliveryRecord

    /// Notifications due now: neither delivered nor given up, next attempt at or before `now`.
    ///
    /// - Parameters:
    ///   - now: Unix seconds.
    ///   - limit: At most this many.
    /// - Returns: The notifications, oldest first.
    func dueAlertDeliveries(now: Double, limit: Int) async throws -> [AlertDeliveryRecord]

    /// Records an attempt: delivered, retried later, or given up.
    ///
    /// - Parameter delivery: The notification with its new attempts, times and error.
    func updateAlertDelivery(_ delivery: AlertDeliveryRecord) async throws

    /// The latest notifications, newest first.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - limit: At most this many.
    /// - Returns: The notifications.
    func alertDeliveries(accountID: Int64, limit: Int) async throws -> [AlertDeliveryRecord]

    /// Issue events (an issue's first occurrence, a regression) no notification step has handled yet, oldest first.
    ///
    /// - Parameter limit: At most this many.
    /// - Returns: The events.
    func pendingIssueEvents(limit: Int) async throws -> [IssueEventRecord]

    /// Handles one issue event at once: marks it handled and queues a notification to each channel of each
    /// matching condition, except where the same issue notified that channel for that condition less than
    /// `renotifyAfter` seconds ago. Applied only if the event is still pending, so it is notified once whichever
    /// collectors try.
    ///
    /// - Parameter notification: The event, its conditions and the rate limit.
    /// - Returns: The notifications queued; `nil` when the event was handled already.
    func applyIssueEventNotification(_ notification: IssueEventNotification) async throws -> Int?

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

extension APMStore {
    /// Creates an admin user (the first user of an account, and every user before roles).
    public func createUser(accountID: Int64, name: String, passwordHash: String) async throws -> StoredUser {
        try await createUser(accountID: accountID, name: name, passwordHash: passwordHash, role: .admin)
    }
}

extension APMStore {
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
