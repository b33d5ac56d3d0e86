-- Maintenance: the leadership lease, periodic schedules' last enqueued slots,
-- and an index for finding running jobs whose heartbeat stopped.

CREATE TABLE drip_leader (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    leader_id VARCHAR(255) NULL,
    elected_at DATETIME(6) NULL,
    expires_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

INSERT INTO drip_leader (name, leader_id, elected_at, expires_at)
VALUES ('maintenance', NULL, NULL, '1970-01-01 00:00:00.000000');

CREATE TABLE drip_periodic (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    kind VARCHAR(128) NOT NULL,
    last_slot DATETIME(6) NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE INDEX drip_job_heartbeat ON drip_job (state, heartbeat_at);
