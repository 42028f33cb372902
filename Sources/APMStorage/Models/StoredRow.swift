package import APMCore
package import Foundation

/// A column type both backends read: integers, reals and text.
package protocol StoredColumnValue: Sendable {}
extension Int64: StoredColumnValue {}
extension Int: StoredColumnValue {}
extension Double: StoredColumnValue {}
extension String: StoredColumnValue {}

/// A row of either backend, read by column name, so that each record is decoded from its columns in one place
/// (the SQLite and PostgreSQL backends each adapt their own row type to it).
package protocol StoredRow {
    /// The column's value, `nil` when it is NULL or the query did not select it.
    ///
    /// - Parameter column: The column's name.
    /// - Returns: The value.
    /// - Throws: ``StoreError`` `damaged` when the column holds another type.
    func value<Value: StoredColumnValue>(_ column: String) throws -> Value?
}

extension StoredRow {
    /// A column that is never NULL.
    ///
    /// - Parameter column: The column's name.
    /// - Returns: The value.
    /// - Throws: ``StoreError`` `damaged` when it is NULL, missing or of another type.
    package func get<Value: StoredColumnValue>(_ column: String) throws -> Value {
        guard let value: Value = try value(column) else {
            throw StoreError(.damaged, "the stored column \(column) is NULL or missing where a value belongs")
        }
        return value
    }

    /// A column that may be NULL or not selected.
    ///
    /// - Parameter column: The column's name.
    /// - Returns: The value, `nil` when NULL or not selected.
    package func optional<Value: StoredColumnValue>(_ column: String) throws -> Value? {
        try value(column)
    }
}

// The records of credentials, users, sessions and alerts, decoded once for both backends.

extension CredentialRecord {
    package init(row: some StoredRow, kind: CredentialKind) throws {
        self.init(
            id: try row.get("id"),
            accountID: try row.get("account_id"),
            kind: kind,
            name: try row.get("name"),
            scope: kind == .apiToken ? APITokenScope(rawValue: try row.get("scope")) ?? .read : nil,
            prefix: try row.get("prefix"),
            createdAt: try row.get("created_at"),
            revokedAt: try row.optional("revoked_at")
        )
    }
}

extension StoredUser {
    package init(row: some StoredRow) throws {
        self.init(
            id: try row.get("id"),
            accountID: try row.get("account_id"),
            name: try row.get("name"),
            passwordHash: try row.get("password_hash"),
            createdAt: try row.get("created_at"),
            passwordChangedAt: try row.get("password_changed_at"),
            role: UserRole(rawValue: try row.optional("role") ?? "") ?? .viewer
        )
    }
}

extension StoredSession {
    package init(row: some StoredRow) throws {
        self.init(
            tokenHash: try row.get("token_hash"),
            userID: try row.get("user_id"),
            userName: try row.get("user_name"),
            accountID: try row.get("account_id"),
            csrf: try row.get("csrf"),
            expiresAt: try row.get("expires_at"),
            role: UserRole(rawValue: try row.optional("role") ?? "") ?? .viewer
        )
    }
}

extension AlertChannelRecord {
    package init(row: some StoredRow) throws {
        self.init(
            id: try row.get("id"),
            accountID: try row.get("account_id"),
            name: try row.get("name"),
            kind: AlertChannelKind(rawValue: try row.get("kind")) ?? .webhook,
            target: try row.get("target"),
            secret: try row.get("secret"),
            createdAt: try row.get("created_at")
        )
    }
}

