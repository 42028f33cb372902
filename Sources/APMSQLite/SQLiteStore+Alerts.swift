public import APMStorage
import Foundation
import GRDB

extension SQLiteStore {
    /// As ``APMStore`` describes it.
    public func createAlertChannel(_ channel: AlertChannelRecord) async throws -> AlertChannelRecord {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO alert_channels (account_id, name, kind, target, secret, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    channel.accountID, channel.name, channel.kind.rawValue, channel.target, channel.secret,
                    channel.createdAt,
                ]
            )
            var stored = channel
            stored.id = db.lastInsertedRowID
            return stored
        }
    }

    /// As ``APMStore`` describes it.
    public func alertChannels(accountID: Int64) async throws -> [AlertChannelRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM alert_channels WHERE account_id = ? ORDER BY id",
                arguments: [accountID]
            )
            .map(Self.alertChannel)
        }
    }

    /// As ``APMStore`` describes it.
    public func deleteAlertChannel(accountID: Int64, id: Int64) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "DELETE FROM alert_channels WHERE id = ? AND account_id = ?",
                arguments: [id, accountID]
            )
            guard db.changesCount > 0 else { return false }
            try db.execute(
                sql:
                    "DELETE FROM alert_deliveries WHERE channel_id = ? AND delivered_at IS NULL AND gave_up_at IS NULL",
                arguments: [id]
            )
            for row in try Row.fetchAll(
                db,
                sql: "SELECT id, channel_ids FROM alert_conditions WHERE account_id = ?",
                arguments: [accountID]
            ) {
                let ids: [Int64] = AlertConditionRecord.channelIDs(stored: row["channel_ids"])
                guard ids.contains(id) else { continue }
                let kept = ids.filter { $0 != id }.map(String.init).joined(separator: ",")
                try db.execute(
                    sql: "UPDATE alert_conditions SET channel_ids = ? WHERE id = ?",
                    arguments: [kept, row["id"] as Int64]
                )
            }
            return true
        }
    }

    /// As ``APMStore`` describes it.
    public func createAlertCondition(_ condition: AlertConditionRecord) async throws -> AlertConditionRecord {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO alert_conditions (account_id, app_id, transaction_name, name, metric, window_minutes,
                        warning, critical, for_evaluations, min_requests, channel_ids, created_at, metric_name,
                        metric_filter)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    condition.accountID, condition.appID, condition.transaction, condition.name,
                    condition.metric.rawValue, condition.windowMinutes, condition.warning, condition.critical,
                    condition.forEvaluations, condition.minRequests, condition.storedChannelIDs, condition.createdAt,
                    condition.metricName, condition.metricFilter,
                ]
            )
            var stored = condition
            stored.id = db.lastInsertedRowID
            stored.state = AlertEvaluationState()
            return stored
        }
    }

    /// As ``APMStore`` describes it.
    public func alertConditions(accountID: Int64?) async throws -> [AlertConditionRecord] {
        try await writer.read { db in
            if let accountID {
                return try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM alert_conditions WHERE account_id = ? ORDER BY id",
                    arguments: [accountID]
                ).compactMap(Self.alertCondition)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM alert_conditions ORDER BY id").compactMap(
                Self.alertCondition
            )
        }
    }

    /// As ``APMStore`` describes it.
    public func deleteAlertCondition(accountID: Int64, id: Int64, now: Int64) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "DELETE FROM alert_conditions WHERE id = ? AND account_id = ?",
                arguments: [id, accountID]
            )
            guard db.changesCount > 0 else { return false }
            try db.execute(
                sql: "UPDATE alert_incidents SET resolved_at = ? WHERE condition_id = ? AND resolved_at IS NULL",
                arguments: [now, id]
            )
            return true
        }
    }

    /// As ``APMStore`` describes it.
    public func applyAlertEvaluation(_ write: AlertEvaluationWrite) async throws -> Bool {
        try await writer.write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT account_id, evaluated_through, channel_ids FROM alert_conditions WHERE id = ?",
                    arguments: [write.conditionID]
                ),
                (row["evaluated_through"] as Int64?) == write.previousEvaluatedThrough
            else { return false }
            try db.execute(
                sql: """
                    UPDATE alert_conditions SET evaluated_through = ?, warning_streak = ?, critical_streak = ?,
                        ok_streak = ? WHERE id = ?
                    """,
                arguments: [
                    write.state.evaluatedThrough, write.state.warningStreak, write.state.criticalStreak,
                    write.state.okStreak, write.conditionID,
                ]
            )
            guard let incident = write.incident else { return true }
            var incidentID = incident.id
            if incidentID == 0 {
                try db.execute(
                    sql: """
                        INSERT INTO alert_incidents (account_id, condition_id, app_id, transaction_name, severity,
                            opened_at, opened_value, last_value)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        incident.accountID, incident.conditionID, incident.appID, incident.transaction,
                        incident.severity.rawValue, incident.openedAt, incident.openedValue, incident.lastValue,
                    ]
                )
                incidentID = db.lastInsertedRowID
            } else {
                try db.execute(
                    sql: """
                        UPDATE alert_incidents SET severity = ?, escalated_at = ?, escalated_value = ?,
                            resolved_at = ?, resolved_value = ?, last_value = ? WHERE id = ?
                        """,
                    arguments: [
                        incident.severity.rawValue, incident.escalatedAt, incident.escalatedValue,
                        incident.resolvedAt, incident.resolvedValue, incident.lastValue, incidentID,
                    ]
                )
            }
            guard let event = write.event else { return true }
            let accountID: Int64 = row["account_id"]
            let existing = Set(
                try Int64.fetchAll(
                    db,
                    sql: "SELECT id FROM alert_channels WHERE account_id = ?",
                    arguments: [accountID]
                )
            )
            for channelID in AlertConditionRecord.channelIDs(stored: row["channel_ids"])
            where existing.contains(channelID) {
                try db.execute(
                    sql: """
                        INSERT INTO alert_deliveries (account_id, channel_id, incident_id, event, next_attempt_at,
                            created_at) VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [accountID, channelID, incidentID, event.rawValue, write.now, write.now]
                )
            }
            return true
        }
    }

    /// As ``APMStore`` describes it.
    public func alertIncidents(accountID: Int64, openOnly: Bool, limit: Int) async throws -> [AlertIncidentRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM alert_incidents WHERE account_id = ?
                    \(openOnly ? "AND resolved_at IS NULL" : "") ORDER BY id DESC LIMIT ?
                    """,
                arguments: [accountID, limit]
            ).compactMap(Self.alertIncident)
        }
    }

    /// As ``APMStore`` describes it.
    public func alertIncident(id: Int64) async throws -> AlertIncidentRecord? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM alert_incidents WHERE id = ?", arguments: [id]).flatMap(
                Self.alertIncident
            )
        }
    }

    /// As ``APMStore`` describes it.
    public func acknowledgeAlertIncident(accountID: Int64, id: Int64, by: String, at: Double) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE alert_incidents SET acknowledged_at = COALESCE(acknowledged_at, ?),
                        acknowledged_by = COALESCE(acknowledged_by, ?) WHERE id = ? AND account_id = ?
                    """,
                arguments: [at, by, id, accountID]
            )
            return db.changesCount > 0
        }
    }

    /// As ``APMStore`` describes it.
    public func enqueueAlertDelivery(_ delivery: AlertDeliveryRecord) async throws -> AlertDeliveryRecord {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO alert_deliveries (account_id, channel_id, incident_id, issue_id, condition_id, event,
                        next_attempt_at, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    delivery.accountID, delivery.channelID, delivery.incidentID, delivery.issueID,
                    delivery.conditionID, delivery.event.rawValue, delivery.nextAttemptAt, delivery.createdAt,
                ]
            )
            var stored = delivery
            stored.id = db.lastInsertedRowID
            return stored
        }
    }

    /// As ``APMStore`` describes it.
    public func dueAlertDeliveries(now: Double, limit: Int) async throws -> [AlertDeliveryRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM alert_deliveries
                    WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?
                    """,
                arguments: [now, limit]
            ).compactMap(Self.alertDelivery)
        }
    }

    /// As ``APMStore`` describes it.
    public func updateAlertDelivery(_ delivery: AlertDeliveryRecord) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE alert_deliveries SET attempts = ?, next_attempt_at = ?, delivered_at = ?, gave_up_at = ?,
                        last_error = ? WHERE id = ?
                    """,
                arguments: [
                    delivery.attempts, delivery.nextAttemptAt, delivery.deliveredAt, delivery.gaveUpAt,
                    delivery.lastError, delivery.id,
                ]
            )
        }
    }

    /// As ``APMStore`` describes it.
    public func alertDeliveries(accountID: Int64, limit: Int) async throws -> [AlertDeliveryRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM alert_deliveries WHERE account_id = ? ORDER BY id DESC LIMIT ?",
                arguments: [accountID, limit]
            ).compactMap(Self.alertDelivery)
        }
    }

    /// As ``APMStore`` describes it.
    public func pendingIssueEvents(limit: Int) async throws -> [IssueEventRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM issue_events WHERE handled_at IS NULL ORDER BY id LIMIT ?",
                arguments: [limit]
            ).compactMap { try IssueEventRecord(row: $0) }
        }
    }

    /// As ``APMStore`` describes it.
    public func applyIssueEventNotification(_ notification: IssueEventNotification) async throws -> Int? {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE issue_events SET handled_at = ? WHERE id = ? AND handled_at IS NULL",
                arguments: [notification.now, notification.eventID]
            )
            guard db.changesCount > 0 else { return nil }
            var queued = 0
            for condition in notification.conditions {
                let existing = Set(
                    try Int64.fetchAll(
                        db,
                        sql: "SELECT id FROM alert_channels WHERE account_id = ?",
                        arguments: [condition.accountID]
                    )
                )
                for channelID in condition.channelIDs where existing.contains(channelID) {
                    try db.execute(
                        sql: """
                            INSERT INTO alert_deliveries (account_id, channel_id, issue_id, condition_id, event,
                                next_attempt_at, created_at)
                            SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (
                                SELECT 1 FROM alert_deliveries WHERE issue_id = ? AND channel_id = ?
                                    AND condition_id = ? AND created_at > ?)
                            """,
                        arguments: [
                            condition.accountID, channelID, notification.groupID, condition.id,
                            notification.event.rawValue, notification.now, notification.now,
                            notification.groupID, channelID, condition.id,
                            notification.now - notification.renotifyAfter,
                        ]
                    )
                    queued += db.changesCount
                }
            }
            return queued
        }
    }

    static func alertChannel(_ row: Row) throws -> AlertChannelRecord {
        try AlertChannelRecord(row: row)
    }

    static func alertCondition(_ row: Row) throws -> AlertConditionRecord? {
        try AlertConditionRecord(row: row)
    }

    static func alertIncident(_ row: Row) throws -> AlertIncidentRecord? {
        try AlertIncidentRecord(row: row)
    }

    static func alertDelivery(_ row: Row) throws -> AlertDeliveryRecord? {
        try AlertDeliveryRecord(row: row)
    }
}
