import APMStorage
import GRDB

extension SQLiteStore {
    /// Named migrations. Released migrations are never edited: add a new one instead.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: accounts, keys, apps, metrics, traces, errors, deployments") { db in
            try db.execute(sql: firstSchema)
            for resolution in ["minutes", "hours"] {
                try db.execute(sql: figureSchema(resolution))
            }
        }
        migrator.registerMigration("v2: process metrics and events from apm run-program") { db in
            try db.execute(sql: processSchema)
        }
        migrator.registerMigration("v3: dashboard users") { db in
            try db.execute(sql: userSchema)
        }
        migrator.registerMigration("v4: the slowest statement per segment row") { db in
            for table in ["seg_minutes", "seg_hours"] {
                try db.execute(
                    sql: """
                        ALTER TABLE \(table) ADD COLUMN slowest_statement TEXT NOT NULL DEFAULT '';
                        ALTER TABLE \(table) ADD COLUMN slowest_duration REAL NOT NULL DEFAULT 0;
                        """
                )
            }
        }
        migrator.registerMigration("v5: batch ids per account; integer sums saturate") { db in
            try migrateToAccountBatchIDsAndSaturatedSums(db)
        }
        migrator.registerMigration("v6: API tokens, sessions, sign-in throttle and installation secrets in the store") {
            db in
            try db.execute(sql: accessSchema)
        }
        migrator.registerMigration("v7: OTLP spans waiting for the rest of their trace") { db in
            try db.execute(sql: pendingSpanSchema)
        }
        migrator.registerMigration("v8: leases of periodic jobs") { db in
            try db.execute(sql: leaseSchema)
        }
        migrator.registerMigration("v9: alert conditions, incidents, channels and notifications") { db in
            try db.execute(sql: SQLiteStore.alertSchema)
        }
        migrator.registerMigration("v10: user roles") { db in
            // Users from before roles could do everything: they stay admins.
            try db.execute(sql: "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'")
        }
        migrator.registerMigration("v11: a latency histogram per segment row") { db in
            // NULL on rows from before: their calls have no percentiles (hist_merge reads NULL as empty).
            for table in ["seg_minutes", "seg_hours"] {
                try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN histogram BLOB")
            }
        }
        migrator.registerMigration("v12: error groups as issues: state, who changed it, ignore limits, regressions") {
            db in
            try db.execute(sql: issueStateSchema)
        }
        migrator.registerMigration("v13: issue events (new, regressed) and the notifications about them") { db in
            try db.execute(sql: issueEventSchema)
        }
        migrator.registerMigration("v14: an issue's counts by transaction, host and user, its latest samples, merges") {
            db in
            try db.execute(sql: issueDetailSchema)
        }
        migrator.registerMigration("v15: application log lines with full-text search, counts and daily volumes") {
            db in
            try db.execute(sql: logSchema)
        }
        migrator.registerMigration("v16: metric series and their minute and hour rows; alert conditions on a metric") {
            db in
            try db.execute(sql: metricSchema)
            try db.execute(
                sql: """
                    ALTER TABLE alert_conditions ADD COLUMN metric_name TEXT NOT NULL DEFAULT '';
                    ALTER TABLE alert_conditions ADD COLUMN metric_filter TEXT NOT NULL DEFAULT '';
                    """
            )
        }
        return migrator
    }

    /// v5: idempotency per (account, batch id), and integer sums that overflowed into REALs clamped back.
    static func migrateToAccountBatchIDsAndSaturatedSums(_ db: Database) throws {
        // Idempotency is per (account, batch id): two accounts may send byte-identical OTLP exports, whose
        // ids derive from the body.
        try db.execute(
            sql: """
                CREATE TABLE batches_v5 (
                    account_id INTEGER NOT NULL,
                    batch_id TEXT NOT NULL,
                    app_id INTEGER NOT NULL,
                    received_at REAL NOT NULL,
                    PRIMARY KEY (account_id, batch_id)
                ) WITHOUT ROWID;
                INSERT OR IGNORE INTO batches_v5 (account_id, batch_id, app_id, received_at)
                    SELECT apps.account_id, batches.batch_id, batches.app_id, batches.received_at
                    FROM batches JOIN apps ON apps.id = batches.app_id;
                DROP TABLE batches;
                ALTER TABLE batches_v5 RENAME TO batches;
                CREATE INDEX batches_received_at ON batches (received_at);
                """
        )
        // Before sat_add, a sum past Int64.max became a REAL, which reading as an integer cannot take.
        let integerColumns = [
            "txn_minutes": ["count", "errors", "satisfied", "tolerating", "frustrated"],
            "txn_hours": ["count", "errors", "satisfied", "tolerating", "frustrated"],
            "app_minutes": ["count", "errors", "satisfied", "tolerating", "frustrated"],
            "app_hours": ["count", "errors", "satisfied", "tolerating", "frustrated"],
            "seg_minutes": ["count", "errors"], "seg_hours": ["count", "errors"],
            "drop_minutes": ["transactions", "segments", "traces", "errors", "overflowed_names"],
            "error_groups": ["count"], "error_minutes": ["count"], "process_minutes": ["samples"],
            "apps": ["overflow_transactions", "overflow_segments"],
        ]
        for (table, columns) in integerColumns {
            for column in columns {
                try db.execute(
                    sql: """
                        UPDATE \(table) SET \(column) = CASE WHEN \(column) >= 9.2e18 THEN 9223372036854775807
                            WHEN \(column) <= -9.2e18 THEN -9223372036854775808 ELSE CAST(\(column) AS INTEGER) END
                        WHERE typeof(\(column)) = 'real'
                        """
                )
            }
        }
    }
}
