"""Tracing middleware: a PRODUCER span per insert, a CONSUMER span per run.

On insert, the span's context (or, without an SDK, whatever context is
current) is stored in each job's metadata; see ``drip_otel.carrier``. In the
worker, the stored context becomes the parent of the span that runs the job
(or, with ``link=True``, a link from a new trace), and its baggage is made
current for the handler. Spans the handler opens nest under the job's span:
sync handlers run in a thread that inherits the current context.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import anyio
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

import drip
from drip.exceptions import Cancel, Discard, JobOutcome, Snooze
from drip_otel import attributes as attr
from drip_otel.carrier import METADATA_KEY, current_carrier, extract_from
from drip_otel.telemetry import Telemetry

if TYPE_CHECKING:
    from drip.middleware import ExecuteCall, InsertCall

__all__ = ["OtelMiddleware"]

_OUTCOME_NAMES: dict[type[JobOutcome], str] = {
    Snooze: "snooze",
    Cancel: "cancel",
    Discard: "discard",
}


class OtelMiddleware(drip.Middleware):
    """Traces inserts and executions and records Drip's job metrics.

    ``telemetry`` holds the tracer and instruments (global providers by
    default). ``link`` makes each execution start a new trace that links to
    the inserting one, instead of continuing it as a child.
    """

    def __init__(self, telemetry: Telemetry | None = None, *, link: bool = False):
        self.telemetry = telemetry or Telemetry()
        self.link = link

    def insert(
        self, specs: list[drip.JobSpec], call_next: InsertCall
    ) -> list[drip.InsertResult]:
        """Open a PRODUCER span, store its context in every job, then insert.

        Without an SDK there is no span to open: the current context, if any,
        is stored all the same, so a trace passing through an untraced
        process is not cut.
        """
        if not self.telemetry.is_tracing():
            results = call_next(_with_context(specs))
            self._count_inserted(specs, results)
            return results

        queues = sorted({spec.queue for spec in specs})
        name = attr.INSERT_OPERATION
        if len(queues) == 1:
            name = f"{name} {queues[0]}"
        with self.telemetry.tracer.start_as_current_span(
            name,
            kind=SpanKind.PRODUCER,
            attributes=_producer_attributes(specs, queues),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                results = call_next(_with_context(specs))
            except Exception as error:
                _record_error(span, error)
                raise
            _describe_results(span, results)

        self._count_inserted(specs, results)
        return results

    async def execute(self, context: drip.JobContext, call_next: ExecuteCall) -> Any:
        """Run the job inside a CONSUMER span that continues the stored trace."""
        job = context.job
        self.telemetry.record_queue_wait(
            job.scheduled_at, job.attempted_at, _metric_attributes(job.queue, job.kind)
        )
        with self._stored_context(job) as links:
            if not self.telemetry.is_tracing():
                return await call_next(context)
            span = self.telemetry.tracer.start_span(
                f"{attr.PROCESS_OPERATION} {job.queue}",
                kind=SpanKind.CONSUMER,
                attributes=_consumer_attributes(context),
                links=links,
            )
            with trace.use_span(
                span,
                end_on_exit=True,
                record_exception=False,
                set_status_on_exception=False,
            ):
                return await _run_recorded(span, context, call_next)

    @contextmanager
    def _stored_context(self, job: drip.Job) -> Iterator[list[Link]]:
        """Make the job's stored context current; yield the links the span needs.

        As parent: the stored context (span and baggage) becomes current, so
        the new span is its child. As link: only the baggage is made current,
        and the stored span is returned as a link.
        """
        stored = extract_from(job.metadata)
        if stored is None:
            yield []
            return

        links: list[Link] = []
        if self.link:
            parent = trace.get_current_span(stored).get_span_context()
            if parent.is_valid:
                links.append(Link(parent))
            current = otel_context.get_current()
            for key, value in baggage.get_all(stored).items():
                current = baggage.set_baggage(key, value, current)
            stored = current

        token = otel_context.attach(stored)
        try:
            yield links
        finally:
            otel_context.detach(token)

    def _count_inserted(
        self, specs: list[drip.JobSpec], results: list[drip.InsertResult]
    ) -> None:
        """Count new jobs by queue and kind, read from their specs.

        Results come one per spec, in order; reading ``result.job`` instead
        would build every job of a bulk insert only to count it.
        """
        counts = Counter(
            (spec.queue, spec.kind)
            for spec, result in zip(specs, results, strict=True)
            if not result.duplicate
        )
        for (queue, kind), count in counts.items():
            self.telemetry.inserted.add(count, _metric_attributes(queue, kind))


def _with_context(specs: list[drip.JobSpec]) -> list[drip.JobSpec]:
    """The specs with the current context in their metadata (none: as they are)."""
    carrier = current_carrier()
    if not carrier:
        return specs
    return [
        dataclasses.replace(spec, metadata={**spec.metadata, METADATA_KEY: carrier})
        for spec in specs
    ]


async def _run_recorded(
    span: trace.Span, context: drip.JobContext, call_next: ExecuteCall
) -> Any:
    """Call the next layer, recording on ``span`` how the handler ended."""
    try:
        return await call_next(context)
    except JobOutcome as outcome:
        span.set_attribute(attr.JOB_OUTCOME, _outcome_name(outcome))
        raise
    except Exception as error:
        _record_error(span, error)
        raise
    except anyio.get_cancelled_exc_class():
        _record_cancellation(span, context)
        raise


def _producer_attributes(
    specs: list[drip.JobSpec], queues: list[str]
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        attr.MESSAGING_SYSTEM: attr.SYSTEM,
        attr.MESSAGING_OPERATION_NAME: attr.INSERT_OPERATION,
        attr.MESSAGING_OPERATION_TYPE: attr.SEND_TYPE,
    }
    if len(queues) == 1:
        attributes[attr.MESSAGING_DESTINATION_NAME] = queues[0]
    kinds = {spec.kind for spec in specs}
    if len(kinds) == 1:
        attributes[attr.JOB_KIND] = next(iter(kinds))
    if len(specs) > 1:
        attributes[attr.MESSAGING_BATCH_MESSAGE_COUNT] = len(specs)
    else:
        attributes[attr.JOB_PRIORITY] = specs[0].priority
    return attributes


def _describe_results(span: trace.Span, results: list[drip.InsertResult]) -> None:
    """Name the inserted job on a single insert's span, once its id is known."""
    if len(results) != 1 or not span.is_recording():
        return
    span.set_attribute(attr.MESSAGING_MESSAGE_ID, str(results[0].id))
    span.set_attribute(attr.JOB_DUPLICATE, results[0].duplicate)