extension AlertConditionRecord {
    /// `nil` for a metric this version does not know (written by a newer collector sharing the database).
    package init?(row: some StoredRow) throws {
        guard let metric = AlertMetric(rawValue: try row.get("metric")) else { return nil }
        self.init(
            id: try row.get("id"),
            accountID: try row.get("account_id"),
            appID: try row.get("app_id"),
            transaction: try row.optional("transaction_name"),
            name: try row.get("name"),
            metric: metric,
            windowMinutes: try row.get("window_minutes"),
            warning: try row.optional("warning"),
            critical: try row.optional("critical"),
            forEvaluations: try row.get("for_evaluations"),
            minRequests: try row.get("min_requests"),
            channelIDs: AlertConditionRecord.channelIDs(stored: try row.get("channel_ids")),
            createdAt: try row.get("created_at"),
            state: AlertEvaluationState(
                evaluatedThrough: try row.optional("evaluated_through"),
                warningStreak: try row.get("warning_streak"),
                criticalStreak: try row.get("critical_streak"),
                okStreak: try row.get("ok_streak")
            ),
            metricName: try row.get("metric_name"),
            metricFilter: try row.get("metric_filter")
        )
    }
}

extension AlertIncidentRecord {
    /// `nil` for a severity this version does not know.
    package init?(row: some StoredRow) throws {
        guard let severity = AlertSeverity(rawValue: try row.get("severity")) else { return nil }
        self.init(
            id: try row.get("id"),
            accountID: try row.get("account_id"),
            conditionID: try row.get("condition_id"),
            appID: try row.get("app_id"),
            transaction: try row.optional("transaction_name"),
            severity: severity,
            openedAt: try row.get("opened_at"),
            openedValue: try row.optional("opened_value"),
            escalatedAt: try row.optional("escalated_at"),
            escalatedValue: try row.optional("escalated_value"),
            resolvedAt: try row.optional("resolved_at"),
            resolvedValue: try row.optional("resolved_value"),
            lastValue: try row.optional("last_value"),
            acknowledgedAt: try row.optional("acknowledged_at"),
            acknowledgedBy: try row.optional("acknowledged_by")
        )
    }
}

extension AlertDeliveryRecord {
    /// `nil` for an event this version does not know.
    package init?(row: some StoredRow) throws {
        guard let event = AlertEvent(rawValue: try row.get("event")) else { return nil }
        self.init(
            id: try row.get("id"),
            accountID: try row.get("account_id"),
            channelID: try row.get("channel_id"),
            incidentID: try row.optional("incident_id"),
            issueID: try row.optional("issue_id"),
            conditionID: try row.optional("condition_id"),
            event: event,
            attempts: try row.get("attempts"),
            nextAttemptAt: try row.get("next_attempt_at"),
            deliveredAt: try row.optional("delivered_at"),
            gaveUpAt: try row.optional("gave_up_at"),
            lastError: try row.optional("last_error"),
            createdAt: try row.get("created_at")
        )
    }
}

extension IssueEventRecord {
    /// `nil` for a kind this version does not know.
    package init?(row: some StoredRow) throws {
        guard let kind = IssueEventKind(rawValue: try row.get("kind")) else { return nil }
        self.init(
            id: try row.get("id"),
            appID: try row.get("app_id"),
            groupID: try row.get("group_id"),
            kind: kind,
            transaction: try row.get("transaction_name"),
            at: try row.get("at")
        )
    }
}

// Rows of the minute and hour tables as the queries sum them; histograms are merged by each backend (SQLite in
// SQL, PostgreSQL from an array in Swift) and passed in.

extension TransactionSlice {
    /// A transaction row or a sum of them (sums of no rows are NULL: read as 0).
    package init(row: some StoredRow, bucket: Int64, name: String, histogram: LatencyHistogram) throws {
        let total: Double = try row.optional("total") ?? 0
        let database: Double = try row.optional("db") ?? 0
        let external: Double = try row.optional("ext") ?? 0
        func count(_ column: String) throws -> UInt64 { UInt64(clamping: try row.optional(column) ?? Int64(0)) }
        self.init(
            bucket: bucket,
            name: name,
            kind: TransactionKind(storageCode: Int16(truncatingIfNeeded: try row.optional("kind") ?? 0)),
            count: try count("count"),
            errors: try count("errors"),
            apdex: ApdexCounts(
                satisfied: try count("satisfied"),
                tolerating: try count("tolerating"),
                frustrated: try count("frustrated")
            ),
            total: total,
            min: try row.optional("min") ?? 0,
            max: try row.optional("max") ?? 0,
            breakdown: TimeBreakdown(
                database: database,
                external: external,
                application: Swift.max(0, total - database - external)
            ),
            histogram: histogram
        )
    }
}

