import APMCore
public import APMStorage
import Foundation
public import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import Prometheus
public import ServiceLifecycle
import Synchronization

/// The collector: the HTTP server (ingest, JSON API, health, metrics) and the retention job over one store.
///
/// ```swift
/// let collector = try Collector(configuration: configuration, logger: logger)
/// if let credentials = try await collector.bootstrapIfNeeded() { print(credentials.licenseKey) }
/// try await ServiceGroup(services: collector.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// try await collector.close()
/// ```
public final class Collector: Sendable {
    /// The configuration.
    public let configuration: CollectorConfiguration
    /// The store.
    public let store: any APMStore
    /// The query layer.
    public let queries: CollectorQueries
    let logger: Logger
    let metrics = CollectorMetrics()
    let authenticator: CredentialAuthenticator
    let pipeline: IngestPipeline
    let memoryBudget: IngestMemoryBudget
    let sessions: DashboardSessions
    let signInGuard: SignInGuard
    let administration: Administration
    /// Alert evaluation on complete minutes.
    public let alertEvaluator: AlertEvaluator
    /// Alert notifications from the store's outbox.
    public let alertNotifier: AlertNotifier
    /// Notifications of new and regressed error issues.
    public let issueNotifications: IssueNotifications
    let pendingSpanCounter = PendingSpanCounter()
    /// When the store's row and size gauges were last read.
    private let storeGaugesReadAt = Mutex<ContinuousClock.Instant?>(nil)
    private let port = PortBox()
    /// The last store failure a request ran into (a full disk, ...), with its time, for `/healthz`.
    private let lastStoreFailure = Mutex<StoreFailure?>(nil)
    /// This collector's id among those sharing the store (holder of job leases).
    public let instanceID = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
    /// The periodic jobs whose lease this collector held at its last attempt.
    let heldLeases = Mutex<Set<String>>([])

    struct StoreFailure: Sendable {
        var at: Double
        var message: String
    }
    let now: @Sendable () -> Double
    /// What the periodic jobs wait on between runs.
    let jobClock: any Clock<Duration>

    /// Prepares the server over a store that the caller built from the configuration (SQLite or PostgreSQL) and
    /// runs as a service before the collector's.
    ///
    /// - Parameters:
    ///   - configuration: The configuration.
    ///   - logger: The logger.
    ///   - store: The store.
    ///   - now: The clock (Unix seconds); injectable for tests.
    ///   - alertTransport: How alert notifications go out over HTTP; by default AsyncHTTPClient to destinations
    ///     that `alert_allowed_destinations` allows.
    ///   - jobClock: What the periodic jobs (retention, alerts, settling OTLP spans) wait on between runs.
    public init(
        configuration: CollectorConfiguration,
        logger: Logger,
        store: any APMStore,
        now: (@Sendable () -> Double)? = nil,
        alertTransport: (any AlertTransport)? = nil,
        jobClock: any Clock<Duration> = ContinuousClock()
    ) {
        self.configuration = configuration
        self.jobClock = jobClock
        self.logger = logger
        let now = now ?? { Date().timeIntervalSince1970 }
        self.now = now
        self.store = store
        self.queries = CollectorQueries(
            store: self.store,
            minuteRetention: Int64(configuration.retention.minuteRetention.components.seconds),
            now: { Int64(now()) }
        )
        self.authenticator = CredentialAuthenticator(store: self.store)
        self.sessions = DashboardSessions(store: self.store, now: now)
        self.signInGuard = SignInGuard(store: self.store, now: now)
        self.administration = Administration(
            store: self.store,
            authenticator: self.authenticator,
            passwordHashCost: configuration.passwordHashCost,
            now: now
        )
        self.pipeline = IngestPipeline(
            store: self.store,
            limits: configuration.limits.cardinality,
            timeout: configuration.storage.timeout,
            maxQueued: configuration.limits.maxQueuedBatches
        )
        self.memoryBudget = IngestMemoryBudget(capacity: configuration.limits.ingestMemoryBytes)
        self.alertEvaluator = AlertEvaluator(
            store: self.store,
            queries: self.queries,
            delay: configuration.alerts.evaluationDelay,
            logger: logger
        )
        self.issueNotifications = IssueNotifications(
            store: self.store,
            renotifyAfter: configuration.alerts.issueRenotify,
            logger: logger
        )
        self.alertNotifier = AlertNotifier(
            store: self.store,
            transport: alertTransport ?? HTTPAlertTransport(policy: configuration.alerts.destinationPolicy),
            settings: configuration.alerts,
            logger: logger
        )
    }

