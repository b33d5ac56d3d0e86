"""Attribute and instrument names that Drip's spans and metrics carry.

The ``messaging.*`` names follow the OpenTelemetry messaging semantic
conventions (operation types ``send`` and ``process``); they are spelt out
here rather than imported from the incubating semconv modules, whose import
paths are not stable. The ``drip.*`` names are Drip's own.
"""

from __future__ import annotations

from typing import Final

MESSAGING_SYSTEM: Final = "messaging.system"
MESSAGING_OPERATION_NAME: Final = "messaging.operation.name"
MESSAGING_OPERATION_TYPE: Final = "messaging.operation.type"
MESSAGING_DESTINATION_NAME: Final = "messaging.destination.name"
MESSAGING_MESSAGE_ID: Final = "messaging.message.id"
MESSAGING_BATCH_MESSAGE_COUNT: Final = "messaging.batch.message_count"
MESSAGING_CLIENT_ID: Final = "messaging.client.id"
ERROR_TYPE: Final = "error.type"

JOB_KIND: Final = "drip.job.kind"
JOB_ATTEMPT: Final = "drip.job.attempt"
JOB_PRIORITY: Final = "drip.job.priority"
JOB_OUTCOME: Final = "drip.job.outcome"
JOB_DUPLICATE: Final = "drip.job.duplicate"

SYSTEM: Final = "drip"
INSERT_OPERATION: Final = "insert"
SEND_TYPE: Final = "send"
PROCESS_OPERATION: Final = "process"
PROCESS_TYPE: Final = "process"

JOBS_INSERTED: Final = "drip.jobs.inserted"
JOBS_FINISHED: Final = "drip.jobs.finished"
JOB_DURATION: Final = "drip.job.duration"
JOB_QUEUE_WAIT: Final = "drip.job.queue_wait"
