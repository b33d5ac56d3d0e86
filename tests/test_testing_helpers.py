"""The helpers Drip gives applications for their own tests."""

from __future__ import annotations

import pytest

import drip
from drip.outcome import OutcomeKind
from drip.testing import assert_enqueued, run_inline


@drip.handler
def resize(context: drip.JobContext) -> None:
    if context.args["width"] <= 0:
        raise drip.Discard("width must be positive")
    if context.attempt < 2 and context.args.get("busy"):
        raise drip.Snooze("1m")
    context.record_output({"width": context.args["width"]})


@drip.handler
async def notify(context: drip.JobContext) -> None:
    context.record_output("sent")


def test_run_inline_reports_each_outcome() -> None:
    assert run_inline(resize, {"width": 10}).output == {"width": 10}
    assert run_inline(resize, {"width": 10, "busy": True}).outcome is OutcomeKind.SNOOZE
    assert (
        run_inline(resize, {"width": 10, "busy": True}, attempt=2).outcome
        is OutcomeKind.COMPLETED
    )
    discarded = run_inline(resize, {"width": 0})
    assert (discarded.outcome, discarded.reason) == (
        OutcomeKind.DISCARD,
        "width must be positive",
    )
    assert run_inline(notify).output == "sent"


def test_run_inline_lets_failures_raise() -> None:
    with pytest.raises(KeyError):
        run_inline(resize, {})


def test_assert_enqueued_matches_args_subsets(drip_client: drip.Client) -> None:
    drip_client.insert(
        "email", {"to": "a@example.org", "template": "welcome"}, queue="mail"
    )

    (job,) = assert_enqueued(
        drip_client, "email", args={"to": "a@example.org"}, queue="mail"
    )
    assert job.args["template"] == "welcome"
    assert_enqueued(drip_client, "email", count=1)
    with pytest.raises(AssertionError, match="found 0; jobs of that kind:\n  job"):
        assert_enqueued(drip_client, "email", args={"to": "b@example.org"})
