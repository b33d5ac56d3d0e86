"""What a handler receives: its job, and ways to act on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy.engine import Connection

from drip.dialect import FinishJob
from drip.exceptions import InvalidTransition
from drip.outcome import NO_OUTPUT, metadata_with_output
from drip.states import JobState

if TYPE_CHECKING:
    from drip.client import Client
    from drip.job import Job

__all__ = ["JobContext"]


class JobContext:
    """One execution of one job, as its handler sees it.

    ``args`` is the job's decoded args; ``job`` the full record as claimed
    (state ``running``, ``attempt`` counting this run); ``client`` the client
    the worker uses, for enqueueing follow-up jobs or for transactions.
    """

    def __init__(self, job: Job, client: Client, worker_id: str) -> None:
        self.job = job
        self.client = client
        self.worker_id = worker_id
        self.output: Any = NO_OUTPUT
        # Plain flags: set from the event loop, read by the handler's thread.
        self._cancel_requested = False
        self._stop_requested = False
        # Set by the executor while a sync handler's thread runs.
        self._thread_done: anyio.Event | None = None

    @property
    def args(self) -> dict[str, Any]:
        return self.job.args

    @property
    def attempt(self) -> int:
        return self.job.attempt

    @property
    def cancel_requested(self) -> bool:
        """True once someone asked to cancel this job while it runs.

        Async handlers are cancelled outright; a sync handler should check
        this between steps and return (or raise ``drip.Cancel``). Either way
        the job ends ``cancelled``.
        """
        return self._cancel_requested

    @property
    def stop_requested(self) -> bool:
        """True once this run should end: cancelled, timed out, or shutting down.

        A sync handler cannot be interrupted; checking this between steps lets
        it return early. Its outcome is already decided: a cancel request ends
        the job ``cancelled``; a timeout or a shutdown past its grace period
        has recorded the job for retry, and the late return is ignored.
        """
        return self._cancel_requested or self._stop_requested

    def record_output(self, value: Any) -> None:
        """Keep ``value`` as the job's output (``metadata["output"]``).

        Stored when the job completes; recording twice keeps the last value.
        The value must be serializable, which is checked now.
        """
        self.client.serializer.dumps(value, what="output")
        self.output = value

    def complete(self, conn: Connection) -> None:
        """Complete the job inside the caller's transaction (the outbox pattern).

        The completion commits or rolls back with the handler's own writes in
        ``conn``: if the transaction rolls back, the job is not completed, and
        when the handler then raises, it is retried as usual. Raises
        ``InvalidTransition`` if the job is no longer this run's (rescued after
        a stall, or cancelled), so that the caller's writes roll back.
        """
        metadata = None
        if self.output is not NO_OUTPUT:
            metadata = metadata_with_output(
                self.client.serializer, self.job, self.output
            )
        plan = self.client.dialect.finish_job(
            FinishJob(
                id=self.job.id,
                state=JobState.COMPLETED,
                worker_id=self.worker_id,
                metadata=metadata,
            )
        )
        if not self.client.run(plan, conn=conn):
            raise InvalidTransition(
                f"job {self.job.id} is no longer running on this worker (it was "
                "rescued, cancelled or finished elsewhere); roll this transaction "
                "back so that its writes are not made twice"
            )

    def __repr__(self) -> str:
        job = self.job
        return f"<JobContext job={job.id} kind={job.kind!r} attempt={job.attempt}>"
