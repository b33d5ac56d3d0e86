"""Retry policies: how long a failed job waits before its next attempt.

A policy is any callable that maps the attempt that just failed (1 for the
first) to a delay in seconds. The classes here are the built-in ones, made
available by name (``"exponential"``, ``"constant"``, ``"linear"``,
``"immediate"``) through the same plugin hook third parties use.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable
from datetime import timedelta

from drip.durations import Duration, parse_duration
from drip.exceptions import ConfigurationError

__all__ = [
    "Constant",
    "Exponential",
    "Immediate",
    "Linear",
    "RetryPolicy",
    "resolve_retry_policy",
    "retry_delay",
]

RetryPolicy = Callable[[int], float]

logger = logging.getLogger(__name__)


def retry_delay(
    policy: RetryPolicy | None, attempt: int, *, fallback: RetryPolicy, job_id: int
) -> float:
    """Seconds until the next attempt, from ``policy`` (or ``fallback``).

    A policy is user code: if it raises, ``fallback`` decides instead, so that
    a broken policy can delay a job but never strand it. Negative delays are
    read as zero.
    """
    try:
        return max(0.0, float((policy or fallback)(attempt)))
    except Exception:
        logger.exception(
            "retry policy failed; retrying with the default policy",
            extra={"action": "retry_policy", "job_id": job_id, "attempt": attempt},
        )
        return max(0.0, float(fallback(attempt)))


def _seconds(value: Duration, name: str) -> float:
    return parse_duration(value, name=name).total_seconds()


def _jittered(seconds: float, jitter: float) -> float:
    """``seconds`` moved randomly by up to ``jitter`` of itself either way."""
    if jitter <= 0:
        return seconds
    return max(0.0, seconds * (1 + random.uniform(-jitter, jitter)))


@dataclasses.dataclass(frozen=True)
class Exponential:
    """``base * factor ** (attempt - 1)``, capped at ``maximum``, with jitter.

    The default policy: 1s, 2s, 4s ... up to one hour, each moved by up to 10%
    so that jobs that failed together do not all retry together.
    """

    base: Duration = 1
    factor: float = 2.0
    maximum: Duration = timedelta(hours=1)
    jitter: float = 0.1

    def __call__(self, attempt: int) -> float:
        base = _seconds(self.base, "retry base")
        maximum = _seconds(self.maximum, "retry maximum")
        exponent = min(max(attempt - 1, 0), 64)
        return _jittered(min(base * self.factor**exponent, maximum), self.jitter)


@dataclasses.dataclass(frozen=True)
class Constant:
    """The same delay after every attempt."""

    delay: Duration = 10
    jitter: float = 0.0

    def __call__(self, attempt: int) -> float:
        return _jittered(_seconds(self.delay, "retry delay"), self.jitter)


@dataclasses.dataclass(frozen=True)
class Linear:
    """``base * attempt``, optionally capped at ``maximum``."""

    base: Duration = 10
    maximum: Duration | None = None
    jitter: float = 0.0

    def __call__(self, attempt: int) -> float:
        delay = _seconds(self.base, "retry base") * max(attempt, 1)
        if self.maximum is not None:
            delay = min(delay, _seconds(self.maximum, "retry maximum"))
        return _jittered(delay, self.jitter)


@dataclasses.dataclass(frozen=True)
class Immediate:
    """Retry at once."""

    def __call__(self, attempt: int) -> float:
        return 0.0


def resolve_retry_policy(policy: RetryPolicy | str | None) -> RetryPolicy:
    """Return a policy given itself, a registered name, or None (the default)."""
    if policy is None:
        return Exponential()
    if callable(policy):
        return policy
    if isinstance(policy, str):
        from drip.plugins import plugin_manager

        factories: dict[str, Callable[[], RetryPolicy]] = {}
        for contributed in reversed(plugin_manager().hook.drip_retry_policies()):
            factories.update(contributed)
        if policy in factories:
            return factories[policy]()
        known = ", ".join(sorted(factories))
        raise ConfigurationError(
            f"unknown retry policy {policy!r}; installed policies: {known}"
        )
    raise ConfigurationError(
        f"a retry policy must be a callable or a policy name, not {policy!r}"
    )
