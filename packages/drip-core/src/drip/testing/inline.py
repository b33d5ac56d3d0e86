"""Running a handler inline, and asserting what was enqueued, for app tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import anyio

from drip.context import JobContext
from drip.exceptions import Cancel, Discard, Snooze
from drip.handlers import HandlerFunction, HandlerSpec, Registry
from drip.job import Job
from drip.outcome import NO_OUTPUT, OutcomeKind
from drip.serializers import JSONSerializer
from drip.states import JobState

__all__ = ["InlineResult", "assert_enqueued", "run_inline"]


@dataclasses.dataclass(frozen=True)
class InlineResult:
    """What a handler decided when run inline.

    ``outcome`` is completed, snooze, cancel or discard (a failure raises, so
    the test shows its traceback); ``output`` what it recorded, if anything.
    """

    outcome: OutcomeKind
    output: Any = None
    reason: str | None = None
    job: Job | None = None


def run_inline(
    handler: HandlerSpec | HandlerFunction | Registry,
    args: Mapping[str, Any] | None = None,
    *,
    kind: str | None = None,
    client: Any = None,
    **job_fields: Any,
) -> InlineResult:
    """Run a handler once on an in-memory job, with no database or worker.

    ``handler`` is a handler (or a ``Registry`` together with ``kind``).
    ``job_fields`` override fields of the made-up job (``attempt``, ``queue``,
    ``metadata``...). The args go through the JSON serializer first, so the
    handler sees what it would see in production. Works for sync and async
    handlers; call it from synchronous test code.
    """
    spec = _spec(handler, kind)
    serializer = client.serializer if client is not None else JSONSerializer()
    job = _job(
        spec.kind, serializer.loads(serializer.dumps(dict(args or {}))), job_fields
    )
    stand_in: Any = client or _SerializerOnly(serializer)
    context = JobContext(job, stand_in, "inline")

    try:
        if spec.is_async:
            anyio.run(spec.function, context)
        else:
            spec.function(context)
    except Snooze:
        return InlineResult(OutcomeKind.SNOOZE, job=job)
    except Cancel as cancel:
        return InlineResult(OutcomeKind.CANCEL, reason=cancel.reason, job=job)
    except Discard as discard:
        return InlineResult(OutcomeKind.DISCARD, reason=discard.reason, job=job)

    output = None if context.output is NO_OUTPUT else context.output
    return InlineResult(OutcomeKind.COMPLETED, output=output, job=job)


def assert_enqueued(
    client: Any,
    kind: str,
    *,
    args: Mapping[str, Any] | None = None,
    queue: str | None = None,
    priority: int | None = None,
    count: int | None = None,
    conn: Any = None,
) -> list[Job]:
    """Assert that jobs of ``kind`` were enqueued; return the matching jobs.

    ``args`` matches when every given key has the given value (other keys are
    ignored). ``count`` demands exactly that many matches; otherwise at least
    one. The failure message lists the jobs of that kind that were found.
    """
    found = client.list(kinds=[kind], limit=10_000, conn=conn)
    matching = [
        job
        for job in found
        if (queue is None or job.queue == queue)
        and (priority is None or job.priority == priority)
        and all(
            job.args.get(key, _MISSING) == value for key, value in (args or {}).items()
        )
    ]
    wanted = f"exactly {count}" if count is not None else "at least one"
    if (count is None and not matching) or (
        count is not None and len(matching) != count
    ):
        seen = "\n".join(
            f"  job {job.id}: queue={job.queue!r} priority={job.priority} args={job.args!r}"
            for job in found
        )
        raise AssertionError(
            f"expected {wanted} {kind!r} job matching args={dict(args or {})!r}"
            f" queue={queue!r} priority={priority!r}, found {len(matching)}; "
            f"jobs of that kind:\n{seen or '  (none)'}"
        )
    return list(reversed(matching))


_MISSING = object()


class _SerializerOnly:
    """Stands in for a client when a handler runs inline without one."""

    def __init__(self, serializer: Any) -> None:
        self.serializer = serializer


def _spec(handler: Any, kind: str | None) -> HandlerSpec:
    if isinstance(handler, Registry):
        if kind is None:
            raise TypeError("run_inline with a Registry needs kind=")
        return handler[kind]
    if isinstance(handler, HandlerSpec):
        return handler
    if callable(handler):
        name = kind or handler.__name__
        return HandlerSpec(kind=name, function=handler)
    raise TypeError(f"not a handler: {handler!r}")


def _job(kind: str, args: dict[str, Any], fields: dict[str, Any]) -> Job:
    now = datetime.now(UTC)
    defaults: dict[str, Any] = {
        "id": 1,
        "kind": kind,
        "queue": "default",
        "state": JobState.RUNNING,
        "priority": 1,
        "args": args,
        "metadata": {},
        "tags": (),
        "errors": (),
        "attempt": 1,
        "max_attempts": 25,
        "created_at": now,
        "scheduled_at": now,
        "attempted_at": now,
        "finalized_at": None,
        "heartbeat_at": now,
        "worker_id": "inline",
        "unique_key": None,
        "timeout": None,
        "ttl": None,
        "ephemeral": False,
    }
    unknown = set(fields) - set(defaults)
    if unknown:
        raise TypeError(f"unknown job fields: {', '.join(sorted(unknown))}")
    return Job(**{**defaults, **fields})
