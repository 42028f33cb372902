public import APMStorage
import Foundation
import PostgresNIO

extension PostgresStore {
    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createAlertChannel(_ channel: AlertChannelRecord) async throws -> AlertChannelRecord {
        var stored = channel
        stored.id =
            try await rows(
                """
                INSERT INTO alert_channels (account_id, name, kind, target, secret, created_at)
                VALUES (\(channel.accountID), \(channel.name), \(channel.kind.rawValue), \(channel.target),
                    \(channel.secret), \(channel.createdAt)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return stored
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func alertChannels(accountID: Int64) async throws -> [AlertChannelRecord] {
        try await rows("SELECT * FROM alert_channels WHERE account_id = \(accountID) ORDER BY id").map(
            Self.alertChannel
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func deleteAlertChannel(accountID: Int64, id: Int64) async throws -> Bool {
        try await transaction { [self] connection in
            let deleted = try await connection.rows(
                "DELETE FROM alert_channels WHERE id = \(id) AND account_id = \(accountID) RETURNING id",
                logger
            )
            guard !deleted.isEmpty else { return false }
            try await connection.execute(
                """
                DELETE FROM alert_deliveries
                WHERE channel_id = \(id) AND delivered_at IS NULL AND gave_up_at IS NULL
                """,
                logger
            )
            for row in try await connection.rows(
                "SELECT id, channel_ids FROM alert_conditions WHERE account_id = \(accountID) FOR UPDATE",
                logger
            ) {
                let ids = AlertConditionRecord.channelIDs(stored: try row.get("channel_ids", as: String.self))
                guard ids.contains(id) else { continue }
                let kept = ids.filter { $0 != id }.map(String.init).joined(separator: ",")
                let conditionID = try row.get("id", as: Int64.self)
                try await connection.execute(
                    "UPDATE alert_conditions SET channel_ids = \(kept) WHERE id = \(conditionID)",
                    logger
                )
            }
            return true
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func createAlertCondition(_ condition: AlertConditionRecord) async throws -> AlertConditionRecord {
        var stored = condition
        stored.state = AlertEvaluationState()
        stored.id =
            try await rows(
                """
                INSERT INTO alert_conditions (account_id, app_id, transaction_name, name, metric, window_minutes,
                    warning, critical, for_evaluations, min_requests, channel_ids, created_at, metric_name,
                    metric_filter)
                VALUES (\(condition.accountID), \(condition.appID), \(condition.transaction), \(condition.name),
                    \(condition.metric.rawValue), \(condition.windowMinutes), \(condition.warning),
                    \(condition.critical), \(condition.forEvaluations), \(condition.minRequests),
                    \(condition.storedChannelIDs), \(condition.createdAt), \(condition.metricName),
                    \(condition.metricFilter)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return stored
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func alertConditions(accountID: Int64?) async throws -> [AlertConditionRecord] {
        let found =
            if let accountID {
                try await rows("SELECT * FROM alert_conditions WHERE account_id = \(accountID) ORDER BY id")
            } else {
                try await rows("SELECT * FROM alert_conditions ORDER BY id")
            }
        return try found.compactMap(Self.alertCondition)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func deleteAlertCondition(accountID: Int64, id: Int64, now: Int64) async throws -> Bool {
        try await transaction { [self] connection in
            let deleted = try await connection.rows(
                "DELETE FROM alert_conditions WHERE id = \(id) AND account_id = \(accountID) RETURNING id",
                logger
            )
            guard !deleted.isEmpty else { return false }
            try await connection.execute(
                "UPDATE alert_incidents SET resolved_at = \(now) WHERE condition_id = \(id) AND resolved_at IS NULL",
                logger
            )
            return true
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL: the condition's row is locked first, so two collectors that
    /// evaluate the same window one after the other see the first one's state.
    public func applyAlertEvaluation(_ write: AlertEvaluationWrite) async throws -> Bool {
        try await transaction { [self] connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT account_id, evaluated_through, channel_ids FROM alert_conditions
                    WHERE id = \(write.conditionID) FOR UPDATE
                    """,
                    logger
                ).first,
                try row.get("evaluated_through", as: Int64?.self) == write.previousEvaluatedThrough
            else { return false }
            try await connection.execute(
                """
                UPDATE alert_conditions SET evaluated_through = \(write.state.evaluatedThrough),
                    warning_streak = \(write.state.warningStreak), critical_streak = \(write.state.criticalStreak),
                    ok_streak = \(write.state.okStreak) WHERE id = \(write.conditionID)
                """,
                logger
            )
            guard let incident = write.incident else { return true }
            var incidentID = incident.id
            if incidentID == 0 {
                incidentID =
                    try await connection.rows(
                        """
                        INSERT INTO alert_incidents (account_id, condition_id, app_id, transaction_name, severity,
                            opened_at, opened_value, last_value)
                        VALUES (\(incident.accountID), \(incident.conditionID), \(incident.appID),
                            \(incident.transaction), \(incident.severity.rawValue), \(incident.openedAt),
                            \(incident.openedValue), \(incident.lastValue)) RETURNING id
                        """,
                        logger
                    ).first?.get("id", as: Int64.self) ?? 0
            } else {
                try await connection.execute(
                    """
                    UPDATE alert_incidents SET severity = \(incident.severity.rawValue),
                        escalated_at = \(incident.escalatedAt), escalated_value = \(incident.escalatedValue),
                        resolved_at = \(incident.resolvedAt), resolved_value = \(incident.resolvedValue),
                        last_value = \(incident.lastValue) WHERE id = \(incidentID)
                    """,
                    logger
                )
            }
            guard let event = write.event else { return true }
            let accountID = try row.get("account_id", as: Int64.self)
            let existing = Set(
                try await connection.rows("SELECT id FROM alert_channels WHERE account_id = \(accountID)", logger)
                    .map { try $0.get("id", as: Int64.self) }
            )
            let channels = AlertConditionRecord.channelIDs(stored: try row.get("channel_ids", as: String.self))
            for channelID in channels where existing.contains(channelID) {
                try await connection.execute(
                    """
                    INSERT INTO alert_deliveries (account_id, channel_id, incident_id, event, next_attempt_at,
                        created_at)
                    VALUES (\(accountID), \(channelID), \(incidentID), \(event.rawValue), \(write.now), \(write.now))
                    """,
                    logger
                )
            }
            return true
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func alertIncidents(accountID: Int64, openOnly: Bool, limit: Int) async throws -> [AlertIncidentRecord] {
        let found =
            if openOnly {
                try await rows(
                    """
                    SELECT * FROM alert_incidents WHERE account_id = \(accountID) AND resolved_at IS NULL
                    ORDER BY id DESC LIMIT \(limit)
                    """
                )
            } else {
                try await rows(
                    "SELECT * FROM alert_incidents WHERE account_id = \(accountID) ORDER BY id DESC LIMIT \(limit)"
                )
            }
        return try found.compactMap(Self.alertIncident)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func alertIncident(id: Int64) async throws -> AlertIncidentRecord? {
        try await rows("SELECT * FROM alert_incidents WHERE id = \(id)").first.flatMap(Self.alertIncident)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func acknowledgeAlertIncident(accountID: Int64, id: Int64, by: String, at: Double) async throws -> Bool {
        !(try await rows(
            """
            UPDATE alert_incidents SET acknowledged_at = COALESCE(acknowledged_at, \(at)),
                acknowledged_by = COALESCE(acknowledged_by, \(by))
            WHERE id = \(id) AND account_id = \(accountID) RETURNING id
            """
        ).isEmpty)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func pendingIssueEvents(limit: Int) async throws -> [IssueEventRecord] {
        try await rows("SELECT * FROM issue_events WHERE handled_at IS NULL ORDER BY id LIMIT \(Int64(limit))")
            .compactMap { try IssueEventRecord(row: PostgresStoredRow($0)) }
    }

    /// As ``APMStore`` describes it, on PostgreSQL: the event's row is the lock, so two collectors that try the
    /// same event one after the other find it handled.
    public func applyIssueEventNotification(_ notification: IssueEventNotification) async throws -> Int? {
        try await transaction { [self] connection in
            let claimed = try await connection.rows(
                """
                UPDATE issue_events SET handled_at = \(notification.now)
                WHERE id = \(notification.eventID) AND handled_at IS NULL RETURNING id
                """,
                logger
            )
            guard !claimed.isEmpty else { return nil }
            var queued = 0
            for condition in notification.conditions {
                let existing = Set(
                    try await connection.rows(
                        "SELECT id FROM alert_channels WHERE account_id = \(condition.accountID)",
                        logger
                    ).map { try $0.get("id", as: Int64.self) }
                )
                for channelID in condition.channelIDs where existing.contains(channelID) {
                    queued +=
                        try await connection.rows(
                            """
                            INSERT INTO alert_deliveries (account_id, channel_id, issue_id, condition_id, event,
                                next_attempt_at, created_at)
                            SELECT \(condition.accountID), \(channelID), \(notification.groupID), \(condition.id),
                                \(notification.event.rawValue), \(notification.now), \(notification.now)
                            WHERE NOT EXISTS (
                                SELECT 1 FROM alert_deliveries WHERE issue_id = \(notification.groupID)
                                    AND channel_id = \(channelID) AND condition_id = \(condition.id)
                                    AND created_at > \(notification.now - notification.renotifyAfter))
                            RETURNING id
                            """,
                            logger
                        ).count
                }
            }
            return queued
        }
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func enqueueAlertDelivery(_ delivery: AlertDeliveryRecord) async throws -> AlertDeliveryRecord {
        var stored = delivery
        stored.id =
            try await rows(
                """
                INSERT INTO alert_deliveries (account_id, channel_id, incident_id, issue_id, condition_id, event,
                    next_attempt_at, created_at)
                VALUES (\(delivery.accountID), \(delivery.channelID), \(delivery.incidentID), \(delivery.issueID),
                    \(delivery.conditionID), \(delivery.event.rawValue), \(delivery.nextAttemptAt),
                    \(delivery.createdAt)) RETURNING id
                """
            ).first?.get("id", as: Int64.self) ?? 0
        return stored
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func dueAlertDeliveries(now: Double, limit: Int) async throws -> [AlertDeliveryRecord] {
        try await rows(
            """
            SELECT * FROM alert_deliveries
            WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= \(now) ORDER BY id LIMIT \(limit)
            """
        ).compactMap(Self.alertDelivery)
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func updateAlertDelivery(_ delivery: AlertDeliveryRecord) async throws {
        try await execute(
            """
            UPDATE alert_deliveries SET attempts = \(delivery.attempts), next_attempt_at = \(delivery.nextAttemptAt),
                delivered_at = \(delivery.deliveredAt), gave_up_at = \(delivery.gaveUpAt),
                last_error = \(delivery.lastError) WHERE id = \(delivery.id)
            """
        )
    }

    /// As ``APMStore`` describes it, on PostgreSQL.
    public func alertDeliveries(accountID: Int64, limit: Int) async throws -> [AlertDeliveryRecord] {
        try await rows(
            "SELECT * FROM alert_deliveries WHERE account_id = \(accountID) ORDER BY id DESC LIMIT \(limit)"
        ).compactMap(Self.alertDelivery)
    }

    static func alertChannel(_ row: PostgresRandomAccessRow) throws -> AlertChannelRecord {
        try AlertChannelRecord(row: PostgresStoredRow(row))
    }

    static func alertCondition(_ row: PostgresRandomAccessRow) throws -> AlertConditionRecord? {
        try AlertConditionRecord(row: PostgresStoredRow(row))
    }

    static func alertIncident(_ row: PostgresRandomAccessRow) throws -> AlertIncidentRecord? {
        try AlertIncidentRecord(row: PostgresStoredRow(row))
    }

    static func alertDelivery(_ row: PostgresRandomAccessRow) throws -> AlertDeliveryRecord? {
        try AlertDeliveryRecord(row: PostgresStoredRow(row))
    }
}