    /// Credentials created on the first start.
    public struct FirstStartCredentials: Sendable {
        /// The account created.
        public var account: Account
        /// The license key (shown once; only its hash is stored).
        public var licenseKey: String
        /// The dashboard administrator's login name.
        public var adminUser: String
        /// The administrator's random password (shown once; only its scrypt hash is stored).
        public var adminPassword: String
        /// An API token with the admin scope, for `apm` and scripts (shown once; only its hash is stored).
        public var apiToken: String
    }

    /// On the first start (no account yet), creates an account, a license key and a dashboard administrator
    /// with a random password. There is no default password.
    ///
    /// - Returns: The new credentials, or `nil` when the collector was set up before.
    /// - Throws: ``StoreError`` (`dataDirectoryNotEmpty`) when the store holds data but no account: a database that
    ///   lost its identity is never set up afresh.
    public func bootstrapIfNeeded() async throws -> FirstStartCredentials? {
        guard try await store.accounts().isEmpty else { return nil }
        let key = CredentialGenerator.make(.licenseKey)
        let password = PasswordHasher.makePassword()
        guard
            let account = try await store.bootstrap(
                accountName: "default",
                keyHash: CredentialGenerator.hash(key),
                keyPrefix: CredentialGenerator.displayPrefix(of: key),
                adminName: "admin",
                passwordHash: try await PasswordHasher.hashInBackground(password, cost: configuration.passwordHashCost),
                now: now()
            )
        else { return nil }
        let token = try await createCredential(.apiToken, accountID: account.id, name: "admin", scope: .admin)
        return FirstStartCredentials(
            account: account,
            licenseKey: key,
            adminUser: "admin",
            adminPassword: password,
            apiToken: token.secret
        )
    }

    /// Gives a user a new random password, which ends all of the user's sessions.
    ///
    /// - Parameters:
    ///   - name: The login name.
    ///   - accountID: The caller's account; a user of another account is not found.
    /// - Returns: The new password (shown once), or `nil` when there is no such user.
    public func resetPassword(user name: String, accountID: Int64) async throws -> String? {
        try await administration.resetPassword(user: name, accountID: accountID)
    }

    /// Creates a license key (an ingest key: it can only send data and record deployments) or an API token
    /// for an account.
    ///
    /// - Parameters:
    ///   - kind: License key or API token.
    ///   - accountID: The account.
    ///   - name: A label.
    ///   - scope: An API token's scope (`read` when `nil`); a license key has none.
    /// - Returns: The secret (shown once) and its record.
    public func createCredential(
        _ kind: CredentialKind,
        accountID: Int64,
        name: String,
        scope: APITokenScope? = nil
    ) async throws -> (secret: String, record: CredentialRecord) {
        try await administration.createCredential(kind, accountID: accountID, name: name, scope: scope?.rawValue)
    }

    func recordStoreFailure(_ message: String) {
        let failure = StoreFailure(at: now(), message: message)
        lastStoreFailure.withLock { $0 = failure }
    }

    /// What `/healthz` reports: the store's own problems, and a store failure in the last minute. Answered
    /// within ``healthTimeout`` whatever the store does: a store that does not answer is a problem too.
    func healthProblems() async -> [String] {
        let store = self.store
        let timeout = Self.healthTimeout
        var problems =
            (try? await Deadline.run(within: timeout, timedOut: CancellationError()) { await store.problems() })
            ?? ["the store did not answer within \(timeout)"]
        if let failure = lastStoreFailure.withLock({ $0 }), now() - failure.at < 60 {
            problems.append("a write failed \(Int(now() - failure.at)) s ago: \(failure.message)")
        }
        return problems
    }

    /// How long `/healthz` waits for the store.
    static let healthTimeout: Duration = .seconds(1)

