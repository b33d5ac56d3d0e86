"""Drip: a reliable background-job queue in the database you already run.

The public API is what this module exports in ``__all__``; every other module
is an implementation detail unless its documentation says otherwise.
"""

from drip.client import Client
from drip.context import JobContext
from drip.database import DEFAULT_URL
from drip.dialect import Dialect
from drip.durations import parse_duration
from drip.exceptions import (
    Cancel,
    ConfigurationError,
    ConnectionLost,
    DatabaseError,
    DialectNotInstalled,
    Discard,
    DripError,
    InvalidTransition,
    JobNotFound,
    SchemaMissing,
    ServerTooOld,
    Snooze,
    UniqueConflict,
    ValidationError,
)
from drip.handlers import HandlerSpec, Registry, handler
from drip.hookspecs import hookimpl
from drip.job import InsertResult, Job, JobError, JobSpec
from drip.maintenance import MaintenanceConfig
from drip.middleware import Middleware
from drip.outcome import Outcome, OutcomeKind
from drip.periodic import Periodic
from drip.queues import Queue
from drip.retry import Constant, Exponential, Immediate, Linear, RetryPolicy
from drip.serializers import JSONSerializer, Serializer
from drip.states import JobState
from drip.unique import Unique
from drip.worker import Worker

__all__ = [
    "DEFAULT_URL",
    "Cancel",
    "Client",
    "ConfigurationError",
    "ConnectionLost",
    "Constant",
    "DatabaseError",
    "Dialect",
    "DialectNotInstalled",
    "Discard",
    "DripError",
    "Exponential",
    "HandlerSpec",
    "Immediate",
    "InsertResult",
    "InvalidTransition",
    "JSONSerializer",
    "Job",
    "JobContext",
    "JobError",
    "JobNotFound",
    "JobSpec",
    "JobState",
    "Linear",
    "MaintenanceConfig",
    "Middleware",
    "Outcome",
    "OutcomeKind",
    "Periodic",
    "Queue",
    "Registry",
    "RetryPolicy",
    "SchemaMissing",
    "Serializer",
    "ServerTooOld",
    "Snooze",
    "Unique",
    "UniqueConflict",
    "ValidationError",
    "Worker",
    "handler",
    "hookimpl",
    "parse_duration",
]
