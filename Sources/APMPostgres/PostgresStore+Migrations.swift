extension PostgresStore {
    /// Named migrations, applied in order, each once. Released migrations are never edited: add a new one.
    ///
    /// Every primary key and unique constraint of app data starts with the app id, so that the tables can be
    /// distributed by it (Citus, docs/scale-out.md); accounts, keys, users, tokens and sessions are small and
    /// would be reference tables.
    ///
    /// `app_names.name` is `bytea`: a segment's name there is its transaction's and its own, joined by a NUL,
    /// which PostgreSQL's text cannot hold.
    static let migrations: [(name: String, statements: [String])] = [
        (
            "v1: the schema of SQLite's v7, minute and hour rows partitioned by bucket",
            [
                """
                CREATE TABLE accounts (
                    id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, created_at double precision NOT NULL)
                """,
                """
                CREATE TABLE license_keys (
                    id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), name text NOT NULL,
                    key_hash text NOT NULL UNIQUE, prefix text NOT NULL, created_at double precision NOT NULL,
                    revoked_at double precision)
                """,
                """
                CREATE TABLE apps (
                    id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), name text NOT NULL,
                    apdex_t double precision NOT NULL DEFAULT 0.5, created_at double precision NOT NULL,
                    last_seen_at double precision NOT NULL, language text NOT NULL DEFAULT '',
                    agent_version text NOT NULL DEFAULT '', overflow_transactions bigint NOT NULL DEFAULT 0,
                    overflow_segments bigint NOT NULL DEFAULT 0, UNIQUE (account_id, name))
                """,
                """
                CREATE TABLE transaction_apdex (
                    app_id bigint NOT NULL REFERENCES apps(id), name text NOT NULL, apdex_t double precision NOT NULL,
                    PRIMARY KEY (app_id, name))
                """,
                """
                CREATE TABLE app_names (
                    app_id bigint NOT NULL, kind smallint NOT NULL, name bytea NOT NULL, PRIMARY KEY (app_id, kind, name))
                """,
                """
                CREATE TABLE name_overflow_examples (
                    app_id bigint NOT NULL, name text NOT NULL, first_seen double precision NOT NULL,
                    PRIMARY KEY (app_id, name))
                """,
                """
                CREATE TABLE batches (
                    account_id bigint NOT NULL, batch_id text NOT NULL, app_id bigint NOT NULL,
                    received_at double precision NOT NULL, PRIMARY KEY (account_id, batch_id))
                """,
                "CREATE INDEX batches_received_at ON batches (received_at)",
                """
                CREATE TABLE deployments (
                    app_id bigint NOT NULL, id bigserial NOT NULL, at double precision NOT NULL, revision text NOT NULL,
                    description text NOT NULL, "user" text NOT NULL, PRIMARY KEY (app_id, id))
                """,
                "CREATE INDEX deployments_app_at ON deployments (app_id, at)",
                """
                CREATE TABLE traces (
                    app_id bigint NOT NULL, id bigserial NOT NULL, trace_id text NOT NULL,
                    transaction_name text NOT NULL, start double precision NOT NULL, duration double precision NOT NULL,
                    is_error boolean NOT NULL, payload text NOT NULL, PRIMARY KEY (app_id, id))
                """,
                "CREATE INDEX traces_app_start ON traces (app_id, start)",
                """
                CREATE TABLE error_groups (
                    app_id bigint NOT NULL, id bigserial NOT NULL, fingerprint text NOT NULL, type text NOT NULL,
                    message text NOT NULL, top_frame text NOT NULL, transaction_name text NOT NULL, count bigint NOT NULL,
                    first_seen double precision NOT NULL, last_seen double precision NOT NULL, sample text NOT NULL,
                    PRIMARY KEY (app_id, id), UNIQUE (app_id, fingerprint))
                """,
                """
                CREATE TABLE error_minutes (
                    app_id bigint NOT NULL, group_id bigint NOT NULL, bucket bigint NOT NULL, count bigint NOT NULL,
                    PRIMARY KEY (app_id, group_id, bucket))
                """,
                """
                CREATE TABLE drop_minutes (
                    app_id bigint NOT NULL, bucket bigint NOT NULL, transactions bigint NOT NULL, segments bigint NOT NULL,
                    traces bigint NOT NULL, errors bigint NOT NULL, overflowed_names bigint NOT NULL,
                    PRIMARY KEY (app_id, bucket))
                """,
                """
                CREATE TABLE process_minutes (
                    app_id bigint NOT NULL, bucket bigint NOT NULL, host text NOT NULL, pid bigint NOT NULL,
                    samples bigint NOT NULL, cpu_sum double precision NOT NULL, cpu_max double precision NOT NULL,
                    rss_sum double precision NOT NULL, rss_max bigint NOT NULL, threads_max bigint NOT NULL,
                    files_max bigint NOT NULL, PRIMARY KEY (app_id, bucket, host, pid))
                """,
                """
                CREATE TABLE process_events (
                    app_id bigint NOT NULL, id bigserial NOT NULL, at double precision NOT NULL, host text NOT NULL,
                    pid bigint NOT NULL, kind text NOT NULL, exit_code bigint, signal bigint, detail text NOT NULL,
                    PRIMARY KEY (app_id, id))
                """,
                "CREATE INDEX process_events_app_at ON process_events (app_id, at)",
                """
                CREATE TABLE users (
                    id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), name text NOT NULL UNIQUE,
                    password_hash text NOT NULL, created_at double precision NOT NULL,
                    password_changed_at double precision NOT NULL)
                """,
                """
                CREATE TABLE api_tokens (
                    id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), name text NOT NULL,
                    scope text NOT NULL, token_hash text NOT NULL UNIQUE, prefix text NOT NULL,
                    created_at double precision NOT NULL, revoked_at double precision)
                """,
                """
                CREATE TABLE sessions (
                    token_hash text PRIMARY KEY, user_id bigint NOT NULL, user_name text NOT NULL,
                    account_id bigint NOT NULL, csrf text NOT NULL, expires_at double precision NOT NULL)
                """,
                "CREATE INDEX sessions_user ON sessions (user_id)",
                "CREATE INDEX sessions_expires ON sessions (expires_at)",
                """
                CREATE TABLE sign_in_throttle (
                    key text PRIMARY KEY, failures bigint NOT NULL, blocked_until double precision NOT NULL,
                    last_at double precision NOT NULL)
                """,
                "CREATE INDEX sign_in_throttle_last ON sign_in_throttle (last_at)",
                "CREATE TABLE installation (name text PRIMARY KEY, value bytea NOT NULL)",
                """
                CREATE TABLE pending_spans (
                    account_id bigint NOT NULL, trace_id text NOT NULL, span_id text NOT NULL,
                    is_transaction boolean NOT NULL, received_at double precision NOT NULL, payload bytea NOT NULL,
                    PRIMARY KEY (account_id, trace_id, span_id))
                """,
                "CREATE INDEX pending_spans_received ON pending_spans (received_at, is_transaction)",
            ]
                + ["minutes", "hours"].flatMap { resolution in
                    [
                        """
                        CREATE TABLE txn_\(resolution) (
                            app_id bigint NOT NULL, bucket bigint NOT NULL, name text NOT NULL,
                            apdex_t double precision NOT NULL, kind smallint NOT NULL, count bigint NOT NULL,
                            errors bigint NOT NULL, satisfied bigint NOT NULL, tolerating bigint NOT NULL,
                            frustrated bigint NOT NULL, total double precision NOT NULL, min double precision NOT NULL,
                            max double precision NOT NULL, sum_squares double precision NOT NULL, db double precision NOT NULL,
                            ext double precision NOT NULL, histogram bytea NOT NULL, error_histogram bytea NOT NULL,
                            PRIMARY KEY (app_id, bucket, name, apdex_t)) PARTITION BY RANGE (bucket)
                        """,
                        """
                        CREATE TABLE app_\(resolution) (
                            app_id bigint NOT NULL, bucket bigint NOT NULL, kind smallint NOT NULL, count bigint NOT NULL,
                            errors bigint NOT NULL, satisfied bigint NOT NULL, tolerating bigint NOT NULL,
                            frustrated bigint NOT NULL, total double precision NOT NULL, min double precision NOT NULL,
                            max double precision NOT NULL, db double precision NOT NULL, ext double precision NOT NULL,
                            histogram bytea NOT NULL, PRIMARY KEY (app_id, bucket, kind)) PARTITION BY RANGE (bucket)
                        """,
                        """
                        CREATE TABLE seg_\(resolution) (
                            app_id bigint NOT NULL, bucket bigint NOT NULL, transaction_name text NOT NULL, name text NOT NULL,
                            category smallint NOT NULL, system text NOT NULL, operation text NOT NULL, target text NOT NULL,
                            count bigint NOT NULL, errors bigint NOT NULL, total double precision NOT NULL,
                            exclusive double precision NOT NULL, min double precision NOT NULL, max double precision NOT NULL,
                            slowest_statement text NOT NULL DEFAULT '', slowest_duration double precision NOT NULL DEFAULT 0,
                            PRIMARY KEY (app_id, bucket, transaction_name, name)) PARTITION BY RANGE (bucket)
                        """,
                    ]
                }
        ),
        (
            "v2: leases of periodic jobs",
            [
                """
                CREATE TABLE leases (
                    name text PRIMARY KEY, holder text NOT NULL, expires_at double precision NOT NULL)
                """
            ]
        ),
        (
            "v3: alert conditions, incidents, channels and notifications",
            [
                """
                CREATE TABLE alert_channels (
                    id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), name text NOT NULL,
                    kind text NOT NULL, target text NOT NULL, secret text NOT NULL,
                    created_at double precision NOT NULL)
                """,
                """
                CREATE TABLE alert_conditions (
                    id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id),
                    app_id bigint NOT NULL, transaction_name text, name text NOT NULL, metric text NOT NULL,
                    window_minutes bigint NOT NULL, warning double precision, critical double precision,
                    for_evaluations bigint NOT NULL, min_requests bigint NOT NULL, channel_ids text NOT NULL,
                    created_at double precision NOT NULL, evaluated_through bigint,
                    warning_streak bigint NOT NULL DEFAULT 0, critical_streak bigint NOT NULL DEFAULT 0,
                    ok_streak bigint NOT NULL DEFAULT 0)
                """,
                """
                CREATE TABLE alert_incidents (
                    id bigserial PRIMARY KEY, account_id bigint NOT NULL, condition_id bigint NOT NULL,
                    app_id bigint NOT NULL, transaction_name text, severity text NOT NULL, opened_at bigint NOT NULL,
                    opened_value double precision, escalated_at bigint, escalated_value double precision,
                    resolved_at bigint, resolved_value double precision, last_value double precision,
                    acknowledged_at double precision, acknowledged_by text)
                """,
                "CREATE UNIQUE INDEX alert_incidents_one_open ON alert_incidents (condition_id) WHERE resolved_at IS NULL",
                "CREATE INDEX alert_incidents_account ON alert_incidents (account_id, id)",
                """
                CREATE TABLE alert_deliveries (
                    id bigserial PRIMARY KEY, account_id bigint NOT NULL, channel_id bigint NOT NULL,
                    incident_id bigint, event text NOT NULL, attempts bigint NOT NULL DEFAULT 0,
                    next_attempt_at double precision NOT NULL, delivered_at double precision,
                    gave_up_at double precision, last_error text, created_at double precision NOT NULL)
                """,
                """
                CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at)
                WHERE delivered_at IS NULL AND gave_up_at IS NULL
                """,
                "CREATE INDEX alert_deliveries_account ON alert_deliveries (account_id, id)",
            ]
        ),
        (
            "v4: user roles",
            // Users from before roles could do everything: they stay admins.
            ["ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'admin'"]
        ),
        (
            "v5: a latency histogram per segment row",
            // NULL on rows from before: their calls have no percentiles. The partitions inherit the column.
            [
                "ALTER TABLE seg_minutes ADD COLUMN histogram bytea",
                "ALTER TABLE seg_hours ADD COLUMN histogram bytea",
            ]
        ),
        (
            "v6: sat_add, the saturating add of counts (SQLite's sat_add)",
            // A one-expression SQL function: PostgreSQL inlines it into the statement that calls it.
            [
                """
                CREATE FUNCTION sat_add(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
                RETURN LEAST(a::numeric + b, 9223372036854775807)::bigint
                """
            ]
        ),
        (
            "v7: error groups as issues: state, who changed it, ignore limits, regressions",
            [
                """
                ALTER TABLE error_groups ADD COLUMN state text NOT NULL DEFAULT 'unresolved',
                    ADD COLUMN state_changed_at double precision NOT NULL DEFAULT 0,
                    ADD COLUMN state_changed_by text NOT NULL DEFAULT '',
                    ADD COLUMN ignore_until_count bigint, ADD COLUMN ignore_until double precision,
                    ADD COLUMN regressed_at double precision
                """
            ]
        ),
        (
            "v8: issue events (new, regressed) and the notifications about them",
            [
                """
                CREATE TABLE issue_events (
                    id bigserial PRIMARY KEY, app_id bigint NOT NULL, group_id bigint NOT NULL, kind text NOT NULL,
                    transaction_name text NOT NULL, at double precision NOT NULL,
                    created_at double precision NOT NULL, handled_at double precision)
                """,
                "CREATE INDEX issue_events_pending ON issue_events (id) WHERE handled_at IS NULL",
                "ALTER TABLE alert_deliveries ADD COLUMN issue_id bigint, ADD COLUMN condition_id bigint",
                """
                CREATE INDEX alert_deliveries_issue ON alert_deliveries (issue_id, channel_id, created_at)
                WHERE issue_id IS NOT NULL
                """,
            ]
        ),
        (
            "v9: an issue's counts by transaction, host and user, its latest samples, merges",
            [
                """
                CREATE TABLE error_facets (
                    app_id bigint NOT NULL, group_id bigint NOT NULL, facet text NOT NULL, value text NOT NULL,
                    count bigint NOT NULL, last_seen double precision NOT NULL,
                    PRIMARY KEY (app_id, group_id, facet, value))
                """,
                """
                CREATE TABLE error_samples (
                    id bigserial PRIMARY KEY, app_id bigint NOT NULL, group_id bigint NOT NULL,
                    at double precision NOT NULL, host text NOT NULL, sample text NOT NULL)
                """,
                "CREATE INDEX error_samples_group ON error_samples (group_id, at)",
                """
                CREATE TABLE error_group_aliases (
                    app_id bigint NOT NULL, fingerprint text NOT NULL, group_id bigint NOT NULL,
                    merged_at double precision NOT NULL, merged_by text NOT NULL, PRIMARY KEY (app_id, fingerprint))
                """,
            ]
        ),
        (
            "v10: application log lines with full-text search, counts and daily volumes",
            [
                // The search vector is made of the message's runs of letters and digits, as SQLite's FTS5
                // unicode61 tokenizer reads it (LogSearchTerms), with the built-in `simple` configuration: no
                // extension, no stemming, the same words found on both backends.
                """
                CREATE TABLE log_records (
                    id bigserial PRIMARY KEY, app_id bigint NOT NULL, time bigint NOT NULL, host text NOT NULL,
                    level smallint NOT NULL, message text NOT NULL, attributes text NOT NULL, trace_id text NOT NULL,
                    span_id text NOT NULL, transaction_name text NOT NULL,
                    search tsvector GENERATED ALWAYS AS
                        (to_tsvector('simple'::regconfig, regexp_replace(message, '[^[:alnum:]]+', ' ', 'g'))) STORED)
                """,
                "CREATE INDEX log_records_app_time ON log_records (app_id, time, id)",
                "CREATE INDEX log_records_trace ON log_records (app_id, trace_id) WHERE trace_id <> ''",
                "CREATE INDEX log_records_search ON log_records USING gin (search)",
                "CREATE INDEX traces_app_trace ON traces (app_id, trace_id)",
                """
                CREATE TABLE log_counts (
                    app_id bigint NOT NULL, bucket bigint NOT NULL, level smallint NOT NULL, count bigint NOT NULL,
                    PRIMARY KEY (app_id, bucket, level))
                """,
                """
                CREATE TABLE log_volume (
                    app_id bigint NOT NULL, day bigint NOT NULL, stored bigint NOT NULL, dropped_cap bigint NOT NULL,
                    cut bigint NOT NULL, dropped_agent bigint NOT NULL, PRIMARY KEY (app_id, day))
                """,
            ]
        ),
        (
            "v11: metric series and their minute and hour rows; alert conditions on a metric",
            [
                """
                CREATE TABLE metric_series (
                    app_id bigint NOT NULL, id bigserial NOT NULL, host text NOT NULL, process bigint NOT NULL,
                    name text NOT NULL, attributes text NOT NULL, unit text NOT NULL, kind smallint NOT NULL,
                    bounds text NOT NULL, first_seen double precision NOT NULL, last_seen double precision NOT NULL,
                    cumulative_start bigint, cumulative_time bigint, cumulative_value double precision,
                    cumulative_counts text,
                    PRIMARY KEY (app_id, id), UNIQUE (app_id, name, host, process, attributes))
                """
            ]
                + ["metric_minutes", "metric_hours"].map { table in
                    """
                    CREATE TABLE \(table) (
                        app_id bigint NOT NULL, series_id bigint NOT NULL, bucket bigint NOT NULL, count bigint NOT NULL,
                        sum double precision NOT NULL, min double precision, max double precision,
                        last double precision NOT NULL, last_time bigint NOT NULL, counts text NOT NULL,
                        PRIMARY KEY (app_id, series_id, bucket))
                    """
                }
                + [
                    """
                    ALTER TABLE alert_conditions ADD COLUMN metric_name text NOT NULL DEFAULT '',
                        ADD COLUMN metric_filter text NOT NULL DEFAULT ''
                    """
                ]
        ),
    ]
}
