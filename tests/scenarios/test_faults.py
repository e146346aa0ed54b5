"""The night under Slack's and DataMiner's faults (issue 15): every message the procedure owes
reaches the thread exactly once, whatever Slack answers meanwhile; a trigger whose answer is
lost is attached to, never sent again; a malformed progress answer does not kill the watcher.

Each test runs the whole night (go, three steps, the G5 message) through the loopback Slack
stand-in with one kind of fault, and checks the same things: the window reaches G5 with its
buttons, no message key appears twice in the thread, each step ran once, the audit chain holds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiohttp

from bot.domain.models import WindowState
from bot.ids import Action, RunAction
from bot.runtime import start_http
from bot.sandbox.slack_stub import SlackStub
from storage import list_actions, list_audit, list_steps, verify_audit_chain
from storage.outbox import pending_messages
from tests.fakes.bot import APPROVER, BOT_TOKEN, SECRET, FakeClock, Harness, fast, make_context
from tests.scenarios.test_night import (
    CHANNEL,
    OPERATOR,
    give_go,
    ready_at_start,
    reply,
    sim,
    state,
    thread,
    top,
    until_state,
)
from tests.scenarios.test_propose_approve import texts


async def until(condition: Callable[[], bool], what: str = "", timeout: float = 20) -> None:
    """Wait for a condition on the database, which tells no one when it changes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not within {timeout} s {what}"
        await asyncio.sleep(0.02)


def keys_in_thread(bot: Harness) -> Counter[str]:
    """How often each outbox key shows in the window's thread (from the messages' metadata)."""
    parent = bot.proposals(CHANNEL)[-1]
    seen: Counter[str] = Counter()
    for message in bot.stub.thread(CHANNEL, parent.ts)[1:]:
        payload = (message.to_slack().get("metadata") or {}).get("event_payload") or {}
        if "key" in payload:
            seen[str(payload["key"])] += 1
    return seen


async def the_night_ends_at_g5_once(bot: Harness) -> None:
    await until_state(bot, WindowState.VERIFYING, timeout=20)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Verification of #1") for m in thread(bot)), timeout=20
    )
    await until(lambda: not pending_messages(bot.ctx.db), f"owed: {pending_messages(bot.ctx.db)}")
    verification = reply(bot, "Verification of #1")
    assert RunAction.VERIFIED.value in str(verification["blocks"]), "G5 has its buttons"
    seen = keys_in_thread(bot)
    assert seen["verify"] == 1 and seen["progress"] == 1
    assert all(count == 1 for count in seen.values()), f"a message posted twice: {seen}"
    runs = await sim(bot).find_runs()
    assert len(runs) == 3 and len({run.package for run in runs}) == 3, "each step ran once"
    assert verify_audit_chain(bot.ctx.db).ok


async def test_ok_false_ratelimited_on_every_post_of_the_run_loses_no_message(
    bot: Harness,
) -> None:
    """1c/1d/1m: Slack refuses the progress, the halt-free run's posts and the G5 message for
    a while; each is delivered once Slack takes posts again."""
    await ready_at_start(bot)
    bot.stub.fail("chat.postMessage", error="ratelimited", times=12)
    await give_go(bot)
    await the_night_ends_at_g5_once(bot)
    refused = [c for c in bot.stub.calls_to("chat.postMessage") if c.fault]
    assert len(refused) == 12


async def test_posts_that_slack_took_but_answered_too_late_are_found_not_posted_again(
    bot: Harness,
) -> None:
    """1g/1i: the post reaches the thread, the answer comes after the client gave up; the
    outbox finds the message by its key in the thread and edits it instead."""
    await ready_at_start(bot)
    bot.ctx.client.timeout = 1
    bot.stub.late("chat.postMessage", 2.0, times=2)
    await give_go(bot)
    await the_night_ends_at_g5_once(bot)
    late = [c for c in bot.stub.calls_to("chat.postMessage") if c.fault == "late"]
    assert len(late) == 2
    assert bot.stub.calls_to("conversations.replies"), "the thread was searched before posting"


