-- Partial job indexes. A job changes state at least three times (inserted,
-- claimed, finished), and every change writes a new row version into every
-- index whose condition the new version meets. Each of these indexes now
-- holds only the rows its queries look for, so each change touches two or
-- three indexes instead of seven. The index on kind goes: no claim or
-- maintenance query uses it, and it cost a write at every state change;
-- listing or deleting jobs by kind alone now scans the table.
--
-- Queries name the states as literals (drip.schema.state_in) so that the
-- planner can match them to these conditions in any plan.
--
-- CREATE INDEX blocks writes to drip_job while it runs; on a large table,
-- apply this migration when workers are stopped.

DROP INDEX drip_job_fetch;

CREATE INDEX drip_job_fetch ON drip_job (queue, priority, scheduled_at, id)
    WHERE state = 'available';

DROP INDEX drip_job_due;

CREATE INDEX drip_job_due ON drip_job (scheduled_at)
    WHERE state IN ('scheduled', 'retryable');

DROP INDEX drip_job_finalized;

CREATE INDEX drip_job_finalized ON drip_job (state, finalized_at)
    WHERE state IN ('completed', 'cancelled', 'discarded');

DROP INDEX drip_job_kind;

DROP INDEX drip_job_unique_active_key;

CREATE UNIQUE INDEX drip_job_unique_active_key ON drip_job (unique_active_key)
    WHERE unique_active_key IS NOT NULL;

DROP INDEX drip_job_heartbeat;

CREATE INDEX drip_job_heartbeat ON drip_job (heartbeat_at)
    WHERE state = 'running';
