-- Maintenance: the leadership lease, periodic schedules' last enqueued slots,
-- and an index for finding running jobs whose heartbeat stopped.

CREATE TABLE drip_leader (
    name TEXT PRIMARY KEY,
    leader_id TEXT,
    elected_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ NOT NULL
);

INSERT INTO drip_leader (name, leader_id, elected_at, expires_at)
VALUES ('maintenance', NULL, NULL, '1970-01-01 00:00:00+00');

CREATE TABLE drip_periodic (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    last_slot TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX drip_job_heartbeat ON drip_job (state, heartbeat_at);
