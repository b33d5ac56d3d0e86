"""What a handler receives: its job, and ways to report on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drip.outcome import NO_OUTPUT

if TYPE_CHECKING:
    from drip.client import Client
    from drip.job import Job

__all__ = ["JobContext"]


class JobContext:
    """One execution of one job, as its handler sees it.

    ``args`` is the job's decoded args; ``job`` the full record as claimed
    (state ``running``, ``attempt`` counting this run); ``client`` the client
    the worker uses, for enqueueing follow-up jobs.
    """

    def __init__(self, job: Job, client: Client, worker_id: str) -> None:
        self.job = job
        self.client = client
        self.worker_id = worker_id
        self.output: Any = NO_OUTPUT

    @property
    def args(self) -> dict[str, Any]:
        return self.job.args

    @property
    def attempt(self) -> int:
        return self.job.attempt

    def record_output(self, value: Any) -> None:
        """Keep ``value`` as the job's output (``metadata["output"]``).

        Stored when the job completes; recording twice keeps the last value.
        The value must be serializable, which is checked now.
        """
        self.client.serializer.dumps(value, what="output")
        self.output = value

    def __repr__(self) -> str:
        job = self.job
        return f"<JobContext job={job.id} kind={job.kind!r} attempt={job.attempt}>"
