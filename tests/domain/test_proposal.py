"""The proposal's own rules: the default length of a window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.estimates import DurationEstimate, estimate_duration
from bot.domain.paths import plan_upgrade
from bot.domain.proposal import AgentLine, ProposalDetails, default_length, window_estimate
from bot.releases import load_catalog

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


# --- the one estimate (issue 11) ---------------------------------------------------------------


def _details(startup: timedelta | None) -> ProposalDetails:
    catalog = load_catalog()
    plan = plan_upgrade(catalog, {"dma-01": "10.3.0.0-13012"}, catalog.resolve("10.5"))
    agents = [AgentLine(name="dma-01", version="10.3.0 CU0", raw_version="x", state="running")]
    measured = startup or timedelta(minutes=10)
    return ProposalDetails(
        agents=agents,
        plan=plan,
        estimate=estimate_duration(plan, 1, measured),
        warnings=[],
        startup=startup,
    )


def test_without_hotfixes_the_window_estimate_is_the_proposals_own() -> None:
    details = _details(timedelta(minutes=3))
    assert window_estimate(details, 0, timedelta(minutes=10)) == details.estimate


def test_hotfixes_count_with_the_start_up_the_proposal_used_not_the_configured_one() -> None:
    details = _details(timedelta(minutes=3))
    with_hotfix = window_estimate(details, 1, configured_startup=timedelta(minutes=10))
    expected = estimate_duration(details.plan, 1, timedelta(minutes=3), hotfix_count=1)
    assert with_hotfix == expected and with_hotfix.high > details.estimate.high


def test_a_window_stored_before_the_start_up_was_kept_uses_the_configured_one() -> None:
    details = _details(None)
    expected = estimate_duration(details.plan, 1, timedelta(minutes=10), hotfix_count=2)
    assert window_estimate(details, 2, timedelta(minutes=10)) == expected
    assert window_estimate(details, 2) == estimate_duration(
        details.plan, 1, timedelta(0), hotfix_count=2
    )
