"""InsertResult: a bulk insert's results build their Job only when asked."""

from __future__ import annotations

from datetime import UTC, datetime

from drip import InsertResult, Job, JobState


def _job(job_id: int) -> Job:
    now = datetime.now(UTC)
    return Job(
        id=job_id,
        kind="noop",
        queue="default",
        state=JobState.AVAILABLE,
        priority=1,
        args={},
        metadata={},
        tags=(),
        errors=(),
        attempt=0,
        max_attempts=25,
        created_at=now,
        scheduled_at=now,
        attempted_at=None,
        finalized_at=None,
        heartbeat_at=None,
        worker_id=None,
        unique_key=None,
        timeout=None,
        ttl=None,
        ephemeral=False,
    )


def test_a_deferred_result_builds_its_job_once_on_first_access() -> None:
    built: list[int] = []

    def build() -> Job:
        built.append(7)
        return _job(7)

    result = InsertResult.deferred(7, build)

    assert result.id == 7
    assert result.duplicate is False
    assert built == []
    assert result.job.id == 7
    assert result.job is result.job
    assert built == [7]


def test_results_compare_by_job_and_duplicate_flag() -> None:
    job = _job(3)

    assert InsertResult.deferred(3, lambda: job) == InsertResult(job)
    assert InsertResult(job, duplicate=True) != InsertResult(job)
    assert "duplicate=True" in repr(InsertResult(job, duplicate=True))
