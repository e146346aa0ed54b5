"""The proposal itself goes through the outbox (issue 15, item 1): stored with its window in one
transaction, posted once whatever Slack answers meanwhile (a late answer, a rate limit, an
outage over a restart), found in the channel by its key instead of posted twice, and every
re-render of it an edit that is retried until Slack shows it. Thread messages owed before the
proposal is in Slack are held, not dropped.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.models import Window, WindowState
from bot.ids import Action
from bot.outbox import EVENT_TYPE, SEARCH_MARGIN
from storage import create_window, get_window, list_audit, schedule_action
from storage.db import Database
from storage.outbox import PARENT_KEY, parent_row, pending_messages, window_outbox
from tests.fakes.bot import APPROVER, CHANNEL, PROPOSER, STRANGER, FakeClock, Harness
from tests.scenarios.test_faults import restarted
from tests.scenarios.test_propose_approve import PROPOSE, texts
from tests.scenarios.test_restart_repairs import START
from tests.scenarios.test_stale_truth import posted, until

STORED = "Stored #1; Slack has not confirmed its post yet"


def proposal_posts(bot: Harness) -> Counter[int]:
    """How often each window's proposal shows in the channel (by the key in its metadata)."""
    seen: Counter[int] = Counter()
    for message in bot.proposals():
        payload = (message.to_slack().get("metadata") or {}).get("event_payload") or {}
        if payload.get("key") == PARENT_KEY:
            seen[int(payload["window"])] += 1
    return seen


def thread_texts(bot: Harness) -> list[str]:
    parent = bot.proposals()[-1]
    return [m.text for m in bot.stub.thread(CHANNEL, parent.ts)[1:]]


def parent(bot: Harness) -> dict[str, Any]:
    return dict(bot.proposals()[-1].to_slack())


async def settled(bot: Harness, window_id: int = 1) -> None:
    """The proposal is in Slack, its ts stored, nothing of the window still owed."""
    await until(bot, lambda: posted(bot, window_id))
    await until(bot, lambda: not pending_messages(bot.ctx.db))


async def test_a_proposal_answered_too_late_is_posted_once_and_its_thread_works(
    bot: Harness,
) -> None:
    bot.ctx.client.timeout = 1
    bot.stub.late("chat.postMessage", 2.0, times=1)
    await bot.command(PROPOSE)
    told = await bot.wait_told(PROPOSER, "Stored #1")
    assert "Nothing was changed" not in told and "went wrong" not in told
    await settled(bot)
    assert proposal_posts(bot) == {1: 1}, "found in the channel, not posted again"
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.message_ts == bot.proposals()[-1].ts
    (search,) = bot.stub.calls_to("conversations.history")
    assert str(search.args.get("include_all_metadata")).lower() in ("1", "true")
    assert float(search.args["oldest"]) == (window.created_at - SEARCH_MARGIN).timestamp()
    assert [e.action for e in list_audit(bot.ctx.db, 1)] == ["proposed", "posted"]
    await bot.click(Action.APPROVE, parent(bot), APPROVER)
    await bot.stub.wait_until(
        lambda: any(t.startswith("Details checklist") for t in thread_texts(bot)), timeout=10
    )
    assert f"Approved by <@{APPROVER}>" in texts(parent(bot))
    assert proposal_posts(bot) == {1: 1}


async def test_a_proposal_refused_for_a_while_is_posted_once_when_slack_takes_it(
    bot: Harness,
) -> None:
    bot.stub.fail("chat.postMessage", error="ratelimited", times=3)
    bot.stub.fail("chat.postMessage", status=500, times=3)
    await bot.command(PROPOSE)
    told = await bot.wait_told(PROPOSER, "Stored #1", timeout=20)
    assert STORED in told
    await settled(bot)
    assert proposal_posts(bot) == {1: 1}
    refused = [c for c in bot.stub.calls_to("chat.postMessage") if c.fault]
    assert len(refused) == 6
    assert [e.action for e in list_audit(bot.ctx.db, 1)] == ["proposed", "posted"]
    assert buttons_of(parent(bot)) == [Action.APPROVE, Action.REJECT]


