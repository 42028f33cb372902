import GRDB

/// The SQL of the schema's migrations (``SQLiteStore/migrator``), by what each creates. Released migrations are
/// never edited: add a new one instead.
extension SQLiteStore {
    /// The log tables: the lines (and their FTS5 index over the message, kept by triggers, with the tokenizer the
    /// search terms assume: ``LogSearchTerms``), per-minute counts per level, and what became of each day's lines.
    /// The index keeps which lines hold a word, not where (`detail = none`): a search asks for words, never for a
    /// phrase, and the index is a fraction of the size and of the work per insert.
    static let logSchema = """
        CREATE TABLE log_records (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL, time INTEGER NOT NULL, host TEXT NOT NULL, level INTEGER NOT NULL,
            message TEXT NOT NULL, attributes TEXT NOT NULL, trace_id TEXT NOT NULL, span_id TEXT NOT NULL,
            transaction_name TEXT NOT NULL
        );
        CREATE INDEX log_records_app_time ON log_records (app_id, time);
        CREATE INDEX log_records_trace ON log_records (app_id, trace_id) WHERE trace_id <> '';
        CREATE VIRTUAL TABLE log_search USING fts5(
            message, content = 'log_records', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 0',
            detail = none, columnsize = 0
        );
        CREATE TRIGGER log_records_indexed AFTER INSERT ON log_records BEGIN
            INSERT INTO log_search (rowid, message) VALUES (new.id, new.message);
        END;
        CREATE TRIGGER log_records_unindexed AFTER DELETE ON log_records BEGIN
            INSERT INTO log_search (log_search, rowid, message) VALUES ('delete', old.id, old.message);
        END;
        CREATE INDEX traces_app_trace ON traces (app_id, trace_id);
        CREATE TABLE log_counts (
            app_id INTEGER NOT NULL, bucket INTEGER NOT NULL, level INTEGER NOT NULL, count INTEGER NOT NULL,
            PRIMARY KEY (app_id, bucket, level)
        ) WITHOUT ROWID;
        CREATE TABLE log_volume (
            app_id INTEGER NOT NULL, day INTEGER NOT NULL, stored INTEGER NOT NULL, dropped_cap INTEGER NOT NULL,
            cut INTEGER NOT NULL, dropped_agent INTEGER NOT NULL,
            PRIMARY KEY (app_id, day)
        ) WITHOUT ROWID;
        """

    /// The alert tables (``AlertConditionRecord``, ``AlertIncidentRecord``, ``AlertChannelRecord``,
    /// ``AlertDeliveryRecord``). One open incident per condition is a unique index, not a convention.
    static let alertSchema = """
        CREATE TABLE alert_channels (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL, secret TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE TABLE alert_conditions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            app_id INTEGER NOT NULL, transaction_name TEXT, name TEXT NOT NULL, metric TEXT NOT NULL,
            window_minutes INTEGER NOT NULL, warning REAL, critical REAL, for_evaluations INTEGER NOT NULL,
            min_requests INTEGER NOT NULL, channel_ids TEXT NOT NULL, created_at REAL NOT NULL,
            evaluated_through INTEGER, warning_streak INTEGER NOT NULL DEFAULT 0,
            critical_streak INTEGER NOT NULL DEFAULT 0, ok_streak INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE alert_incidents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL, condition_id INTEGER NOT NULL, app_id INTEGER NOT NULL,
            transaction_name TEXT, severity TEXT NOT NULL, opened_at INTEGER NOT NULL, opened_value REAL,
            escalated_at INTEGER, escalated_value REAL, resolved_at INTEGER, resolved_value REAL, last_value REAL,
            acknowledged_at REAL, acknowledged_by TEXT
        );
        CREATE UNIQUE INDEX alert_incidents_one_open ON alert_incidents (condition_id) WHERE resolved_at IS NULL;
        CREATE INDEX alert_incidents_account ON alert_incidents (account_id, id);
        CREATE TABLE alert_deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL, channel_id INTEGER NOT NULL, incident_id INTEGER, event TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, delivered_at REAL, gave_up_at REAL,
            last_error TEXT, created_at REAL NOT NULL
        );
        CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
        CREATE INDEX alert_deliveries_account ON alert_deliveries (account_id, id);
        """