extension ApdexSourceRow {
    /// The rows of one T summed: their Apdex counts, the T, and their histograms.
    package init(
        row: some StoredRow,
        histogram: LatencyHistogram,
        errorHistogram: LatencyHistogram
    ) throws {
        func count(_ column: String) throws -> UInt64 { UInt64(clamping: try row.get(column) as Int64) }
        self.init(
            apdexT: try row.get("apdex_t"),
            apdex: ApdexCounts(
                satisfied: try count("satisfied"),
                tolerating: try count("tolerating"),
                frustrated: try count("frustrated")
            ),
            count: try count("count"),
            errors: try count("errors"),
            histogram: histogram,
            errorHistogram: errorHistogram
        )
    }
}

extension SegmentSlice {
    /// A segment row or a sum of them.
    package init(row: some StoredRow, bucket: Int64, transaction: String) throws {
        self.init(
            bucket: bucket,
            transaction: transaction,
            name: try row.get("name"),
            category: SegmentCategory(storageCode: Int16(truncatingIfNeeded: try row.get("category") as Int)),
            system: try row.get("system"),
            operation: try row.get("operation"),
            target: try row.get("target"),
            count: UInt64(clamping: try row.get("count") as Int64),
            errors: UInt64(clamping: try row.get("errors") as Int64),
            total: try row.get("total"),
            exclusive: try row.get("exclusive"),
            min: try row.get("min"),
            max: try row.get("max")
        )
    }
}

extension ErrorGroupStatus {
    /// An error group row's state columns (absent before the query selected them: unresolved).
    package init(row: some StoredRow) throws {
        self.init(
            state: ErrorGroupState(rawValue: try row.optional("state") ?? "") ?? .unresolved,
            changedAt: try row.optional("state_changed_at") ?? 0,
            changedBy: try row.optional("state_changed_by") ?? "",
            ignoreUntilCount: (try row.optional("ignore_until_count") as Int64?).map { UInt64(clamping: $0) },
            ignoreUntil: try row.optional("ignore_until"),
            regressedAt: try row.optional("regressed_at")
        )
    }
}

extension ErrorGroup {
    /// An error group row with its count in the queried range (`range_count`) and its state.
    package init(row: some StoredRow, decoder: JSONDecoder) throws {
        self.init(
            id: try row.get("id"),
            fingerprint: try row.get("fingerprint"),
            type: try row.get("type"),
            message: try row.get("message"),
            topFrame: try row.get("top_frame"),
            transaction: try row.get("transaction_name"),
            count: UInt64(clamping: try row.get("range_count") as Int64),
            firstSeen: try row.get("first_seen"),
            lastSeen: try row.get("last_seen"),
            sample: try decoder.decode(ErrorSample.self, from: Data((try row.get("sample") as String).utf8))
        )
        status = try ErrorGroupStatus(row: row)
        usersAffected = Int(try row.optional("users_affected") ?? Int64(0))
    }
}

extension StoredErrorSample {
    package init(row: some StoredRow, decoder: JSONDecoder) throws {
        self.init(
            id: try row.get("id"),
            at: try row.get("at"),
            host: try row.get("host"),
            sample: try decoder.decode(ErrorSample.self, from: Data((try row.get("sample") as String).utf8))
        )
    }
}

extension ErrorFacetCount {
    package init(row: some StoredRow) throws {
        self.init(
            value: try row.get("value"),
            count: UInt64(clamping: try row.get("count") as Int64),
            lastSeen: try row.get("last_seen")
        )
    }
}