def buttons_of(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_a_proposal_owed_over_a_restart_is_posted_once_by_the_next_process(
    bot: Harness, tmp_path: Path, clock: FakeClock
) -> None:
    bot.stub.fail("chat.postMessage", error="service_unavailable", times=10_000)
    await bot.command(PROPOSE)
    assert STORED in await bot.wait_told(PROPOSER, "Stored #1", timeout=20)
    assert "not in Slack yet" in await bot.command("status 1", user=STRANGER)
    bot = await restarted(bot, tmp_path, clock)
    bot.stub.clear_faults()
    await settled(bot)
    assert proposal_posts(bot) == {1: 1}
    assert [e.action for e in list_audit(bot.ctx.db, 1)] == ["proposed", "posted"]
    await bot.running.stop()


async def test_a_bot_killed_before_slack_answered_the_proposal_finds_it_after_the_restart(
    bot: Harness, tmp_path: Path, clock: FakeClock
) -> None:
    """The proposal reached the channel, the process died waiting for the answer: the next
    process looks in the channel before posting and stores the ts it finds."""
    bot.stub.late("chat.postMessage", 30.0, times=1)
    await bot.command(PROPOSE)
    await bot.stub.wait_until(lambda: bool(bot.proposals()), timeout=10)
    assert not posted(bot, 1)
    bot = await restarted(bot, tmp_path, clock)
    await settled(bot)
    assert proposal_posts(bot) == {1: 1}
    assert bot.stub.calls_to("conversations.history"), "looked before posting again"
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.message_ts == bot.proposals()[-1].ts
    await bot.running.stop()


async def test_a_channel_the_bot_may_not_read_does_not_keep_the_proposal_from_being_posted(
    bot: Harness,
) -> None:
    """Slack refuses to list the channel (not_in_channel) even after the bot joined it again:
    not knowing, the outbox posts rather than never showing the proposal."""
    bot.stub.fail("chat.postMessage", status=500, times=1)
    bot.stub.fail("conversations.history", error="not_in_channel", times=10)
    joins = len(bot.stub.calls_to("conversations.join"))
    await bot.command(PROPOSE)
    await settled(bot)
    assert proposal_posts(bot) == {1: 1}
    faults = [c.fault for c in bot.stub.calls_to("conversations.history")]
    assert faults == ["error:not_in_channel"] * 2, "looked, joined, looked again, then posted"
    assert len(bot.stub.calls_to("conversations.join")) == joins + 1
    row = parent_row(bot.ctx.db, 1)
    assert row is not None and row.status == "delivered"


async def test_a_refresh_slack_refuses_for_a_while_ends_with_the_parent_showing_the_decision(
    bot: Harness,
) -> None:
    await bot.command(PROPOSE)
    await settled(bot)
    bot.stub.fail("chat.update", error="ratelimited", times=3)
    bot.stub.fail("chat.update", status=503, times=4)
    await bot.click(Action.APPROVE, parent(bot), APPROVER)
    await until(bot, lambda: state(bot) is WindowState.APPROVED)
    await bot.stub.wait_until(
        lambda: f"Approved by <@{APPROVER}>" in texts(parent(bot)), timeout=20
    )
    assert buttons_of(parent(bot)) == []
    assert any(c.fault for c in bot.stub.calls_to("chat.update"))
    await until(bot, lambda: not pending_messages(bot.ctx.db))
    assert proposal_posts(bot) == {1: 1}


async def test_the_newest_render_wins_when_the_proposal_changes_before_slack_takes_it(
    bot: Harness,
) -> None:
    """Cancelled while Slack refuses every post: the decision line is held for the thread,
    and once Slack answers the proposal appears as cancelled, with the line under it."""
    bot.stub.fail("chat.postMessage", error="service_unavailable", times=10_000)
    await bot.command(PROPOSE)
    await bot.wait_told(PROPOSER, "Stored #1", timeout=20)
    assert "Cancelled #1" in await bot.command("cancel 1 not tonight", user=PROPOSER)
    held = [m for m in pending_messages(bot.ctx.db) if m.key != PARENT_KEY]
    assert held and all(m.thread_ts is None for m in held), "held until the proposal is in"
    bot.stub.clear_faults()
    await settled(bot)
    assert proposal_posts(bot) == {1: 1}
    assert "Cancelled" in texts(parent(bot)) and buttons_of(parent(bot)) == []
    assert any("cancelled" in t.lower() for t in thread_texts(bot)), thread_texts(bot)
    row = parent_row(bot.ctx.db, 1)
    assert row is not None and row.status == "delivered"


async def test_thread_messages_held_for_a_proposal_slack_refuses_for_good_are_not_retried(
    bot: Harness,
) -> None:
    bot.stub.fail("chat.postMessage", error="channel_not_found", times=10_000)
    await bot.command(PROPOSE)
    told = await bot.wait_told(PROPOSER, "Stored #1", timeout=20)
    assert f"Slack refuses to post it in <#{CHANNEL}> (channel_not_found)" in told
    status = await bot.command("status 1", user=PROPOSER)
    assert "Slack refuses to post the proposal (channel_not_found)" in status
    assert "keeps posting" not in status
    assert "Cancelled #1" in await bot.command("cancel 1 wrong channel", user=PROPOSER)
    await until(bot, lambda: not pending_messages(bot.ctx.db))
    rows = {m.key: m for m in window_outbox(bot.ctx.db, 1)}
    assert rows[PARENT_KEY].status == "refused"
    assert rows[PARENT_KEY].last_error == "channel_not_found"
    held = [m for m in rows.values() if m.key != PARENT_KEY]
    assert held and all(m.status == "refused" for m in held)
    assert bot.proposals() == []
    await until(bot, lambda: bot.ctx.outbox_task is None or bot.ctx.outbox_task.done())


async def test_the_proposal_carries_its_key_in_its_metadata(bot: Harness) -> None:
    await bot.command(PROPOSE)
    await settled(bot)
    metadata = bot.proposals()[-1].to_slack()["metadata"]
    assert metadata == {
        "event_type": EVENT_TYPE,
        "event_payload": {"window": 1, "key": PARENT_KEY},
    }
    assert not bot.stub.calls_to("conversations.history"), "nothing to look for: it answered"


async def test_a_post_action_stored_before_the_outbox_carried_proposals_still_posts(
    bot: Harness,
) -> None:
    """A window stored by an earlier version: no outbox row, no ts, a "post" action due."""
    await bot.command(PROPOSE)
    await settled(bot)
    plan = get_window(bot.ctx.db, 1).plan  # type: ignore[union-attr]
    window = await bot.ctx.write(
        _legacy_window, plan=plan, created_at=bot.clock.now, start=START + timedelta(days=3)
    )
    assert parent_row(bot.ctx.db, window.id) is None
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    await settled(bot, window.id)
    assert proposal_posts(bot) == {1: 1, window.id: 1}
    stored = get_window(bot.ctx.db, window.id)
    assert stored is not None and stored.message_ts == bot.proposals()[-1].ts


def state(bot: Harness) -> WindowState | None:
    window = get_window(bot.ctx.db, 1)
    return window.state if window is not None else None


def _legacy_window(db: Database, *, plan: Any, created_at: datetime, start: datetime) -> Window:
    window = create_window(
        db,
        system="lab",
        target="10.5.0 CU18",
        start=start,
        end=start + timedelta(hours=4),
        proposer=PROPOSER,
        created_at=created_at,
        plan=plan,
        channel=CHANNEL,
    )
    schedule_action(db, window_id=window.id, kind="post", due_at=created_at, at=created_at)
    return window