    /// The first schema (v1): accounts and keys, apps and their names, batches, deployments, traces, errors and
    /// drops.
    static let firstSchema = """
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL
        );
        CREATE TABLE license_keys (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE TABLE apps (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            apdex_t REAL NOT NULL DEFAULT 0.5,
            created_at REAL NOT NULL,
            last_seen_at REAL NOT NULL,
            language TEXT NOT NULL DEFAULT '',
            agent_version TEXT NOT NULL DEFAULT '',
            overflow_transactions INTEGER NOT NULL DEFAULT 0,
            overflow_segments INTEGER NOT NULL DEFAULT 0,
            UNIQUE (account_id, name)
        );
        CREATE TABLE transaction_apdex (
            app_id INTEGER NOT NULL REFERENCES apps(id),
            name TEXT NOT NULL,
            apdex_t REAL NOT NULL,
            PRIMARY KEY (app_id, name)
        ) WITHOUT ROWID;
        CREATE TABLE app_names (
            app_id INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (app_id, kind, name)
        ) WITHOUT ROWID;
        CREATE TABLE name_overflow_examples (
            app_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            first_seen REAL NOT NULL,
            PRIMARY KEY (app_id, name)
        ) WITHOUT ROWID;
        CREATE TABLE batches (
            batch_id TEXT PRIMARY KEY,
            app_id INTEGER NOT NULL,
            received_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX batches_received_at ON batches (received_at);
        CREATE TABLE deployments (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id),
            at REAL NOT NULL,
            revision TEXT NOT NULL,
            description TEXT NOT NULL,
            user TEXT NOT NULL
        );
        CREATE INDEX deployments_app_at ON deployments (app_id, at);
        CREATE TABLE traces (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL,
            trace_id TEXT NOT NULL,
            transaction_name TEXT NOT NULL,
            start REAL NOT NULL,
            duration REAL NOT NULL,
            is_error INTEGER NOT NULL,
            payload TEXT NOT NULL
        );
        CREATE INDEX traces_app_start ON traces (app_id, start);
        CREATE TABLE error_groups (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,
            type TEXT NOT NULL,
            message TEXT NOT NULL,
            top_frame TEXT NOT NULL,
            transaction_name TEXT NOT NULL,
            count INTEGER NOT NULL,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            sample TEXT NOT NULL,
            UNIQUE (app_id, fingerprint)
        );
        CREATE TABLE error_minutes (
            app_id INTEGER NOT NULL,
            group_id INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (app_id, group_id, bucket)
        ) WITHOUT ROWID;
        CREATE TABLE drop_minutes (
            app_id INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            transactions INTEGER NOT NULL,
            segments INTEGER NOT NULL,
            traces INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            overflowed_names INTEGER NOT NULL,
            PRIMARY KEY (app_id, bucket)
        ) WITHOUT ROWID;
        """

    /// The first schema's (v1) minute or hour rows: per transaction, per app, per segment.
    static func figureSchema(_ resolution: String) -> String {
        """
        CREATE TABLE txn_\(resolution) (
            app_id INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            name TEXT NOT NULL,
            apdex_t REAL NOT NULL,
            kind INTEGER NOT NULL,
            count INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            satisfied INTEGER NOT NULL,
            tolerating INTEGER NOT NULL,
            frustrated INTEGER NOT NULL,
            total REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            sum_squares REAL NOT NULL,
            db REAL NOT NULL,
            ext REAL NOT NULL,
            histogram BLOB NOT NULL,
            error_histogram BLOB NOT NULL,
            PRIMARY KEY (app_id, bucket, name, apdex_t)
        ) WITHOUT ROWID;
        CREATE TABLE app_\(resolution) (
            app_id INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            count INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            satisfied INTEGER NOT NULL,
            tolerating INTEGER NOT NULL,
            frustrated INTEGER NOT NULL,
            total REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            db REAL NOT NULL,
            ext REAL NOT NULL,
            histogram BLOB NOT NULL,
            PRIMARY KEY (app_id, bucket, kind)
        ) WITHOUT ROWID;
        CREATE TABLE seg_\(resolution) (
            app_id INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            transaction_name TEXT NOT NULL,
            name TEXT NOT NULL,
            category INTEGER NOT NULL,
            system TEXT NOT NULL,
            operation TEXT NOT NULL,
            target TEXT NOT NULL,
            count INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            total REAL NOT NULL,
            exclusive REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            PRIMARY KEY (app_id, bucket, transaction_name, name)
        ) WITHOUT ROWID;
        """
    }