async def test_dropped_connections_before_and_after_slack_did_the_work_lose_and_double_nothing(
    bot: Harness,
) -> None:
    """1n: connections closed without an answer, some after the message was posted."""
    await ready_at_start(bot)
    bot.stub.drop("chat.postMessage", times=2)
    bot.stub.drop("chat.postMessage", after_work=True, times=2)
    bot.stub.drop("chat.update", times=3)
    await give_go(bot)
    await the_night_ends_at_g5_once(bot)
    faults = Counter(c.fault for c in bot.stub.calls if c.fault)
    assert faults["dropped"] == 5 and faults["dropped_after_work"] == 2


async def test_a_trigger_whose_answer_is_lost_is_attached_to_not_sent_again(
    bot: Harness,
) -> None:
    """2d: the DMS starts step 2 but the answer is lost; the bot finds the run by its id."""
    await ready_at_start(bot)
    dms = sim(bot)
    await give_go(bot)
    await bot.stub.wait_until(lambda: len(list_steps(bot.ctx.db, 1)) >= 1)
    dms.faults.lost_start_answers = 1
    await the_night_ends_at_g5_once(bot)
    assert dms.start_requests == 3
    attached = [e for e in list_audit(bot.ctx.db, 1) if e.action == "step_attached"]
    assert len(attached) == 1
    assert [s.status for s in list_steps(bot.ctx.db, 1)] == ["done", "done", "done"]


async def test_malformed_progress_answers_do_not_stop_the_watcher(bot: Harness) -> None:
    """2g: an unexpected exception while reading progress is logged and watching goes on."""
    await ready_at_start(bot)
    sim(bot).faults.malformed_progress = 3
    await give_go(bot)
    await the_night_ends_at_g5_once(bot)
    assert sim(bot).faults.malformed_progress == 0


