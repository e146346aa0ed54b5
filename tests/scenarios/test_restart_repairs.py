"""A crash between two writes strands nothing (issue 15, item 4): at start-up the bot repairs,
from the database alone, a proposal stored but never posted, an approval without its
checklist, and a pre-check that ran but was not marked done, or whose results were never
posted (without running it again)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.models import GateId, WindowState
from bot.ids import Action, View
from storage import (
    Database,
    ScheduledAction,
    create_window,
    get_window,
    list_actions,
    list_check_runs,
    transition,
)
from storage.outbox import parent_row
from tests.fakes.bot import APPROVER, PROPOSER, FakeClock, Harness
from tests.scenarios.test_faults import CHANNEL, restarted, thread
from tests.scenarios.test_stale_truth import posted, settle_manual_items, state, until

START = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


async def test_a_proposal_stored_but_never_posted_is_posted_at_start(
    bot: Harness, tmp_path: Path, clock: FakeClock
) -> None:
    await bot.command("propose night 10.5 2026-12-02T22:00 4h", channel=CHANNEL)
    await until(bot, lambda: posted(bot, 1))
    plan = get_window(bot.ctx.db, 1).plan  # type: ignore[union-attr]
    # The process dies right after the insert of a second proposal, before Slack is asked.
    await bot.ctx.write(
        create_window,
        system="night",
        target="10.5.0 CU18",
        start=START + timedelta(days=3),
        end=START + timedelta(days=3, hours=4),
        proposer=PROPOSER,
        created_at=clock.now,
        plan=plan,
        channel=CHANNEL,
    )
    bot = await restarted(bot, tmp_path, clock)
    await until(bot, lambda: posted(bot, 2))
    assert len(bot.proposals(CHANNEL)) == 2
    row = parent_row(bot.ctx.db, 2)  # reconcile owed it to the channel through the outbox
    assert row is not None and row.status == "delivered"
    await bot.running.stop()


async def test_an_approval_stored_without_its_checklist_gets_it_at_start(
    bot: Harness, tmp_path: Path, clock: FakeClock
) -> None:
    await bot.command("propose night 10.5 2026-12-02T22:00 4h", channel=CHANNEL)
    await until(bot, lambda: posted(bot, 1))
    # The approval is stored, then the process dies before the checklist is posted.
    await bot.ctx.write(
        transition,
        1,
        expected=WindowState.PROPOSED,
        to=WindowState.APPROVED,
        actor=APPROVER,
        action="approve",
        at=clock.now,
        gate=GateId.G1,
    )
    assert not any(m["text"].startswith("Details checklist") for m in thread(bot))
    bot = await restarted(bot, tmp_path, clock)
    await until(bot, lambda: any(m["text"].startswith("Details checklist") for m in thread(bot)))
    assert sum(m["text"].startswith("Details checklist") for m in thread(bot)) == 1
    await bot.running.stop()


async def planned(bot: Harness) -> None:
    """Proposed, approved and its checklist settled: G3 next."""
    await bot.command("propose night 10.5 2026-12-02T22:00 4h", channel=CHANNEL)
    await until(bot, lambda: posted(bot, 1))
    parent = dict(bot.proposals(CHANNEL)[0].to_slack())
    await bot.click(Action.APPROVE, parent, APPROVER, channel=CHANNEL)
    await until(bot, lambda: any(m["text"].startswith("Details checklist") for m in thread(bot)))
    await settle_manual_items(bot, 1)
    await until(bot, lambda: state(bot, 1) is WindowState.PLANNED)


async def until_done(bot: Harness, action_id: int) -> ScheduledAction:
    """The timed action once the (restarted) bot marked it done."""

    def action() -> ScheduledAction:
        return next(a for a in list_actions(bot.ctx.db, window_id=1) if a.id == action_id)

    await until(bot, lambda: action().status.value == "done")
    return action()


async def test_a_precheck_that_ran_before_a_crash_is_not_run_again(
    bot: Harness, tmp_path: Path, clock: FakeClock
) -> None:
    await planned(bot)
    clock.now = START - timedelta(hours=24)
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: any(m["text"].startswith("Pre-check of #1") for m in thread(bot)))
    (action,) = [a for a in list_actions(bot.ctx.db, window_id=1) if a.kind == "precheck"]
    # As if the process died after the post, before the action was marked done.
    bot.ctx.db.execute(
        "UPDATE scheduled_actions SET status = 'running', finished_at = NULL WHERE id = ?",
        [action.id],
    )
    bot = await restarted(bot, tmp_path, clock)
    finished = await until_done(bot, action.id)
    assert "before the restart" in (finished.outcome or "")
    assert len([r for r in list_check_runs(bot.ctx.db, 1) if r.kind == "precheck"]) == 1
    assert sum(m["text"].startswith("Pre-check of #1") for m in thread(bot)) == 1
    await bot.running.stop()


async def test_a_submission_for_a_modal_the_bot_never_opened_does_nothing(bot: Harness) -> None:
    """Issue 15 (4k): a forged view_submission naming a window is refused, nothing stored."""
    await bot.command("propose night 10.5 2026-12-02T22:00 4h", channel=CHANNEL)
    await until(bot, lambda: posted(bot, 1))
    forged = {
        "id": "V0FORGED",
        "callback_id": View.REJECT.value,
        "private_metadata": json.dumps({"window_id": 1, "channel": CHANNEL}),
    }
    reason = {"reason": {"reason_input": {"type": "plain_text_input", "value": "no thanks, mate"}}}
    status, _ = await bot.submit(forged, reason, APPROVER)
    assert status == 200
    await bot.wait_told(APPROVER, "not opened by upgradebot")
    assert state(bot, 1) is WindowState.PROPOSED


async def test_a_precheck_recorded_but_not_posted_before_a_crash_is_posted_not_run_again(
    bot: Harness, tmp_path: Path, clock: FakeClock
) -> None:
    """The process stops after the pre-check's run (and its upload) was recorded, before its
    results were owed to the thread: the restart posts them from the database alone."""
    await planned(bot)

    def refuse_results(db: Database) -> None:  # the process "dies" at the results' row
        db.execute(
            "CREATE TRIGGER no_results BEFORE INSERT ON outbox WHEN NEW.key LIKE 'precheck:%' "
            "BEGIN SELECT RAISE(ABORT, 'stopped here'); END"
        )

    await bot.ctx.write(refuse_results)
    clock.now = START - timedelta(hours=24)
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    (action,) = [a for a in list_actions(bot.ctx.db, window_id=1) if a.kind == "precheck"]
    assert [r.kind for r in list_check_runs(bot.ctx.db, 1)].count("precheck") == 1
    assert not any(m["text"].startswith("Pre-check of #1") for m in thread(bot))

    def as_if_killed(db: Database) -> None:
        db.execute("DROP TRIGGER no_results")
        db.execute(
            "UPDATE scheduled_actions SET status = 'running', finished_at = NULL, outcome = NULL"
            " WHERE id = ?",
            [action.id],
        )

    await bot.ctx.write(as_if_killed)
    bot = await restarted(bot, tmp_path, clock)
    finished = await until_done(bot, action.id)
    assert "ran before the restart" in (finished.outcome or "")
    # One run: the restart neither ran the checks nor uploaded to every agent again.
    assert [r.kind for r in list_check_runs(bot.ctx.db, 1)].count("precheck") == 1
    await until(bot, lambda: any(m["text"].startswith("Pre-check of #1") for m in thread(bot)))
    assert sum(m["text"].startswith("Pre-check of #1") for m in thread(bot)) == 1
    await bot.running.stop()