    /// v2: process metrics and events from apm run-program.
    static let processSchema = """
        CREATE TABLE process_minutes (
            app_id INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            cpu_sum REAL NOT NULL,
            cpu_max REAL NOT NULL,
            rss_sum REAL NOT NULL,
            rss_max INTEGER NOT NULL,
            threads_max INTEGER NOT NULL,
            files_max INTEGER NOT NULL,
            PRIMARY KEY (app_id, bucket, host, pid)
        ) WITHOUT ROWID;
        CREATE TABLE process_events (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL,
            at REAL NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            kind TEXT NOT NULL,
            exit_code INTEGER,
            signal INTEGER,
            detail TEXT NOT NULL
        );
        CREATE INDEX process_events_app_at ON process_events (app_id, at);
        """

    /// v3: dashboard users.
    static let userSchema = """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            password_changed_at REAL NOT NULL
        );
        """

    /// v6: API tokens, sessions, sign-in throttle and installation secrets in the store.
    static let accessSchema = """
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            scope TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL,
            user_name TEXT NOT NULL,
            account_id INTEGER NOT NULL,
            csrf TEXT NOT NULL,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX sessions_user ON sessions (user_id);
        CREATE INDEX sessions_expires ON sessions (expires_at);
        CREATE TABLE sign_in_throttle (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            blocked_until REAL NOT NULL,
            last_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX sign_in_throttle_last ON sign_in_throttle (last_at);
        CREATE TABLE installation (
            name TEXT PRIMARY KEY,
            value BLOB NOT NULL
        ) WITHOUT ROWID;
        """

    /// v7: OTLP spans waiting for the rest of their trace.
    static let pendingSpanSchema = """
        CREATE TABLE pending_spans (
            account_id INTEGER NOT NULL,
            trace_id TEXT NOT NULL,
            span_id TEXT NOT NULL,
            is_transaction INTEGER NOT NULL,
            received_at REAL NOT NULL,
            payload BLOB NOT NULL,
            PRIMARY KEY (account_id, trace_id, span_id)
        ) WITHOUT ROWID;
        CREATE INDEX pending_spans_received ON pending_spans (received_at, is_transaction);
        """

    /// v8: leases of periodic jobs.
    static let leaseSchema = """
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID;
        """

    /// v12: error groups as issues: state, who changed it, ignore limits, regressions.
    static let issueStateSchema = """
        ALTER TABLE error_groups ADD COLUMN state TEXT NOT NULL DEFAULT 'unresolved';
        ALTER TABLE error_groups ADD COLUMN state_changed_at REAL NOT NULL DEFAULT 0;
        ALTER TABLE error_groups ADD COLUMN state_changed_by TEXT NOT NULL DEFAULT '';
        ALTER TABLE error_groups ADD COLUMN ignore_until_count INTEGER;
        ALTER TABLE error_groups ADD COLUMN ignore_until REAL;
        ALTER TABLE error_groups ADD COLUMN regressed_at REAL;
        """

    /// v13: issue events (new, regressed) and the notifications about them.
    static let issueEventSchema = """
        CREATE TABLE issue_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app_id INTEGER NOT NULL, group_id INTEGER NOT NULL, kind TEXT NOT NULL,
            transaction_name TEXT NOT NULL, at REAL NOT NULL, created_at REAL NOT NULL, handled_at REAL
        );
        CREATE INDEX issue_events_pending ON issue_events (id) WHERE handled_at IS NULL;
        ALTER TABLE alert_deliveries ADD COLUMN issue_id INTEGER;
        ALTER TABLE alert_deliveries ADD COLUMN condition_id INTEGER;
        CREATE INDEX alert_deliveries_issue ON alert_deliveries (issue_id, channel_id, created_at)
            WHERE issue_id IS NOT NULL;
        """

    /// v14: an issue's counts by transaction, host and user, its latest samples, merges.
    static let issueDetailSchema = """
        CREATE TABLE error_facets (
            app_id INTEGER NOT NULL, group_id INTEGER NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL,
            count INTEGER NOT NULL, last_seen REAL NOT NULL,
            PRIMARY KEY (app_id, group_id, facet, value)
        ) WITHOUT ROWID;
        CREATE TABLE error_samples (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app_id INTEGER NOT NULL, group_id INTEGER NOT NULL, at REAL NOT NULL, host TEXT NOT NULL,
            sample TEXT NOT NULL
        );
        CREATE INDEX error_samples_group ON error_samples (group_id, at);
        CREATE TABLE error_group_aliases (
            app_id INTEGER NOT NULL, fingerprint TEXT NOT NULL, group_id INTEGER NOT NULL,
            merged_at REAL NOT NULL, merged_by TEXT NOT NULL,
            PRIMARY KEY (app_id, fingerprint)
        ) WITHOUT ROWID;
        """
}
