-- Drip's schema on MariaDB (10.6 or newer). Timestamps are DATETIME(6) holding
-- UTC (written from UTC_TIMESTAMP(6), never from the session's time zone); JSON
-- documents are JSON columns (LONGTEXT checked with JSON_VALID). The binary,
-- no-pad collation compares names exactly as the other databases do: case and
-- trailing spaces matter. The state bits in unique_active_key match
-- drip.states.JobState.bit.

CREATE TABLE drip_job (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind VARCHAR(128) NOT NULL CHECK (CHAR_LENGTH(kind) BETWEEN 1 AND 128),
    queue VARCHAR(128) NOT NULL DEFAULT 'default' CHECK (CHAR_LENGTH(queue) BETWEEN 1 AND 128),
    state VARCHAR(16) NOT NULL DEFAULT 'available' CHECK (state IN (
        'available', 'scheduled', 'pending', 'running',
        'retryable', 'completed', 'cancelled', 'discarded')),
    priority SMALLINT NOT NULL DEFAULT 1 CHECK (priority BETWEEN 1 AND 4),
    args JSON NOT NULL DEFAULT '{}',
    metadata JSON NOT NULL DEFAULT '{}',
    tags JSON NOT NULL DEFAULT '[]',
    errors JSON NOT NULL DEFAULT '[]',
    attempt INT NOT NULL DEFAULT 0,
    max_attempts INT NOT NULL DEFAULT 25 CHECK (max_attempts BETWEEN 1 AND 32767),
    created_at DATETIME(6) NOT NULL DEFAULT UTC_TIMESTAMP(6),
    scheduled_at DATETIME(6) NOT NULL DEFAULT UTC_TIMESTAMP(6),
    attempted_at DATETIME(6) NULL,
    finalized_at DATETIME(6) NULL,
    heartbeat_at DATETIME(6) NULL,
    cancel_requested_at DATETIME(6) NULL,
    worker_id VARCHAR(255) NULL,
    unique_key VARCHAR(64) NULL,
    unique_states INT NULL,
    unique_active_key VARCHAR(64) AS (
        CASE WHEN unique_states & (CASE state
            WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2
            WHEN 'pending' THEN 4 WHEN 'running' THEN 8
            WHEN 'retryable' THEN 16 WHEN 'completed' THEN 32
            WHEN 'cancelled' THEN 64 WHEN 'discarded' THEN 128 END) <> 0
        THEN unique_key END
    ) PERSISTENT,
    timeout_ms BIGINT NULL,
    ttl_ms BIGINT NULL,
    ephemeral BOOLEAN NOT NULL DEFAULT FALSE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE UNIQUE INDEX drip_job_unique_active_key ON drip_job (unique_active_key);

CREATE INDEX drip_job_fetch ON drip_job (queue, state, priority, scheduled_at, id);

CREATE INDEX drip_job_due ON drip_job (state, scheduled_at);

CREATE INDEX drip_job_finalized ON drip_job (state, finalized_at);

CREATE INDEX drip_job_kind ON drip_job (kind);

CREATE TABLE drip_queue (
    name VARCHAR(128) NOT NULL PRIMARY KEY CHECK (CHAR_LENGTH(name) BETWEEN 1 AND 128),
    metadata JSON NOT NULL DEFAULT '{}',
    paused_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL DEFAULT UTC_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT UTC_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
