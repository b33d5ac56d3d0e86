"""The hooks through which plugins extend Drip, grouped by phase.

Plugins are modules or objects whose functions carry ``@drip.hookimpl`` and are
named after a spec below. Installed packages register them under the ``drip``
entry-point group; Drip's own built-ins register the same way, marked
``trylast`` so that an installed plugin can override them.

Collecting hooks return lists (pluggy gathers every plugin's result). Event
hooks observe and return nothing; an exception they raise is logged and does
not affect the job. Middleware, not hooks, is how a plugin wraps inserts and
executions (see ``drip.middleware``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    from drip.dialect import Dialect
    from drip.job import Job
    from drip.middleware import Middleware
    from drip.outcome import Outcome
    from drip.retry import RetryPolicy
    from drip.serializers import Serializer

__all__ = ["hookimpl", "hookspec"]

PROJECT = "drip"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- plugin loading: what a plugin contributes ---------------------------------


@hookspec
def drip_dialects() -> list[type[Dialect]]:
    """Return dialect classes this plugin provides.

    Called once when Drip resolves a database URL. Each class names the URL
    backends it handles in ``url_backends``; the first class that handles a
    URL's backend serves it. Return an empty list to contribute nothing.
    """


@hookspec
def drip_retry_policies() -> dict[str, Callable[[], RetryPolicy]]:
    """Return named retry-policy factories, e.g. ``{"fibonacci": Fibonacci}``.

    A factory takes no arguments and returns a policy: a callable mapping the
    attempt that just failed (1-based) to the delay in seconds before the next.
    Users name the policy in configuration (``retry="fibonacci"``). When two
    plugins register a name, the one loaded later wins, so installed plugins
    override the built-ins.
    """


@hookspec
def drip_serializers() -> list[Serializer]:
    """Return serializers to make available by their ``name``.

    A serializer turns job args and metadata into JSON text and back; see
    ``drip.serializers.Serializer``. Clients use ``"json"`` unless given
    ``serializer="name"``. A later-loaded plugin overrides an earlier name.
    """


@hookspec
def drip_middleware() -> list[Middleware]:
    """Return middleware to wrap every insert and every job execution.

    Called when a client or worker is created. Middleware from all plugins is
    chained in plugin-load order, outermost first; see ``drip.middleware``.
    """


# -- execution and completion: lifecycle events -------------------------------


@hookspec
def drip_worker_started(worker_id: str, queues: list[str], kinds: list[str]) -> None:
    """Called when a worker process begins fetching jobs."""


@hookspec
def drip_job_started(job: Job, worker_id: str) -> None:
    """Called in the worker right before a job's handler runs.

    ``job`` is the claimed job: state ``running``, ``attempt`` already counted.
    """


@hookspec
def drip_job_finished(job: Job, outcome: Outcome, duration: float) -> None:
    """Called in the worker after a job's handler returned or raised.

    ``outcome`` says what is being recorded (completed, retry, discard, snooze,
    cancel, timeout) and carries the error if there was one; ``duration`` is
    the handler's run time in seconds.
    """


# -- shutdown ---------------------------------------------------------------------


@hookspec
def drip_worker_stopped(worker_id: str, summary: dict[str, Any]) -> None:
    """Called when a worker has drained and stopped; ``summary`` counts outcomes."""
