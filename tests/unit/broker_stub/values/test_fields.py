"""The pools file's field types: durations ("90s", "30m", "1h30m") both ways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker_stub.values.fields import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("8h", 28800), ("2d", 172800), ("1h30m", 5400), ("0s", 0)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


@given(st.integers(min_value=0, max_value=10**8))
def test_format_duration_round_trips(seconds: int) -> None:
    text = format_duration(timedelta(seconds=seconds))

    assert parse_duration(text) == timedelta(seconds=seconds)
    assert text == "0s" or not text.startswith("0")


@pytest.mark.parametrize("text", ["30", "", "1x", "m30", "1.5h", "30m1h", "-5m", " "])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r'a duration like "90s"'):
        parse_duration(text)
