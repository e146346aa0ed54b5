"""The night when the database itself misbehaves (issue 15, items 2, 5 and 6): another process
holding SQLite's write lock, the file turned read-only, the disk full. Acks, reads and
``/healthz`` never wait for the lock; a click that cannot be saved is told so in one sentence
and changes nothing; the watcher carries on from the database once writes work again; and each
night still ends at G5 once, every step started once, the audit chain intact."""

from __future__ import annotations

import json

from bot.domain.models import WindowState
from bot.ids import Action
from storage import Database, get_window, list_acks, list_actions, list_steps, verify_audit_chain
from storage.db import last_write_failure
from storage.outbox import pending_messages
from tests.fakes.bot import APPROVER, Harness
from tests.fakes.lock_holder import LockHolder
from tests.scenarios.test_faults import the_night_ends_at_g5_once, until
from tests.scenarios.test_night import (
    CHANNEL,
    OPERATOR,
    give_go,
    ready_at_start,
    sim,
    state,
    thread,
    top,
    until_state,
)


async def healthz(bot: Harness) -> tuple[int, dict[str, object]]:
    async with bot.session.get(bot.url + "/healthz") as response:
        return response.status, json.loads(await response.text())


async def test_a_held_write_lock_holds_up_only_the_write_never_the_acks(bot: Harness) -> None:
    await bot.command("propose night 10.5 2026-12-02T22:00 4h")
    await bot.stub.wait_until(lambda: bool(bot.proposals(CHANNEL)))
    async with LockHolder(bot.tmp_path / "upgradebot.db") as holder:
        assert await holder.send("hold") == "held"
        # All of this is answered while the other process still holds the lock.
        assert await bot.click(Action.APPROVE, top(bot), APPROVER, channel=CHANNEL) == 200
        assert "#1" in await bot.command("list")
        status, health = await healthz(bot)
        assert (status, health["ok"]) == (200, True)
        assert state(bot) is WindowState.PROPOSED, "the approval waits for the lock"
        assert await holder.send("free") == "free"
    await until_state(bot, WindowState.APPROVED)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Details checklist") for m in thread(bot))
    )
    assert [a.user for a in list_acks(bot.ctx.db, 1)] == [APPROVER]


async def test_the_whole_night_with_another_process_taking_the_lock_again_and_again(
    bot: Harness,
) -> None:
    async with LockHolder(bot.tmp_path / "upgradebot.db") as holder:
        await ready_at_start(bot)
        assert await holder.send("cycle 0.4 0.1") == "cycling"
        await give_go(bot)
        await the_night_ends_at_g5_once(bot)
        assert await holder.send("stop") == "stopped"
    assert sim(bot).start_requests == 3


async def test_a_read_only_database_refuses_the_go_in_a_sentence_and_starts_nothing(
    bot: Harness,
) -> None:
    await ready_at_start(bot)
    bot.ctx.db.execute("PRAGMA query_only = ON")  # as a file remounted read-only leaves it
    await give_go(bot)
    told = await bot.wait_told(OPERATOR, "read-only")
    assert "not saved" in told and "Traceback" not in told
    assert state(bot) is WindowState.READY
    assert sim(bot).start_requests == 0 and list_steps(bot.ctx.db, 1) == []
    status, health = await healthz(bot)
    assert status == 503 and "last write" in str(health["database"])

    bot.ctx.db.execute("PRAGMA query_only = OFF")
    await give_go(bot)
    await the_night_ends_at_g5_once(bot)
    status, _ = await healthz(bot)
    assert status == 200


async def test_a_disk_that_fills_up_mid_step_stops_nothing_for_good(bot: Harness) -> None:
    await ready_at_start(bot)
    await give_go(bot)
    await until(lambda: len(list_steps(bot.ctx.db, 1)) >= 1, "step 1 began")
    # No room to grow: packed full pages (VACUUM) and no page more, so the next write that
    # needs one gets SQLITE_FULL, as on a full disk.
    bot.ctx.db.execute("VACUUM")
    pages = bot.ctx.db.execute("PRAGMA page_count").fetchone()[0]
    bot.ctx.db.execute(f"PRAGMA max_page_count = {pages}")
    await until(lambda: last_write_failure(bot.ctx.db) is not None, "a write hit the full disk")
    assert "full" in str(last_write_failure(bot.ctx.db))
    bot.ctx.db.execute("PRAGMA max_page_count = 1073741823")  # space freed
    await the_night_ends_at_g5_once(bot)
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.state is WindowState.VERIFYING


