"""Which run on the DMS a trigger began, told by the DMS's own run ids: never by comparing the
bot's clock with the DMS's (issue 15, D7 and D9).

Before a step is first triggered the bot stores the run ids the DMS lists (``runs_before``).
Afterwards, a run of the step's package that was not listed then, and that no other step row of
the window has claimed, is the one this step's trigger began: after a lost answer, on Retry, and
after a restart. Rows written before the ids were stored fall back to the package and the state:
an active run of the package that nobody claimed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bot.agents.models import UpgradeRun


def begun_run(
    runs: Sequence[UpgradeRun],
    package: str,
    before: Collection[str] | None,
    claimed: Collection[str],
) -> UpgradeRun | None:
    """The run of ``package`` that appeared since ``before`` (None: not known, then only an
    active run counts) and is not ``claimed`` by another step; an active one first."""
    mine = [
        run
        for run in runs
        if run.package == package
        and run.run_id not in claimed
        and (run.is_active if before is None else run.run_id not in before)
    ]
    active = [run for run in mine if run.is_active]
    return (active or mine)[-1] if mine else None
