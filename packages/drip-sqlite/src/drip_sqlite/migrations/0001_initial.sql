-- Drip's schema on SQLite. Timestamps are UTC text in one fixed-width format,
-- 'YYYY-MM-DD HH:MM:SS.ffffff', so that comparing them as strings is correct.
-- The state bits in unique_active_key match drip.states.JobState.bit.

CREATE TABLE drip_job (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 128),
    queue TEXT NOT NULL DEFAULT 'default' CHECK (length(queue) BETWEEN 1 AND 128),
    state TEXT NOT NULL DEFAULT 'available' CHECK (state IN (
        'available', 'scheduled', 'pending', 'running',
        'retryable', 'completed', 'cancelled', 'discarded')),
    priority INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 1 AND 4),
    args TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    errors TEXT NOT NULL DEFAULT '[]',
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 25 CHECK (max_attempts BETWEEN 1 AND 32767),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'),
    scheduled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'),
    attempted_at TEXT,
    finalized_at TEXT,
    heartbeat_at TEXT,
    cancel_requested_at TEXT,
    worker_id TEXT,
    unique_key TEXT,
    unique_states INTEGER,
    unique_active_key TEXT GENERATED ALWAYS AS (
        CASE WHEN unique_states & (CASE state
            WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2
            WHEN 'pending' THEN 4 WHEN 'running' THEN 8
            WHEN 'retryable' THEN 16 WHEN 'completed' THEN 32
            WHEN 'cancelled' THEN 64 WHEN 'discarded' THEN 128 END) != 0
        THEN unique_key END
    ) VIRTUAL,
    timeout_ms INTEGER,
    ttl_ms INTEGER,
    ephemeral INTEGER NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX drip_job_unique_active_key ON drip_job (unique_active_key);

CREATE INDEX drip_job_fetch ON drip_job (queue, state, priority, scheduled_at, id);

CREATE INDEX drip_job_due ON drip_job (state, scheduled_at);

CREATE INDEX drip_job_finalized ON drip_job (state, finalized_at);

CREATE INDEX drip_job_kind ON drip_job (kind);

CREATE TABLE drip_queue (
    name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 128),
    metadata TEXT NOT NULL DEFAULT '{}',
    paused_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')
);
