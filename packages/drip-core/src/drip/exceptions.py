"""Every error Drip raises, and the outcomes a handler can signal.

The hierarchy::

    DripError
    ├── ConfigurationError      bad settings: unknown dialect, plugin, policy, URL
    │   └── DialectNotInstalled a URL whose dialect package is not installed
    ├── ValidationError         bad input, rejected before any SQL runs
    ├── JobNotFound             an operation named a job id that does not exist
    ├── InvalidTransition       an operator action that the job's state forbids
    └── DatabaseError           the database failed; the driver error is chained
        ├── ConnectionLost      the connection dropped or could not be opened
        ├── ServerTooOld        the server version is below what Drip supports
        ├── SchemaMissing       Drip's tables are absent: run ``drip migrate``
        └── UniqueConflict      a unique job's key is held by another job

Handlers raise the outcome exceptions (``Snooze``, ``Cancel``, ``Discard``) to
decide what happens to their job instead of completing it. They are not errors
and are not recorded in the job's error list.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "Cancel",
    "ConfigurationError",
    "ConnectionLost",
    "DatabaseError",
    "DialectNotInstalled",
    "Discard",
    "DripError",
    "InvalidTransition",
    "JobNotFound",
    "JobOutcome",
    "SchemaMissing",
    "ServerTooOld",
    "Snooze",
    "UniqueConflict",
    "ValidationError",
]


class DripError(Exception):
    """Base class of every error raised by Drip."""


class ConfigurationError(DripError):
    """Drip was configured with something it cannot use."""


class DialectNotInstalled(ConfigurationError):
    """No installed dialect handles the database URL."""


class ValidationError(DripError, ValueError):
    """Input was rejected before any SQL ran; the message says what to change."""


class JobNotFound(DripError, LookupError):
    """The job id does not exist (it may have been deleted by retention)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} does not exist")
        self.job_id = job_id


class InvalidTransition(DripError):
    """An operator action does not apply to the job in its current state."""


class DatabaseError(DripError):
    """The database reported an error; the driver's exception is the cause."""


class ConnectionLost(DatabaseError):
    """The database could not be reached or the connection dropped."""


class ServerTooOld(DatabaseError):
    """The database server is older than the dialect supports."""


class SchemaMissing(DatabaseError):
    """Drip's tables do not exist in this database."""

    def __init__(self, detail: str = "") -> None:
        message = "Drip's tables are missing: run `drip migrate` (or client.migrate())"
        super().__init__(f"{message}; {detail}" if detail else message)


class UniqueConflict(DatabaseError):
    """A state change would give a unique job's key to a second active job."""

    def __init__(self) -> None:
        super().__init__(
            "another active job holds this unique job's key; finish, cancel or "
            "delete that job first"
        )


class JobOutcome(Exception):
    """Base of the exceptions a handler raises to decide its job's outcome."""


class Snooze(JobOutcome):
    """Run the job again after ``delay`` without consuming an attempt."""

    def __init__(self, delay: float | int | timedelta | str) -> None:
        super().__init__(f"snoozed for {delay}")
        self.delay = delay


class Cancel(JobOutcome):
    """Stop the job for good: it ends ``cancelled`` and is never retried."""

    def __init__(self, reason: str = "cancelled by its handler") -> None:
        super().__init__(reason)
        self.reason = reason


class Discard(JobOutcome):
    """Give up on the job: it ends ``discarded`` with the reason recorded."""

    def __init__(self, reason: str = "discarded by its handler") -> None:
        super().__init__(reason)
        self.reason = reason
