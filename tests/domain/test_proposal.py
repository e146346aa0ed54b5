"""The proposal's own rules: the default length of a window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.estimates import DurationEstimate
from bot.domain.proposal import default_length

MIN = timedelta(minutes=1)


def _estimate(high: timedelta) -> DurationEstimate:
    return DurationEstimate(
        low=high / 2, high=high, parts=[], precheck_low=30 * MIN, precheck_high=120 * MIN
    )


@pytest.mark.parametrize(
    ("high", "length"),
    [
        (0 * MIN, 30 * MIN),  # never a window of nothing
        (1 * MIN, 30 * MIN),
        (30 * MIN, 30 * MIN),  # exactly a half hour stays
        (31 * MIN, 60 * MIN),
        (45.5 * MIN, 60 * MIN),
        (181 * MIN, 210 * MIN),
    ],
)
def test_the_default_length_is_the_estimate_rounded_up_to_a_half_hour(
    high: timedelta, length: timedelta
) -> None:
    assert default_length(_estimate(high)) == length
