"""The one duration grammar and its formatter (issue 11): what the typed command, the form and
the config all read, and how every length is written back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.durations import ACCEPTED, InvalidDuration, format_duration, parse_duration

H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("4h", 4 * H),
        ("90m", 90 * M),
        ("1h30", 90 * M),
        ("1h30m", 90 * M),
        ("1h 30", 90 * M),
        ("1.5h", 90 * M),
        ("1,5h", 90 * M),
        ("2d", 48 * H),
        ("7d", 168 * H),
        ("2s", 2 * S),
        ("1d 2h 3m 4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("4 Hours", 4 * H),
        ("90 min", 90 * M),
        ("'15m'", 15 * M),
    ],
)
def test_every_accepted_form_is_read(text: str, duration: timedelta) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize(
    "text",
    ["", "4", "90", "abc", "h", "-2h", "1m30", "2d5", "1h30x", "1h0.5m", "1.5h30", "x" * 50],
)
def test_nonsense_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidDuration) as caught:
        parse_duration(text)
    assert caught.value.hint == f"Write it like {ACCEPTED}."
    assert caught.value.syntax and caught.value.text == text


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (4 * H, "4h"),
        (90 * M, "1h30m"),
        (45 * M, "45m"),
        (30 * S, "30s"),
        (timedelta(0), "0m"),
        (-2 * H, "-2h"),
        (24 * H, "24h"),
        (72 * H, "3d"),
        (timedelta(days=7), "7d"),
        (timedelta(hours=49, minutes=5), "49h05m"),
    ],
)
def test_durations_are_written_as_people_type_them_and_read_back(
    duration: timedelta, text: str
) -> None:
    assert format_duration(duration) == text
    if duration > timedelta(0):
        assert parse_duration(text) == duration
