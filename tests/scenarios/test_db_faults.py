"""The night when the database itself misbehaves (issue 15, items 2, 5 and 6): another process
holding SQLite's write lock, the file turned read-only, the disk full. Acks, reads and
``/healthz`` never wait for the lock; a click that cannot be saved is told so in one sentence
and changes nothing; the watcher carries on from the database once writes work again; and each
night still ends at G5 once, every step started once, the audit chain intact."""

from __future__ import annotations

import json

from bot.domain.models import WindowState
from bot.ids import Action
from storage import get_window, list_acks, list_steps
from storage.db import last_write_failure
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
