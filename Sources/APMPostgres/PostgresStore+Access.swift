public import APMStorage
public import Foundation
import NIOCore
import PostgresNIO
import Synchronization

extension PostgresStore {
    // MARK: Accounts and keys

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createAccount(name: String, now: Double) async throws -> Account {
        let id =
            try await rows("INSERT INTO accounts (name, created_at) VALUES (\(name), \(now)) RETURNING id")
            .first?.get("id", as: Int64.self) ?? 0
        return Account(id: id, name: name, createdAt: now)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func bootstrap(
        accountName: String,
        keyHash: String,
        keyPrefix: String,
        adminName: String,
        passwordHash: String,
        now: Double
    ) async throws -> Account? {
        try await transaction { [self] connection -> Account? in
            // Collectors starting together on an empty database: the first creates the account, the others wait
            // here and find it.
            try await connection.execute("LOCK TABLE accounts IN EXCLUSIVE MODE", self.logger)
            guard try await connection.rows("SELECT 1 AS one FROM accounts LIMIT 1", self.logger).isEmpty else {
                return nil
            }
            for table in ["apps", "license_keys", "users", "batches"] {
                guard
                    try await connection.rows(
                        PostgresQuery(unsafeSQL: "SELECT 1 AS one FROM \(table) LIMIT 1"),
                        self.logger
                    ).isEmpty
                else {
                    throw StoreError(
                        .dataDirectoryNotEmpty,
                        "the database holds data (\(table)) but no account: it is not a database that swift-apm set up, or it was damaged. Restore a backup, or point postgres_url at an empty database; it was not changed"
                    )
                }
            }
            let id =
                try await connection.rows(
                    "INSERT INTO accounts (name, created_at) VALUES (\(accountName), \(now)) RETURNING id",
                    self.logger
                ).first?.get("id", as: Int64.self) ?? 0
            try await connection.execute(
                """
                INSERT INTO license_keys (account_id, name, key_hash, prefix, created_at)
                VALUES (\(id), 'default', \(keyHash), \(keyPrefix), \(now))
                """,
                self.logger
            )
            try await connection.execute(
                """
                INSERT INTO users (account_id, name, password_hash, created_at, password_changed_at)
                VALUES (\(id), \(adminName), \(passwordHash), \(now), \(now))
                """,
                self.logger
            )
            return Account(id: id, name: accountName, createdAt: now)
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func accounts() async throws -> [Account] {
        try await rows("SELECT id, name, created_at FROM accounts ORDER BY id").map {
            Account(id: try $0.get("id"), name: try $0.get("name"), createdAt: try $0.get("created_at"))
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createLicenseKey(
        accountID: Int64,
        name: String,
        keyHash: String,
        prefix: String,
        now: Double
    ) async throws -> LicenseKeyRecord {
        let id =
            try await rows(
                """
                INSERT INTO license_keys (account_id, name, key_hash, prefix, created_at)
                VALUES (\(accountID), \(name), \(keyHash), \(prefix), \(now)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return LicenseKeyRecord(
            id: id,
            accountID: accountID,
            name: name,
            prefix: prefix,
            createdAt: now,
            revokedAt: nil
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func licenseKeys(accountID: Int64) async throws -> [LicenseKeyRecord] {
        try await rows("SELECT * FROM license_keys WHERE account_id = \(accountID) ORDER BY id").map(Self.licenseKey)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func revokeLicenseKey(accountID: Int64, id: Int64, now: Double) async throws -> Bool {

        !(try await rows(
            """
            UPDATE license_keys SET revoked_at = \(now)
            WHERE id = \(id) AND account_id = \(accountID) AND revoked_at IS NULL RETURNING id
            """
        ).isEmpty)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func activeLicenseKey(hash keyHash: String) async throws -> LicenseKeyRecord? {
        try await rows("SELECT * FROM license_keys WHERE key_hash = \(keyHash) AND revoked_at IS NULL").first.map(
            Self.licenseKey
        )
    }

    static func licenseKey(_ row: PostgresRandomAccessRow) throws -> LicenseKeyRecord {
        try LicenseKeyRecord(row: PostgresStoredRow(row))
    }

    // MARK: Apps

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func apps(accountID: Int64) async throws -> [StoredApp] {
        try await transaction { [self] connection in
            try await self.apps(
                connection.rows("SELECT * FROM apps WHERE account_id = \(accountID) ORDER BY name", self.logger),
                connection: connection
            )
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func app(accountID: Int64, id: Int64) async throws -> StoredApp? {
        try await transaction { [self] connection in
            try await self.apps(
                connection.rows("SELECT * FROM apps WHERE id = \(id) AND account_id = \(accountID)", self.logger),
                connection: connection
            ).first
        }
    }

    func app(_ connection: PostgresConnection, accountID: Int64, name: String) async throws -> StoredApp? {
        try await apps(
            connection.rows("SELECT * FROM apps WHERE account_id = \(accountID) AND name = \(name)", logger),
            connection: connection
        ).first
    }

    /// The apps of rows of `apps`, in their order, with their per-transaction Ts (one more query for all).
    func apps(_ rows: [PostgresRandomAccessRow], connection: PostgresConnection) async throws -> [StoredApp] {
        var apps = try rows.map { row in
            StoredApp(
                id: try row.get("id"),
                accountID: try row.get("account_id"),
                name: try row.get("name"),
                apdexT: try row.get("apdex_t"),
                transactionApdexT: [:],
                createdAt: try row.get("created_at"),
                lastSeenAt: try row.get("last_seen_at"),
                language: try row.get("language"),
                agentVersion: try row.get("agent_version")
            )
        }
        guard !apps.isEmpty else { return apps }
        let positions = Dictionary(apps.enumerated().map { ($0.element.id, $0.offset) }) { first, _ in first }
        for row in try await connection.rows(
            "SELECT app_id, name, apdex_t FROM transaction_apdex WHERE app_id = ANY(\(Array(positions.keys))::bigint[])",
            logger
        ) {
            guard let position = positions[try row.get("app_id", as: Int64.self)] else { continue }
            apps[position].transactionApdexT[try row.get("name", as: String.self)] = try row.get(
                "apdex_t",
                as: Double.self
            )
        }
        return apps
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func setApdex(appID: Int64, transaction: String?, seconds: Double?) async throws {
        switch (transaction, seconds) {
        case (nil, let seconds?):
            try await execute("UPDATE apps SET apdex_t = \(seconds) WHERE id = \(appID)")
        case (let name?, let seconds?):
            try await execute(
                """
                INSERT INTO transaction_apdex (app_id, name, apdex_t) VALUES (\(appID), \(name), \(seconds))
                ON CONFLICT (app_id, name) DO UPDATE SET apdex_t = excluded.apdex_t
                """
            )
        case (let name?, nil):
            try await execute("DELETE FROM transaction_apdex WHERE app_id = \(appID) AND name = \(name)")
        case (nil, nil):
            break
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func nameOverflow(appID: Int64) async throws -> NameOverflow {
        let row = try await rows("SELECT overflow_transactions, overflow_segments FROM apps WHERE id = \(appID)").first
        let examples = try await rows(
            "SELECT name FROM name_overflow_examples WHERE app_id = \(appID) ORDER BY first_seen, name LIMIT 20"
        ).map { try $0.get("name", as: String.self) }
        return NameOverflow(
            transactionCount: UInt64(clamping: try row?.get("overflow_transactions", as: Int64.self) ?? 0),
            segmentCount: UInt64(clamping: try row?.get("overflow_segments", as: Int64.self) ?? 0),
            examples: examples
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func transactionNames(appID: Int64) async throws -> [String] {
        // Bytes sort as SQLite sorts text.
        try await rows("SELECT name FROM app_names WHERE app_id = \(appID) AND kind = 0 ORDER BY name")
            .map { String(decoding: Data(bytesOf: try $0.get("name", as: ByteBuffer.self)), as: UTF8.self) }
    }

    // MARK: Deployments

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func recordDeployment(
        appID: Int64,
        at: Double,
        revision: String,
        description: String,
        user: String
    ) async throws -> Deployment {
        let id =
            try await rows(
                """
                INSERT INTO deployments (app_id, at, revision, description, "user")
                VALUES (\(appID), \(at), \(revision), \(description), \(user)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return Deployment(id: id, appID: appID, at: at, revision: revision, description: description, user: user)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func deployments(appID: Int64, range: Range<Int64>) async throws -> [Deployment] {
        try await rows(
            """
            SELECT * FROM deployments WHERE app_id = \(appID) AND at >= \(Double(range.lowerBound))
                AND at < \(Double(range.upperBound)) ORDER BY at
            """
        ).map {
            Deployment(
                id: try $0.get("id"),
                appID: try $0.get("app_id"),
                at: try $0.get("at"),
                revision: try $0.get("revision"),
                description: try $0.get("description"),
                user: try $0.get("user")
            )
        }
    }

    // MARK: Users

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createUser(
        accountID: Int64,
        name: String,
        passwordHash: String,
        role: UserRole,
        now: Double
    ) async throws -> StoredUser {
        let id =
            try await rows(
                """
                INSERT INTO users (account_id, name, password_hash, created_at, password_changed_at, role)
                VALUES (\(accountID), \(name), \(passwordHash), \(now), \(now), \(role.rawValue)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return StoredUser(
            id: id,
            accountID: accountID,
            name: name,
            passwordHash: passwordHash,
            createdAt: now,
            passwordChangedAt: now,
            role: role
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func setRole(userID: Int64, role: UserRole) async throws {
        try await execute("UPDATE users SET role = \(role.rawValue) WHERE id = \(userID)")
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func deleteUser(userID: Int64) async throws {
        try await transaction { [self] connection in
            try await connection.execute("DELETE FROM sessions WHERE user_id = \(userID)", self.logger)
            try await connection.execute("DELETE FROM users WHERE id = \(userID)", self.logger)
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func user(named name: String) async throws -> StoredUser? {
        try await rows("SELECT * FROM users WHERE name = \(name)").first.map(Self.user)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func users(accountID: Int64) async throws -> [StoredUser] {
        try await rows("SELECT * FROM users WHERE account_id = \(accountID) ORDER BY name COLLATE \"C\"").map(Self.user)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func setPassword(userID: Int64, passwordHash: String, now: Double) async throws {
        try await transaction { [self] connection in
            try await connection.execute(
                "UPDATE users SET password_hash = \(passwordHash), password_changed_at = \(now) WHERE id = \(userID)",
                self.logger
            )
            // A new password ends every session of the user: whoever held the old one is signed out.
            try await connection.execute("DELETE FROM sessions WHERE user_id = \(userID)", self.logger)
        }
    }

    static func user(_ row: PostgresRandomAccessRow) throws -> StoredUser {
        try StoredUser(row: PostgresStoredRow(row))
    }

    // MARK: API tokens

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createAPIToken(
        accountID: Int64,
        name: String,
        scope: APITokenScope,
        tokenHash: String,
        prefix: String,
        now: Double
    ) async throws -> APITokenRecord {
        let id =
            try await rows(
                """
                INSERT INTO api_tokens (account_id, name, scope, token_hash, prefix, created_at)
                VALUES (\(accountID), \(name), \(scope.rawValue), \(tokenHash), \(prefix), \(now)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return APITokenRecord(
            id: id,
            accountID: accountID,
            name: name,
            scope: scope,
            prefix: prefix,
            createdAt: now,
            revokedAt: nil
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func apiTokens(accountID: Int64) async throws -> [APITokenRecord] {
        try await rows("SELECT * FROM api_tokens WHERE account_id = \(accountID) ORDER BY id").map(Self.apiToken)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func revokeAPIToken(accountID: Int64, id: Int64, now: Double) async throws -> Bool {

        !(try await rows(
            """
            UPDATE api_tokens SET revoked_at = \(now)
            WHERE id = \(id) AND account_id = \(accountID) AND revoked_at IS NULL RETURNING id
            """
        ).isEmpty)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func activeAPIToken(hash tokenHash: String) async throws -> APITokenRecord? {
        try await rows("SELECT * FROM api_tokens WHERE token_hash = \(tokenHash) AND revoked_at IS NULL").first.map(
            Self.apiToken
        )
    }

    static func apiToken(_ row: PostgresRandomAccessRow) throws -> APITokenRecord {
        try APITokenRecord(row: PostgresStoredRow(row))
    }

    // MARK: Sessions

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createSession(_ session: StoredSession, maxSessions: Int, now: Double) async throws {
        try await transaction { [self] connection in
            try await connection.execute("LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE", self.logger)
            try await connection.execute("DELETE FROM sessions WHERE expires_at <= \(now)", self.logger)
            let count =
                try await connection.rows("SELECT count(*) AS n FROM sessions", self.logger).first?.get(
                    "n",
                    as: Int64.self
                ) ?? 0
            if count >= maxSessions {
                // Sliding expiry: the earliest to expire is the least recently used.
                try await connection.execute(
                    """
                    DELETE FROM sessions WHERE token_hash IN (
                        SELECT token_hash FROM sessions ORDER BY expires_at LIMIT \(count - Int64(maxSessions) + 1))
                    """,
                    self.logger
                )
            }
            try await connection.execute(
                """
                INSERT INTO sessions (token_hash, user_id, user_name, account_id, csrf, expires_at)
                VALUES (\(session.tokenHash), \(session.userID), \(session.userName), \(session.accountID), \(session.csrf),
                    \(session.expiresAt))
                """,
                self.logger
            )
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func session(tokenHash: String, now: Double, lifetime: Double) async throws -> StoredSession? {
        guard
            // The user's role with it: a change of role applies to live sessions at once; a session whose user
            // is gone finds no row.
            var session = try await rows(
                """
                SELECT sessions.*, users.role FROM sessions JOIN users ON users.id = sessions.user_id
                WHERE token_hash = \(tokenHash)
                """
            ).first.map(Self.session)
        else { return nil }
        guard session.expiresAt > now else {
            try await deleteSession(tokenHash: tokenHash)
            return nil
        }
        if now + lifetime - session.expiresAt > 300 {
            session.expiresAt = now + lifetime
            try await execute("UPDATE sessions SET expires_at = \(session.expiresAt) WHERE token_hash = \(tokenHash)")
        }
        return session
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func deleteSession(tokenHash: String) async throws {
        try await execute("DELETE FROM sessions WHERE token_hash = \(tokenHash)")
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func sessionCount() async throws -> Int {
        Int(try await rows("SELECT count(*) AS n FROM sessions").first?.get("n", as: Int64.self) ?? 0)
    }

    static func session(_ row: PostgresRandomAccessRow) throws -> StoredSession {
        try StoredSession(row: PostgresStoredRow(row))
    }

    // MARK: Sign-in throttle

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func reserveSignInAttempt(
        keys: [SignInThrottleKey],
        now: Double,
        maxEntries: Int
    ) async throws -> SignInThrottleVerdict {
        try await transaction { [self] connection -> SignInThrottleVerdict in
            // Attempts on several collectors at once are counted one after the other.
            try await connection.execute("LOCK TABLE sign_in_throttle IN SHARE ROW EXCLUSIVE MODE", self.logger)
            var rows: [String: (failures: Int, blockedUntil: Double, lastAt: Double)] = [:]
            var wait = 0.0
            for entry in keys {
                guard
                    let row = try await connection.rows(
                        "SELECT failures, blocked_until, last_at FROM sign_in_throttle WHERE key = \(entry.key)",
                        self.logger
                    ).first
                else { continue }
                let blockedUntil = try row.get("blocked_until", as: Double.self)
                rows[entry.key] = (
                    Int(try row.get("failures", as: Int64.self)), blockedUntil, try row.get("last_at", as: Double.self)
                )
                if blockedUntil > now { wait = max(wait, blockedUntil - now) }
            }
            if wait > 0 {
                // A refused attempt is an attempt too: the key stays among the most recently tried.
                for key in rows.keys {
                    try await connection.execute(
                        "UPDATE sign_in_throttle SET last_at = \(now) WHERE key = \(key)",
                        self.logger
                    )
                }
                return .wait(seconds: wait)
            }
            for entry in keys {
                let previous = rows[entry.key]
                let forgotten = previous.map { now - $0.lastAt > entry.policy.window } ?? true
                let failures = (forgotten ? 0 : previous?.failures ?? 0) + 1
                let blockedUntil = now + entry.policy.delay(afterFailures: failures)
                try await connection.execute(
                    """
                    INSERT INTO sign_in_throttle (key, failures, blocked_until, last_at)
                    VALUES (\(entry.key), \(Int64(failures)), \(blockedUntil), \(now))
                    ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                        blocked_until = excluded.blocked_until, last_at = excluded.last_at
                    """,
                    self.logger
                )
            }
            let count =
                try await connection.rows("SELECT count(*) AS n FROM sign_in_throttle", self.logger).first?
                .get("n", as: Int64.self) ?? 0
            if count > maxEntries {
                try await connection.execute(
                    """
                    DELETE FROM sign_in_throttle WHERE key IN (
                        SELECT key FROM sign_in_throttle ORDER BY last_at LIMIT \(count - Int64(maxEntries)))
                    """,
                    self.logger
                )
            }
            return .allowed
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func clearSignInAttempts(keys: [String]) async throws {
        try await execute("DELETE FROM sign_in_throttle WHERE key = ANY(\(keys)::text[])")
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func signInThrottleCount() async throws -> Int {
        Int(try await rows("SELECT count(*) AS n FROM sign_in_throttle").first?.get("n", as: Int64.self) ?? 0)
    }

    // MARK: Installation secrets

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func installationSecret(named name: String) async throws -> Data {
        var generator = SystemRandomNumberGenerator()
        let fresh = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try await execute(
            "INSERT INTO installation (name, value) VALUES (\(name), \(ByteBuffer(bytes: fresh))) ON CONFLICT DO NOTHING"
        )
        guard let row = try await rows("SELECT value FROM installation WHERE name = \(name)").first else {
            return fresh
        }
        return Data(bytesOf: try row.get("value", as: ByteBuffer.self))
    }

    // MARK: Maintenance

    /// As ``APMStore`` describes it, on PostgreSQL: one statement, so two collectors asking at once get one answer
    /// each and only one of them the lease.
    public func holdLease(_ name: String, holder: String, seconds: Double, now: Double) async throws -> Bool {
        let rows = try await rows(
            """
            INSERT INTO leases (name, holder, expires_at) VALUES (\(name), \(holder), \(now + seconds))
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
            WHERE leases.holder = excluded.holder OR leases.expires_at <= \(now)
            RETURNING holder
            """
        )
        return !rows.isEmpty
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func applyRetention(minuteCutoff: Int64, cutoff: Int64, batchIDCutoff: Int64) async throws -> RetentionReport
    {
        try await prepare()
        var report = RetentionReport(minuteRowsDeleted: 0, hourRowsDeleted: 0, otherRowsDeleted: 0)
        for (resolution, limit) in [(SliceResolution.minute, minuteCutoff), (.hour, cutoff)] {
            for prefix in ["txn", "app", "seg"] {
                let parent = Self.table(prefix, resolution)
                var deleted = 0
                // Whole partitions past the cutoff are dropped; the rows of the one it falls in are deleted.
                for partition in try await partitions(of: parent, resolution: resolution) where partition.end <= limit {
                    deleted += Int(
                        try await rows(PostgresQuery(unsafeSQL: "SELECT count(*) AS n FROM \(partition.name)")).first?
                            .get("n", as: Int64.self) ?? 0
                    )
                    try await execute(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(partition.name)"))
                    knownPartitions.withLock { _ = $0.remove(partition.name) }
                }
                deleted += try await deleteRows(
                    "DELETE FROM \(unescaped: parent) WHERE bucket < \(limit) RETURNING 1"
                )
                if resolution == .minute {
                    report.minuteRowsDeleted += deleted
                } else {
                    report.hourRowsDeleted += deleted
                }
            }
        }
        for table in ["error_minutes", "drop_minutes", "process_minutes"] {
            report.minuteRowsDeleted += try await deleteRows(
                "DELETE FROM \(unescaped: table) WHERE bucket < \(minuteCutoff) RETURNING 1"
            )
        }
        for (table, column) in [
            ("traces", "start"), ("deployments", "at"), ("process_events", "at"), ("issue_events", "created_at"),
        ] {
            report.otherRowsDeleted += try await deleteRows(
                "DELETE FROM \(unescaped: table) WHERE \(unescaped: column) < \(Double(cutoff)) RETURNING 1"
            )
        }
        // An issue someone resolved or ignored keeps its state (and its last sample) while its minutes age out.
        report.otherRowsDeleted += try await deleteRows(
            """
            DELETE FROM error_groups WHERE last_seen < \(Double(cutoff))
            AND state NOT IN ('resolved', 'resolved_next_deployment', 'ignored') RETURNING 1
            """
        )
        // An issue's counts by facet and samples age out with it; a merge's alias goes with the issue it points to.
        report.otherRowsDeleted += try await deleteRows(
            """
            DELETE FROM error_facets f WHERE f.last_seen < \(Double(cutoff))
            OR NOT EXISTS (SELECT 1 FROM error_groups g WHERE g.id = f.group_id) RETURNING 1
            """
        )
        report.otherRowsDeleted += try await deleteRows(
            "DELETE FROM error_samples WHERE at < \(Double(cutoff)) RETURNING 1"
        )
        report.otherRowsDeleted += try await deleteRows(
            """
            DELETE FROM error_group_aliases a
            WHERE a.merged_at < \(Double(cutoff)) AND NOT EXISTS (SELECT 1 FROM error_groups g WHERE g.id = a.group_id)
            RETURNING 1
            """
        )
        report.otherRowsDeleted += try await deleteRows(
            "DELETE FROM batches WHERE received_at < \(Double(batchIDCutoff)) RETURNING 1"
        )
        // Alert history: resolved incidents and finished notifications (open and pending ones stay).
        report.otherRowsDeleted += try await deleteRows(
            "DELETE FROM alert_incidents WHERE resolved_at < \(cutoff) RETURNING 1"
        )
        report.otherRowsDeleted += try await deleteRows(
            """
            DELETE FROM alert_deliveries WHERE created_at < \(Double(cutoff))
            AND (delivered_at IS NOT NULL OR gave_up_at IS NOT NULL) RETURNING 1
            """
        )
        return report
    }

    private func deleteRows(_ query: PostgresQuery) async throws -> Int {
        try await rows(query).count
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func statistics() async throws -> StoreStatistics {
        // Estimates (the planner's row counts): counting rows of a large table on every scrape would scan it.
        var rows: [String: Int] = [:]
        let tables = [
            "txn_minutes", "txn_hours", "app_minutes", "seg_minutes", "traces", "error_groups", "batches", "apps",
        ]
        for row in try await self.rows(
            """
            SELECT p.relname AS name, COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint AS n
            FROM pg_class p LEFT JOIN pg_inherits i ON i.inhparent = p.oid
            LEFT JOIN pg_class c ON c.oid = COALESCE(i.inhrelid, p.oid)
            WHERE p.relname = ANY(\(tables)::text[]) AND p.relnamespace = 'public'::regnamespace
            GROUP BY p.relname
            """
        ) {
            rows[try row.get("name")] = Int(try row.get("n", as: Int64.self))
        }
        let size =
            try await self.rows("SELECT pg_database_size(current_database()) AS n").first?.get(
                "n",
                as: Int64.self
            ) ?? 0
        return StoreStatistics(rows: rows, fileSize: size)
    }
}