def verify_attempts(bot: Harness) -> int:
    """How often the G5 message's row was tried while it is still owed (0 once delivered)."""
    rows = [r for r in pending_messages(bot.ctx.db, 1) if r.key == "verify"]
    return rows[0].attempts if rows else 0


async def refuse_inserts(bot: Harness, table: str, when: str = "1") -> None:
    """Make the second write of a unit fail, the way a disk that fills between two statements
    would: a trigger that refuses new rows of ``table`` (``when`` narrows it)."""

    def create(db: Database) -> None:
        db.execute(
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )

    await bot.ctx.write(create)


async def allow_inserts(bot: Harness, table: str) -> None:
    await bot.ctx.write(lambda db: db.execute(f"DROP TRIGGER refuse_{table}"))


async def test_an_approval_is_stored_with_its_timed_actions_or_not_at_all(bot: Harness) -> None:
    await bot.command("propose night 10.5 2026-12-02T22:00 4h")
    await bot.stub.wait_until(lambda: bool(bot.proposals(CHANNEL)))
    before = list_actions(bot.ctx.db, window_id=1)
    await refuse_inserts(bot, "scheduled_actions")
    await bot.click(Action.APPROVE, top(bot), APPROVER, channel=CHANNEL)
    told = await bot.wait_told(APPROVER, "full")
    assert "not saved" in told
    assert state(bot) is WindowState.PROPOSED, "no approval without its pre-check and expiry"
    assert list_acks(bot.ctx.db, 1) == [] and list_actions(bot.ctx.db, window_id=1) == before

    await allow_inserts(bot, "scheduled_actions")
    await bot.click(Action.APPROVE, top(bot), APPROVER, channel=CHANNEL)
    await until_state(bot, WindowState.APPROVED)
    kinds = {a.kind for a in list_actions(bot.ctx.db, window_id=1) if a.status.value == "pending"}
    assert {"precheck", "start", "end"} <= kinds


async def test_a_failed_step_is_never_recorded_without_its_halt_message(bot: Harness) -> None:
    await ready_at_start(bot)
    sim(bot).faults.fail_upgrade["dma-night-02"] = 1
    await refuse_inserts(bot, "outbox", "NEW.key LIKE 'halt:%'")
    await give_go(bot)
    await until(
        lambda: bot.ctx.metrics.watcher_restarts.labels("IntegrityError")._value.get() >= 2,
        "the halt could not be written, twice",
    )
    assert [s.status for s in list_steps(bot.ctx.db, 1)] == ["running"]
    await allow_inserts(bot, "outbox")
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("❌ #1 stopped: step 1") for m in thread(bot)), timeout=20
    )
    assert [s.status for s in list_steps(bot.ctx.db, 1)] == ["failed"]
    assert sim(bot).start_requests == 1, "carrying on never started the step again"
    assert verify_audit_chain(bot.ctx.db).ok


async def test_a_post_slack_took_but_the_bot_could_not_record_is_never_posted_twice(
    bot: Harness,
) -> None:
    """The G5 message reaches Slack, then storing its ts fails (the disk filled between the
    post and the bookkeeping): the row stays owed, the next attempt finds the message by its
    key in the thread instead of posting it again, and it is recorded once writes work."""
    await ready_at_start(bot)
    await refuse_inserts(bot, "window_messages", "NEW.key = 'verify'")
    await give_go(bot)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Verification of #1") for m in thread(bot)), timeout=20
    )
    await until(lambda: verify_attempts(bot) >= 3, "the bookkeeping failed and was tried again")
    await allow_inserts(bot, "window_messages")
    await the_night_ends_at_g5_once(bot)


async def test_a_delivery_that_cannot_be_marked_done_stays_owed_until_it_is(bot: Harness) -> None:
    """Slack took the G5 message and its ts is stored, but marking the outbox row delivered
    fails: the row stays owed and the dispatcher settles it later (by editing the message it
    knows), instead of the row being stranded with nobody to deliver it."""
    await ready_at_start(bot)

    def refuse_done(db: Database) -> None:
        db.execute(
            "CREATE TRIGGER refuse_done BEFORE UPDATE OF status ON outbox "
            "WHEN NEW.status = 'delivered' AND NEW.key = 'verify' "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )

    await bot.ctx.write(refuse_done)
    await give_go(bot)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Verification of #1") for m in thread(bot)), timeout=20
    )
    await until(lambda: verify_attempts(bot) >= 3, "marking it delivered failed, and was retried")
    await bot.ctx.write(lambda db: db.execute("DROP TRIGGER refuse_done"))
    await the_night_ends_at_g5_once(bot)