def _consumer_attributes(context: drip.JobContext) -> dict[str, Any]:
    job = context.job
    return {
        attr.MESSAGING_SYSTEM: attr.SYSTEM,
        attr.MESSAGING_OPERATION_NAME: attr.PROCESS_OPERATION,
        attr.MESSAGING_OPERATION_TYPE: attr.PROCESS_TYPE,
        attr.MESSAGING_DESTINATION_NAME: job.queue,
        attr.MESSAGING_MESSAGE_ID: str(job.id),
        attr.MESSAGING_CLIENT_ID: context.worker_id,
        attr.JOB_KIND: job.kind,
        attr.JOB_ATTEMPT: job.attempt,
        attr.JOB_PRIORITY: job.priority,
    }


def _metric_attributes(queue: str, kind: str) -> dict[str, Any]:
    return {
        attr.MESSAGING_SYSTEM: attr.SYSTEM,
        attr.MESSAGING_DESTINATION_NAME: queue,
        attr.JOB_KIND: kind,
    }


def _record_error(span: trace.Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_attribute(attr.ERROR_TYPE, _qualified_name(type(error)))
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


def _record_cancellation(span: trace.Span, context: drip.JobContext) -> None:
    """A cancelled run: an operator's request is no error; a timeout or shutdown is."""
    if context.cancel_requested:
        span.set_attribute(attr.JOB_OUTCOME, "cancel")
        return
    span.set_attribute(attr.ERROR_TYPE, "cancelled")
    span.set_status(
        Status(StatusCode.ERROR, "cancelled by its timeout or a worker shutdown")
    )


def _outcome_name(outcome: JobOutcome) -> str:
    for kind, name in _OUTCOME_NAMES.items():
        if isinstance(outcome, kind):
            return name
    return type(outcome).__name__.lower()


def _qualified_name(error_type: type[BaseException]) -> str:
    module = error_type.__module__
    if module == "builtins":
        return error_type.__qualname__
    return f"{module}.{error_type.__qualname__}"
