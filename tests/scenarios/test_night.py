"""The night on the simulator through loopback Slack: go, three steps with progress edits, a
failure that stops the run, a restart that re-attaches, verification with a before/after diff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.agents.models import AgentState
from bot.agents.simulated import SimulatedAdapter
from bot.domain.models import GateId, WindowState
from bot.ids import Action, GateAction, RunAction
from bot.runtime import start_http
from bot.sandbox.slack_stub import SlackStub
from storage import (
    get_window,
    list_acks,
    list_audit,
    list_steps,
    measured_startups,
    verify_audit_chain,
)
from tests.fakes.bot import (
    APPROVER,
    BOT_TOKEN,
    PROPOSER,
    SECRET,
    FakeClock,
    Harness,
    fast,
    make_context,
)
from tests.scenarios.test_gates import close_details
from tests.scenarios.test_propose_approve import texts

CHANNEL = "C0NIGHT"
OPERATOR = PROPOSER
START = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
BACKUP = {
    "backup": {"backup_check": {"type": "checkboxes", "selected_options": [{"value": "taken"}]}}
}


def top(bot: Harness) -> dict[str, Any]:
    return dict(bot.proposals(CHANNEL)[-1].to_slack())


def thread(bot: Harness) -> list[dict[str, Any]]:
    parent = bot.proposals(CHANNEL)[-1]
    return [m.to_slack() for m in bot.stub.thread(CHANNEL, parent.ts)[1:]]


def reply(bot: Harness, starting: str) -> dict[str, Any]:
    found = [m for m in thread(bot) if m["text"].startswith(starting)]
    assert found, f"no reply starting {starting!r}: {[m['text'] for m in thread(bot)]}"
    return found[-1]


def state(bot: Harness) -> WindowState:
    window = get_window(bot.ctx.db, 1)
    assert window is not None
    return window.state


async def until_state(bot: Harness, wanted: WindowState, timeout: float = 10) -> None:
    await bot.stub.wait_until(lambda: state(bot) is wanted, timeout=timeout)


async def ready_at_start(bot: Harness) -> None:
    """Propose, approve, settle G2, pre-check and accept it, then reach the start: go prompt."""
    await bot.command("propose night 10.5 2026-12-02T22:00 4h")
    await bot.stub.wait_until(lambda: bool(bot.proposals(CHANNEL)))
    await bot.click(Action.APPROVE, top(bot), APPROVER, channel=CHANNEL)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Details checklist") for m in thread(bot))
    )
    await close_details(bot, CHANNEL)
    await until_state(bot, WindowState.PLANNED)
    bot.clock.now = START - timedelta(hours=24)
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    await bot.click(
        GateAction.PRECHECK_ACCEPT, reply(bot, "Pre-check of #1"), OPERATOR, channel=CHANNEL
    )
    await until_state(bot, WindowState.READY)
    bot.clock.now = START
    await bot.ctx.scheduler.run_due()
    reply(bot, "G4: #1 may start now")


async def give_go(bot: Harness) -> None:
    before = len(bot.stub.calls_to("views.open"))
    await bot.click(RunAction.GO, reply(bot, "G4: #1 may start now"), OPERATOR, channel=CHANNEL)
    view = (await bot.stub.wait_for("views.open", count=before + 1))[before].response["view"]
    status, body = await bot.submit(
        view, {"backup": {"backup_check": {"type": "checkboxes", "selected_options": []}}}, OPERATOR
    )
    assert "backup" in body and "errors" in body
    assert state(bot) is WindowState.READY
    status, body = await bot.submit(view, BACKUP, OPERATOR)
    assert status == 200 and body == ""


def sim(bot: Harness) -> SimulatedAdapter:
    adapter = bot.ctx.adapters["night"]
    assert isinstance(adapter, SimulatedAdapter)
    return adapter


async def test_the_whole_night_go_three_steps_progress_and_a_verified_result(
    bot: Harness,
) -> None:
    await ready_at_start(bot)
    await give_go(bot)
    await until_state(bot, WindowState.VERIFYING)
    steps = list_steps(bot.ctx.db, 1)
    assert [(s.position, s.status) for s in steps] == [(1, "done"), (2, "done"), (3, "done")]
    assert len(await sim(bot).find_runs()) == 3
    triggered = [e for e in list_audit(bot.ctx.db, 1) if e.action == "step_triggered"]
    assert [e.detail["run_id"] for e in triggered] == [s.run_id for s in steps]
    progress = reply(bot, "#1: step 3/3")
    assert "dma-night-02" in texts(progress)
    edits = [c for c in bot.stub.calls_to("chat.update") if c.args.get("ts") == progress["ts"]]
    assert 1 <= len(edits) < 60, "progress is edited, rate-limited, not once per poll"
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Verification of #1") for m in thread(bot))
    )
    comparison = texts(reply(bot, "Verification of #1"))
    assert "10.2.0 CU4" in comparison or "10.2.0.0-11897-CU4" in comparison
    assert "10.5.0.0-0-CU18" in comparison
    assert "Every agent on 10.5.0 CU18" in comparison
    go = [a for a in list_acks(bot.ctx.db, 1) if a.gate is GateId.G4]
    assert len(go) == 1 and go[0].user == OPERATOR and go[0].digest
    await bot.click(RunAction.VERIFIED, reply(bot, "Verification of #1"), OPERATOR, channel=CHANNEL)
    await until_state(bot, WindowState.DONE)
    assert verify_audit_chain(bot.ctx.db).ok
    assert "*#1*" in await bot.command("history")


async def test_a_failure_in_step_two_stops_the_run_and_waits_for_a_person(bot: Harness) -> None:
    await ready_at_start(bot)
    sim(bot).faults.fail_upgrade["dma-night-02"] = 2
    await give_go(bot)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("❌ #1 stopped") for m in thread(bot)), timeout=10
    )
    halted = reply(bot, "❌ #1 stopped: step 2")
    shown = texts(halted)
    assert "dma-night-02" in shown and "progress.log" in shown
    assert "Retry step" in shown and "Abort" in shown
    assert state(bot) is WindowState.EXECUTING
    assert [s.status for s in list_steps(bot.ctx.db, 1)] == ["done", "failed"]
    assert len(await sim(bot).find_runs()) == 2, "step 3 was never triggered"
    sim(bot).set_agent("dma-night-02", state=AgentState.RUNNING)
    await bot.click(RunAction.RETRY, halted, OPERATOR, channel=CHANNEL)
    await until_state(bot, WindowState.VERIFYING)
    attempts = [(s.position, s.attempt, s.status) for s in list_steps(bot.ctx.db, 1)]
    assert attempts == [(1, 1, "done"), (2, 1, "failed"), (2, 2, "done"), (3, 1, "done")]


async def test_abort_marks_the_window_failed_with_the_rollback_advice(bot: Harness) -> None:
    await ready_at_start(bot)
    sim(bot).faults.fail_upgrade["dma-night-01"] = 1
    await give_go(bot)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("❌ #1 stopped") for m in thread(bot)), timeout=10
    )
    await bot.click(RunAction.ABORT, reply(bot, "❌ #1 stopped"), OPERATOR, channel=CHANNEL)
    await until_state(bot, WindowState.FAILED)
    window = get_window(bot.ctx.db, 1)
    assert window is not None and "rollback plan" in (window.reason or "")


async def test_a_go_clicked_twice_triggers_once(bot: Harness) -> None:
    await ready_at_start(bot)
    before = len(bot.stub.calls_to("views.open"))
    await bot.click(RunAction.GO, reply(bot, "G4: #1 may start now"), OPERATOR, channel=CHANNEL)
    await bot.click(RunAction.GO, reply(bot, "G4: #1 may start now"), OPERATOR, channel=CHANNEL)
    opened = await bot.stub.wait_for("views.open", count=before + 2)
    first, second = (o.response["view"] for o in opened[before:])
    await bot.submit(first, BACKUP, OPERATOR)
    await bot.submit(second, BACKUP, OPERATOR)
    await until_state(bot, WindowState.VERIFYING)
    assert len([a for a in list_acks(bot.ctx.db, 1) if a.gate is GateId.G4]) == 1
    assert len(await sim(bot).find_runs()) == 3
    # The second go is refused, in words, whether it lost the race at the move or came after.
    refusals = ("The go (G4) of #1 is not open now: it ", "#1 was already started")
    await bot.stub.wait_until(
        lambda: any(r in t for t in bot.ephemeral_texts(OPERATOR) for r in refusals)
    )


async def test_the_go_is_refused_when_health_changed_since_the_accepted_precheck(
    bot: Harness,
) -> None:
    await ready_at_start(bot)
    sim(bot).faults.unreachable.add("dma-night-03")
    await give_go(bot)
    await until_state(bot, WindowState.PLANNED)
    # The notice is posted after the state moved back: wait for the notice itself (issue 11).
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("⚠️ No go for #1") for m in thread(bot))
    )
    assert await sim(bot).find_runs() == []
    # the notice is posted just after the state moves back: wait for it, not for luck
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("⚠️ No go for #1") for m in thread(bot))
    )
    notice = reply(bot, "⚠️ No go for #1")
    assert "dma-night-03" in notice["text"]


async def test_a_restart_mid_step_reattaches_and_never_triggers_twice(
    tmp_path: Path, clock: FakeClock
) -> None:
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": ["U0BOB"]})
    api = await stub.start()
    session = aiohttp.ClientSession()
    try:
        first = await start_http(fast(make_context(tmp_path, api, clock)), SECRET, "127.0.0.1", 0)
        bot = Harness(stub, first, clock, session, f"http://127.0.0.1:{first.port}", tmp_path)
        adapter = sim(bot)
        adapter.step_seconds = 0.15
        await ready_at_start(bot)
        await give_go(bot)
        await stub.wait_until(
            lambda: any(s.status == "running" for s in list_steps(first.ctx.db, 1)), timeout=10
        )
        assert [s.status for s in list_steps(first.ctx.db, 1)][-1] == "running"
        first.ctx.shutdown_grace_seconds = 0.0
        await first.stop()
        second_ctx = fast(make_context(tmp_path, api, clock))
        second_ctx.adapters = dict(first.ctx.adapters)  # the DMS outlives the bot
        second = await start_http(second_ctx, SECRET, "127.0.0.1", 0)
        bot = Harness(stub, second, clock, session, f"http://127.0.0.1:{second.port}", tmp_path)
        await until_state(bot, WindowState.VERIFYING, timeout=15)
        steps = list_steps(second.ctx.db, 1)
        assert [(s.position, s.attempt, s.status) for s in steps] == [
            (1, 1, "done"),
            (2, 1, "done"),
            (3, 1, "done"),
        ]
        assert len(await adapter.find_runs()) == 3
        await second.stop()
        await adapter.shutdown()
    finally:
        await session.close()
        await stub.stop()


async def test_a_problem_at_verification_marks_the_window_failed_with_its_reason(
    bot: Harness,
) -> None:
    await ready_at_start(bot)
    await give_go(bot)
    await until_state(bot, WindowState.VERIFYING)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Verification of #1") for m in thread(bot))
    )
    await bot.click(RunAction.PROBLEM, reply(bot, "Verification of #1"), OPERATOR, channel=CHANNEL)
    opened = await bot.stub.wait_for("views.open", count=3)
    view = opened[-1].response["view"]
    status, body = await bot.submit(
        view,
        {
            "reason": {
                "reason_input": {
                    "type": "plain_text_input",
                    "value": "Encoder A lost its input after the upgrade",
                }
            }
        },
        OPERATOR,
    )
    assert status == 200 and body == ""
    await until_state(bot, WindowState.FAILED)
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.reason == "Encoder A lost its input after the upgrade"
    g5 = [a for a in list_acks(bot.ctx.db, 1) if a.gate is GateId.G5]
    assert [(a.decision, a.user) for a in g5] == [("report_problem", OPERATOR)]
    assert g5[0].digest


async def test_postpone_at_the_go_asks_for_a_new_start_and_goes_back_to_g1(
    bot: Harness,
) -> None:
    await ready_at_start(bot)
    prompt = reply(bot, "G4: #1 may start now")
    button = next(
        e
        for b in prompt["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == RunAction.POSTPONE
    )
    assert "confirm" in button  # one click by mistake does nothing
    before = len(bot.stub.calls_to("views.open"))
    await bot.click(RunAction.POSTPONE, prompt, OPERATOR, channel=CHANNEL)
    view = (await bot.stub.wait_for("views.open", count=before + 1))[before].response["view"]
    assert state(bot) is WindowState.READY  # opening the form changes nothing
    new_start = {
        "start_date": {"start_date_pick": {"type": "datepicker", "selected_date": "2026-12-09"}},
        "start_time": {"start_time_pick": {"type": "timepicker", "selected_time": "22:00"}},
    }
    status, body = await bot.submit(view, new_start, OPERATOR)
    assert status == 200 and body == ""
    await until_state(bot, WindowState.PROPOSED)
    window = get_window(bot.ctx.db, 1)
    assert window is not None
    assert window.start == datetime(2026, 12, 9, 21, 0, tzinfo=UTC)
    assert window.length == timedelta(hours=4)
    assert window.decided_by is None
    await bot.stub.wait_until(lambda: any(m["text"].startswith("⏩ #1") for m in thread(bot)))
    assert "Approve" in texts(top(bot))
    assert await sim(bot).find_runs() == []


async def test_postponing_into_a_blackout_is_refused_and_nothing_changes(bot: Harness) -> None:
    await ready_at_start(bot)
    answer = await bot.command("postpone 1 2026-12-22T22:00", channel=CHANNEL)
    refusal = answer if "Year-end freeze" in answer else None
    if refusal is None:  # the refusal comes after the ack: wait for that very sentence
        refusal = await bot.wait_told(PROPOSER, "Year-end freeze", timeout=15)
    assert "Year-end freeze" in refusal
    assert state(bot) is WindowState.READY


async def test_a_package_gone_from_the_store_stops_the_run_before_anything_is_triggered(
    bot: Harness,
) -> None:
    await ready_at_start(bot)
    store = bot.tmp_path / "packages"
    package = store / "DataMiner 10.4.0.0(CU21)-0 Full Upgrade.dmupgrade"
    content = package.read_bytes()
    package.unlink()
    await give_go(bot)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("❌ #1 stopped: step 2") for m in thread(bot)), timeout=10
    )
    steps = list_steps(bot.ctx.db, 1)
    assert [(s.position, s.status) for s in steps] == [(1, "done"), (2, "failed")]
    assert "10.4.0.0(CU21)" in (steps[-1].error or "")
    assert len(await sim(bot).find_runs()) == 1, "step 2 never reached the DMS"
    package.write_bytes(content)
    await bot.click(RunAction.RETRY, reply(bot, "❌ #1 stopped: step 2"), OPERATOR, channel=CHANNEL)
    await until_state(bot, WindowState.VERIFYING)
    assert len(await sim(bot).find_runs()) == 3


async def test_later_estimates_use_the_start_up_measured_during_earlier_upgrades(
    bot: Harness,
) -> None:
    await ready_at_start(bot)
    first = texts(bot.proposals(CHANNEL)[0].to_slack())
    assert "from the config (nothing measured yet)" in first
    sim(bot).step_seconds = 0.05  # long enough for the bot to see each agent start
    await give_go(bot)
    await until_state(bot, WindowState.VERIFYING)
    assert len(measured_startups(bot.ctx.db, "night")) == 3
    await bot.command("propose night 10.6 2026-12-09T22:00 4h")  # now on 10.5: on to 10.6
    await bot.stub.wait_until(lambda: len(bot.proposals(CHANNEL)) == 2)
    second = texts(bot.proposals(CHANNEL)[-1].to_slack())
    assert "measured (median of 3 earlier step(s))" in second
