"""Duration parsing: every accepted form, and one clear error for the rest."""

from datetime import timedelta

import pytest

from drip import ValidationError, parse_duration


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, timedelta(0)),
        (30, timedelta(seconds=30)),
        (1.5, timedelta(seconds=1.5)),
        (timedelta(minutes=2), timedelta(minutes=2)),
        ("250ms", timedelta(milliseconds=250)),
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1m30s500ms", timedelta(minutes=1, seconds=30, milliseconds=500)),
    ],
)
def test_accepted_durations(value: object, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    ["1.5h", "-5s", "soon", "5", "5 minutes", "1h foo", "2mm", "", -1, True, None],
)
def test_rejected_durations_quote_the_value(value: object) -> None:
    with pytest.raises(ValidationError, match="invalid duration") as raised:
        parse_duration(value)

    assert repr(value) in str(raised.value)
