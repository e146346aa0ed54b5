"""Which DMS run a trigger began, told by run ids and state (issue 15, D7 and D9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.agents.models import UpgradeRun
from bot.agents.run_match import begun_run

PACKAGE = "DataMiner 10.4.0.0(CU21)-0 Full Upgrade.dmupgrade"
BOT_NOW = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


def run(
    run_id: str, package: str = PACKAGE, *, finished: bool = False, skew: float = 0
) -> UpgradeRun:
    return UpgradeRun(
        run_id=run_id,
        package=package,
        agents=[],
        finished=finished,
        failed=False,
        started_at=BOT_NOW + timedelta(seconds=skew),
    )


def test_a_run_the_dms_clock_dates_before_the_trigger_is_still_the_one_it_began() -> None:
    """The DMS's clock 2 s behind the bot's: ids decide, the start time is never compared."""
    found = begun_run([run("old", finished=True), run("new", skew=-2)], PACKAGE, ["old"], [])
    assert found is not None and found.run_id == "new"


def test_a_run_listed_before_the_trigger_or_claimed_by_another_step_is_not_this_one() -> None:
    runs = [run("before", finished=True), run("failed-attempt", finished=True)]
    assert begun_run(runs, PACKAGE, ["before"], ["failed-attempt"]) is None


def test_a_finished_run_that_appeared_since_counts_so_a_retry_attaches_instead_of_restarting() -> (
    None
):
    found = begun_run([run("lost-answer", finished=True)], PACKAGE, [], [])
    assert found is not None and found.run_id == "lost-answer"


def test_another_package_is_never_taken_for_this_step() -> None:
    assert (
        begun_run([run("x", package="DataMiner 10.5.0.0-0 Web Upgrade.dmupgrade")], PACKAGE, [], [])
        is None
    )


def test_without_the_ids_listed_before_only_an_active_unclaimed_run_of_the_package_counts() -> None:
    runs = [run("done-long-ago", finished=True), run("active")]
    found = begun_run(runs, PACKAGE, None, [])
    assert found is not None and found.run_id == "active"
    assert begun_run([run("done-long-ago", finished=True)], PACKAGE, None, []) is None


def test_an_active_run_is_preferred_to_a_finished_one() -> None:
    found = begun_run([run("a"), run("b", finished=True)], PACKAGE, [], [])
    assert found is not None and found.run_id == "a"