async def test_messages_still_owed_when_the_bot_stops_are_delivered_after_the_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A Slack outage over the end of the night and a restart in it: the G5 message is in
    the outbox, and the next process delivers it (once)."""
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": ["U0BOB"]})
    api = await stub.start()
    session = aiohttp.ClientSession()
    try:
        first = await start_http(fast(make_context(tmp_path, api, clock)), SECRET, "127.0.0.1", 0)
        bot = Harness(stub, first, clock, session, f"http://127.0.0.1:{first.port}", tmp_path)
        await ready_at_start(bot)
        stub.fail("chat.postMessage", error="service_unavailable", times=10_000)
        stub.fail("chat.update", error="service_unavailable", times=10_000)
        await give_go(bot)
        await until_state(bot, WindowState.VERIFYING, timeout=20)
        await until(lambda: any(m.key == "verify" for m in pending_messages(first.ctx.db)))
        first.ctx.shutdown_grace_seconds = 0.0
        await first.stop()
        stub.clear_faults()
        second_ctx = fast(make_context(tmp_path, api, clock))
        second_ctx.adapters = dict(first.ctx.adapters)
        second = await start_http(second_ctx, SECRET, "127.0.0.1", 0)
        bot = Harness(stub, second, clock, session, f"http://127.0.0.1:{second.port}", tmp_path)
        await the_night_ends_at_g5_once(bot)
        await second.stop()
        await sim(bot).shutdown()
    finally:
        await session.close()
        await stub.stop()


async def test_a_step_not_finished_in_time_is_halted_and_retry_watches_the_same_run(
    bot: Harness,
) -> None:
    """2h/D6: past its share of the estimate the step stops with the operators mentioned;
    Retry attaches to the run the DMS still has, it is never started again."""
    await ready_at_start(bot)
    dms = sim(bot)
    dms.step_seconds = 0.3
    await give_go(bot)
    await until(lambda: any(s.status == "running" for s in list_steps(bot.ctx.db, 1)))
    bot.clock.advance(timedelta(hours=6))
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("❌ #1 stopped") for m in thread(bot)), timeout=10
    )
    halted = reply(bot, "❌ #1 stopped: step 1")
    assert "<@U0OLGA>" in halted["text"]
    assert "not finished in time" in texts(halted)
    while not all(run.finished for run in await dms.find_runs()):  # the DMS ends the run
        await asyncio.sleep(0.02)
    dms.step_seconds = 0.01
    await bot.click(RunAction.RETRY, halted, OPERATOR, channel=CHANNEL)
    await the_night_ends_at_g5_once(bot)
    assert dms.start_requests == 3
    assert [(s.position, s.attempt, s.status) for s in list_steps(bot.ctx.db, 1)] == [
        (1, 1, "unknown"),
        (1, 2, "done"),
        (2, 1, "done"),
        (3, 1, "done"),
    ]


async def test_a_dms_that_stops_answering_mid_step_is_said_once_in_the_thread(
    bot: Harness,
) -> None:
    """2b: the whole DMS silent during a step: one notice, then the night goes on."""
    await ready_at_start(bot)
    dms = sim(bot)
    dms.step_seconds = 0.2
    await give_go(bot)
    await until(lambda: any(s.status == "running" for s in list_steps(bot.ctx.db, 1)))
    dms.faults.unreachable.update(["dma-night-01", "dma-night-02", "dma-night-03"])
    await bot.stub.wait_until(
        lambda: any("the DMS does not answer" in m["text"] for m in thread(bot)), timeout=10
    )
    dms.faults.unreachable.clear()
    await the_night_ends_at_g5_once(bot)
    assert sum("the DMS does not answer" in m["text"] for m in thread(bot)) == 1


async def restarted(bot: Harness, tmp_path: Path, clock: FakeClock) -> Harness:
    """The bot dies where it stands (nothing in flight may finish) and starts again from its
    database; the simulated DMS outlives it."""
    first = bot.running
    first.ctx.shutdown_grace_seconds = 0.0
    await first.stop()
    ctx = fast(make_context(tmp_path, bot.stub.base_url, clock))
    ctx.adapters = dict(first.ctx.adapters)
    second = await start_http(ctx, SECRET, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{second.port}"
    return Harness(bot.stub, second, clock, bot.session, url, tmp_path)


SLOW = {"dma-night-01": 30.0, "dma-night-02": 30.0, "dma-night-03": 30.0}


async def test_a_bot_stopped_between_verifying_and_the_g5_message_posts_it_at_start(
    tmp_path: Path, clock: FakeClock
) -> None:
    """D1/6c: killed while the post-check gathers evidence: the window is `verifying` with no
    G5 message; the next start verifies again and posts it, once."""
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": ["U0BOB"]})
    api = await stub.start()
    session = aiohttp.ClientSession()
    try:
        first = await start_http(fast(make_context(tmp_path, api, clock)), SECRET, "127.0.0.1", 0)
        bot = Harness(stub, first, clock, session, f"http://127.0.0.1:{first.port}", tmp_path)
        await ready_at_start(bot)
        sim(bot).step_seconds = 0.2
        await give_go(bot)
        await until(lambda: len(list_steps(first.ctx.db, 1)) == 3)
        sim(bot).faults.slow.update(SLOW)  # the post-check will wait on every agent
        await until_state(bot, WindowState.VERIFYING, timeout=20)
        bot = await restarted(bot, tmp_path, clock)
        assert "verify" not in keys_in_thread(bot)
        sim(bot).faults.slow.clear()
        await the_night_ends_at_g5_once(bot)
        await bot.running.stop()
        await sim(bot).shutdown()
    finally:
        await session.close()
        await stub.stop()


async def test_a_bot_stopped_between_a_failed_step_and_its_halt_message_posts_it_at_start(
    tmp_path: Path, clock: FakeClock
) -> None:
    """D1/6b: killed after the DMS reported the step failed, while the halt was being prepared.
    The step is recorded failed only together with its Retry/Abort message (one transaction),
    so the stop finds it still running; the restart attaches, sees the failure and halts once."""
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": ["U0BOB"]})
    api = await stub.start()
    session = aiohttp.ClientSession()
    try:
        first = await start_http(fast(make_context(tmp_path, api, clock)), SECRET, "127.0.0.1", 0)
        bot = Harness(stub, first, clock, session, f"http://127.0.0.1:{first.port}", tmp_path)
        await ready_at_start(bot)
        sim(bot).faults.fail_upgrade["dma-night-02"] = 1
        sim(bot).step_seconds = 0.2
        await give_go(bot)
        await until(lambda: len(list_steps(first.ctx.db, 1)) == 1)
        sim(bot).faults.slow.update(SLOW)  # the halt reads the cluster first: slowly
        for _ in range(500):
            if any(run.failed and run.finished for run in await sim(bot).find_runs()):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the DMS never reported step 1 failed")
        assert [s.status for s in list_steps(first.ctx.db, 1)] == ["running"], (
            "no failed step without its halt message"
        )
        bot = await restarted(bot, tmp_path, clock)
        sim(bot).faults.slow.clear()
        await bot.stub.wait_until(
            lambda: any(m["text"].startswith("❌ #1 stopped: step 1") for m in thread(bot)),
            timeout=10,
        )
        halted = reply(bot, "❌ #1 stopped: step 1")
        assert "Retry step" in texts(halted) and "Abort" in texts(halted)
        assert keys_in_thread(bot)[f"halt:{list_steps(bot.ctx.db, 1)[0].id}"] == 1
        await bot.running.stop()
        await sim(bot).shutdown()
    finally:
        await session.close()
        await stub.stop()


async def test_a_bot_removed_from_its_channel_joins_it_again_to_look_before_reposting(
    bot: Harness,
) -> None:
    """Slack lets a bot read only channels it is a member of; a bot someone removed still posts
    (chat:write.public) but cannot search its thread: it joins again, finds the message whose
    answer was lost, and posts nothing twice."""
    await ready_at_start(bot)
    bot.stub.remove_bot(CHANNEL)
    bot.ctx.client.timeout = 1
    bot.stub.late("chat.postMessage", 2.0, times=1)
    await give_go(bot)
    await the_night_ends_at_g5_once(bot)
    refused = [
        c
        for c in bot.stub.calls_to("conversations.replies")
        if c.response.get("error") == "not_in_channel"
    ]
    assert refused, "the first look was refused: the bot was not a member"
    assert bot.stub.calls_to("conversations.join")[-1].args["channel"] == CHANNEL


async def test_a_checklist_the_dms_cannot_give_at_approval_is_posted_by_itself_later(
    bot: Harness,
) -> None:
    """Approved while no Agent answers: the approval stands, the thread says the checklist
    cannot be made yet, and the checklist action stored with the approval is tried again
    until it is posted, with nobody having to notice or click anything (issue 15)."""
    await bot.command("propose night 10.5 2026-12-02T22:00 4h")
    await bot.stub.wait_until(lambda: bool(bot.proposals(CHANNEL)))
    agents = {"dma-night-01", "dma-night-02", "dma-night-03"}
    sim(bot).faults.unreachable = set(agents)
    await bot.click(Action.APPROVE, top(bot), APPROVER, channel=CHANNEL)
    await bot.stub.wait_until(
        lambda: any("checklist of #1 cannot be made yet" in m["text"] for m in thread(bot))
    )
    assert state(bot) is WindowState.APPROVED
    assert not any(m["text"].startswith("Details checklist") for m in thread(bot))

    sim(bot).faults.unreachable = set()
    bot.clock.advance(timedelta(minutes=1))
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Details checklist") for m in thread(bot))
    )
    outcomes = [a.outcome for a in list_actions(bot.ctx.db, window_id=1) if a.kind == "details"]
    assert outcomes[0] is not None and outcomes[0].startswith("retry")
    assert outcomes[-1] == "posted"
