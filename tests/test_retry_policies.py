"""Retry policies: the delays they produce, and choosing one by name."""

import pytest

from drip import ConfigurationError, Constant, Exponential, Immediate, Linear
from drip.retry import resolve_retry_policy


def test_exponential_doubles_from_one_second_and_caps_at_an_hour() -> None:
    policy = Exponential(jitter=0)

    assert [policy(attempt) for attempt in range(1, 6)] == [1, 2, 4, 8, 16]
    assert policy(13) == 3600
    assert policy(1000) == 3600


def test_exponential_jitter_stays_within_ten_percent() -> None:
    policy = Exponential()
    delays = [policy(5) for _ in range(500)]

    assert all(16 * 0.9 <= delay <= 16 * 1.1 for delay in delays)
    assert len(set(delays)) > 1


def test_constant_linear_and_immediate() -> None:
    assert Constant("30s")(7) == 30
    assert [Linear(10, maximum=25)(attempt) for attempt in (1, 2, 3)] == [10, 20, 25]
    assert Immediate()(4) == 0


def test_policies_are_found_by_name() -> None:
    assert isinstance(resolve_retry_policy("immediate"), Immediate)
    assert isinstance(resolve_retry_policy(None), Exponential)

    def custom(attempt: int) -> float:
        return attempt * 3

    assert resolve_retry_policy(custom) is custom


def test_unknown_policy_name_lists_the_installed_ones() -> None:
    with pytest.raises(ConfigurationError, match="installed policies: constant"):
        resolve_retry_policy("fibonnaci")