    /// The hosts requests may name (see ``SecurityMiddleware``).
    var allowedHosts: Set<String>? {
        SecurityMiddleware<CollectorRequestContext>.allowedHosts(
            listenHost: configuration.server.host,
            configured: configuration.server.allowedHosts
        )
    }

    /// The port the server listens on, once it runs.
    public var boundPort: Int? { port.value.withLock { $0 } }

    /// The HTTP application.
    public var application: some ApplicationProtocol {
        var logger = logger
        logger[metadataKey: "component"] = "http"
        let server = configuration.server
        let timeouts = ConnectionDeadlineHandler.Timeouts(
            header: .nanoseconds(Int64(server.headerTimeout / .nanoseconds(1))),
            idle: .nanoseconds(Int64(server.idleTimeout / .nanoseconds(1))),
            body: .nanoseconds(Int64(server.bodyTimeout / .nanoseconds(1)))
        )
        let connectionLogger = logger
        return Application(
            router: makeRouter(),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        RequestTargetHostInstaller(),
                        ConnectionDeadlineHandler(timeouts: timeouts, logger: connectionLogger),
                    ]
                )
            ),
            configuration: .init(
                address: .hostname(server.host, port: server.port),
                serverName: "apm-collector",
                availableConnectionsDelegate: MaximumAvailableConnections(
                    Self.connectionCap(server.maxConnections, logger: logger)
                )
            ),
            onServerRunning: { [port] channel in
                port.value.withLock { $0 = channel.localAddress?.port }
            },
            logger: logger
        )
    }

    /// The long-running parts, to run in one `ServiceGroup`: the periodic jobs and the HTTP server.
    public var services: [any Service] {
        periodicJobs + [application]
    }

    /// Closes the store. Call after the services have stopped.
    public func close() async throws {
        try await store.close()
    }

    /// Runs retention now.
    ///
    /// - Returns: What was deleted.
    @discardableResult
    public func applyRetention() async throws -> RetentionReport {
        let now = Int64(self.now())
        var report = try await store.applyRetention(
            minuteCutoff: now - Int64(configuration.retention.minuteRetention.components.seconds),
            cutoff: now - Int64(configuration.retention.retention.components.seconds),
            // Agents' batches older than 7 days are rejected, so their ids need not be remembered longer.
            batchIDCutoff: now - 8 * 86_400
        )
        report.logRecordsDeleted = try await store.applyLogRetention(
            cutoff: now - Int64(configuration.retention.logRetention.components.seconds)
        )
        try await readStoreGauges()
        return report
    }

    /// Reads the store's row counts and size into `/metrics`.
    private func readStoreGauges() async throws {
        let statistics = try await store.statistics()
        metrics.setRows(statistics.rows)
        metrics.fileSize.set(Double(statistics.fileSize))
        storeGaugesReadAt.withLock { $0 = .now }
    }

    /// Reads the store's gauges for a `/metrics` scrape unless they were read in the last 15 s (counting rows
    /// costs a scan; scrapers ask every 15 s or so). Before, they were read by retention only: 0 for the first
    /// `retention_interval` after a start.
    func refreshStoreGauges() async {
        let due = storeGaugesReadAt.withLock { read in read.map { ContinuousClock.now - $0 >= .seconds(15) } ?? true }
        guard due else { return }
        do {
            try await readStoreGauges()
        } catch {
            logger.warning("reading the store's statistics for /metrics failed: \(error)")
        }
        do {
            try await readAppGauges()
        } catch {
            logger.warning("reading the apps' figures for /metrics failed: \(error)")
        }
    }
}

extension Collector {
    /// `max_connections`, lowered to leave room under the process's file-descriptor limit for the store, its
    /// write-ahead log and the logs: at that limit nothing, not even `/healthz`, could be answered.
    static func connectionCap(_ configured: Int, logger: Logger) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else {
            return configured
        }
        let room = Int(clamping: limit.rlim_cur) - 64
        guard configured > room else { return configured }
        logger.warning(
            "max_connections = \(configured) is above the file-descriptor limit (\(limit.rlim_cur), ulimit -n) less 64 for files; using \(max(room, 16))"
        )
        return max(room, 16)
    }
}

/// The bound port, set once the server runs.
final class PortBox: Sendable {
    let value = Mutex<Int?>(nil)
}
