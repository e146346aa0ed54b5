"""Never act on stale truth (issue 10), over loopback Slack: two windows planned on day 1 for one
system, the first taking the agents past the second's path; a proposal past its start; a plan
changed under an accepted pre-check."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.agents.models import AgentState, Severity
from bot.agents.simulated import SimulatedAdapter
from bot.domain.models import WindowState
from bot.domain.proposal import ProposalDetails
from bot.ids import Action, GateAction, RunAction
from storage import get_window, list_actions, list_steps, set_hotfixes
from tests.fakes.bot import APPROVER, PROPOSER, Harness
from tests.scenarios.test_night import BACKUP
from tests.scenarios.test_propose_approve import texts

CHANNEL = "C0NIGHT"
OPERATOR = PROPOSER
FIRST_START = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
SECOND_START = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


def parent(bot: Harness, window_id: int) -> dict[str, Any]:
    return dict(bot.proposals(CHANNEL)[window_id - 1].to_slack())


def thread(bot: Harness, window_id: int) -> list[dict[str, Any]]:
    ts = bot.proposals(CHANNEL)[window_id - 1].ts
    return [m.to_slack() for m in bot.stub.thread(CHANNEL, ts)[1:]]


def replies(bot: Harness, window_id: int, starting: str) -> list[dict[str, Any]]:
    return [m for m in thread(bot, window_id) if m["text"].startswith(starting)]


def state(bot: Harness, window_id: int) -> WindowState:
    window = get_window(bot.ctx.db, window_id)
    assert window is not None
    return window.state


async def until(bot: Harness, condition: Any, timeout: float = 20) -> None:
    """Wait for ``condition``: re-checked on every change the Slack stand-in sees, and at least
    every 50 ms for what only the database shows (a stored action, a state)."""
    async with asyncio.timeout(timeout):
        while not condition():
            with contextlib.suppress(TimeoutError):
                await bot.stub.wait_until(condition, timeout=0.05)


def only(message: dict[str, Any], value: str) -> dict[str, Any]:
    kept = []
    for block in message["blocks"]:
        if block["type"] == "actions":
            elements = [e for e in block["elements"] if e.get("value") == value]
            if not elements:
                continue
            block = {**block, "elements": elements}
        kept.append(block)
    return {**message, "blocks": kept}


def posted(bot: Harness, window_id: int) -> bool:
    """The proposal is in Slack and the bot has stored where (not only that Slack saw it)."""
    window = get_window(bot.ctx.db, window_id)
    return window is not None and window.message_ts is not None


async def propose_and_approve(bot: Harness, text: str, window_id: int) -> None:
    await bot.command(text, channel=CHANNEL)
    await until(bot, lambda: posted(bot, window_id))
    await bot.click(Action.APPROVE, parent(bot, window_id), APPROVER, channel=CHANNEL)
    await until(bot, lambda: bool(replies(bot, window_id, "Details checklist")))


async def settle(bot: Harness, window_id: int, item: str) -> None:
    checklist = replies(bot, window_id, "Details checklist")[-1]
    opened = len(bot.stub.calls_to("views.open"))
    value = f"{window_id}:{item}"
    await bot.click(GateAction.DETAIL_CONFIRM, only(checklist, value), OPERATOR, channel=CHANNEL)
    if item == "hotfixes":
        calls = await bot.stub.wait_for("views.open", count=opened + 1)
        ticked = [{"value": "none"}]  # "No hotfixes for this window" is an answer of its own
        values = {"hotfixes": {"hotfix_check": {"type": "checkboxes", "selected_options": ticked}}}
        status, body = await bot.submit(calls[-1].response["view"], values, OPERATOR)
        assert status == 200 and body == "", body


async def settle_manual_items(bot: Harness, window_id: int, last: bool = True) -> None:
    items = ["key_functions", "hotfixes", "backup"]
    for item in items if last else items[:-1]:
        before = len(bot.stub.calls_to("chat.update"))
        await settle(bot, window_id, item)
        await until(bot, lambda n=before: len(bot.stub.calls_to("chat.update")) > n)


def sim(bot: Harness) -> SimulatedAdapter:
    adapter = bot.ctx.adapters["night"]
    assert isinstance(adapter, SimulatedAdapter)
    return adapter


async def accept_first_precheck(bot: Harness) -> None:
    """Window #1, approved: its checklist settled, its day-before pre-check run and accepted."""
    await settle_manual_items(bot, 1)
    await until(bot, lambda: state(bot, 1) is WindowState.PLANNED)
    assert bot.ctx.scheduler is not None
    bot.clock.now = FIRST_START - timedelta(hours=24)
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: bool(replies(bot, 1, "Pre-check of #1")))
    precheck = replies(bot, 1, "Pre-check of #1")[-1]
    await bot.click(GateAction.PRECHECK_ACCEPT, precheck, OPERATOR, channel=CHANNEL)
    await until(bot, lambda: state(bot, 1) is WindowState.READY)


async def run_first_window_to_done(bot: Harness) -> None:
    await accept_first_precheck(bot)
    assert bot.ctx.scheduler is not None
    bot.clock.now = FIRST_START
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: bool(replies(bot, 1, "G4: #1 may start now")))
    before = len(bot.stub.calls_to("views.open"))
    prompt = replies(bot, 1, "G4: #1 may start now")[-1]
    await bot.click(RunAction.GO, prompt, OPERATOR, channel=CHANNEL)
    view = (await bot.stub.wait_for("views.open", count=before + 1))[before].response["view"]
    await bot.submit(view, BACKUP, OPERATOR)
    await until(bot, lambda: state(bot, 1) is WindowState.VERIFYING, timeout=20)
    await until(bot, lambda: bool(replies(bot, 1, "Verification of #1")))
    verification = replies(bot, 1, "Verification of #1")[-1]
    await bot.click(RunAction.VERIFIED, verification, OPERATOR, channel=CHANNEL)
    await until(bot, lambda: state(bot, 1) is WindowState.DONE)


async def test_a_window_overtaken_by_another_goes_back_to_g1_with_its_new_plan(
    bot: Harness,
) -> None:
    # Day 1: both windows planned from what the agents run now (10.2.0 CU4).
    await propose_and_approve(bot, "propose night 10.5 2026-12-02T22:00 4h", 1)
    await propose_and_approve(bot, "propose night 10.6 2026-12-04T22:00 6h", 2)
    planned = ProposalDetails.model_validate(get_window(bot.ctx.db, 2).plan).plan  # type: ignore[union-attr]
    assert [s.to_label for s in planned.steps][-1].startswith("10.6")
    assert len(planned.steps) == 4
    # The first window takes the agents to 10.5.
    await run_first_window_to_done(bot)
    runs_after_first = len(await sim(bot).find_runs())
    # The second window's G2 would close now: the plan is checked against the agents first.
    await settle_manual_items(bot, 2, last=False)
    await settle(bot, 2, "backup")
    await until(bot, lambda: state(bot, 2) is WindowState.PROPOSED)
    window = get_window(bot.ctx.db, 2)
    assert window is not None
    fresh = ProposalDetails.model_validate(window.plan).plan
    assert fresh.current.label.startswith("10.5")
    assert [s.to_label for s in fresh.steps] == [planned.steps[-1].to_label]
    await until(bot, lambda: bool(replies(bot, 2, "⚠️ #2 did not pass G2")))
    notice = replies(bot, 2, "⚠️ #2 did not pass G2")[-1]["text"]
    assert "back at G1" in notice and "<!subteam^" in notice  # the approvers are asked
    await until(bot, lambda: any("did not pass G2" in t for t in bot.ephemeral_texts(OPERATOR)))
    assert "Approve" in texts(parent(bot, 2))  # the proposal asks again, with the new plan
    assert len(await sim(bot).find_runs()) == runs_after_first  # nothing was triggered
    # A fresh approval starts a fresh checklist: the earlier round's confirmations are not reused.
    await bot.click(Action.APPROVE, parent(bot, 2), APPROVER, channel=CHANNEL)
    await until(bot, lambda: len(replies(bot, 2, "Details checklist")) == 2)
    assert state(bot, 2) is WindowState.APPROVED
    latest = replies(bot, 2, "Details checklist")[-1]
    for item in ("key_functions", "hotfixes", "backup"):  # asked again, not carried over
        assert f"item_{item}" in str(latest["blocks"])


async def test_a_window_whose_agents_already_run_its_target_is_closed_with_nothing_run(
    bot: Harness,
) -> None:
    await propose_and_approve(bot, "propose night 10.5 2026-12-02T22:00 4h", 1)
    target = get_window(bot.ctx.db, 1)
    assert target is not None
    for name in ("dma-night-01", "dma-night-02", "dma-night-03"):
        sim(bot).set_agent(name, version="10.5.0.0-15420-CU18")
    await settle_manual_items(bot, 1, last=False)
    await settle(bot, 1, "backup")
    await until(bot, lambda: state(bot, 1) is WindowState.CANCELLED)
    await until(bot, lambda: bool(replies(bot, 1, "✅ #1 is closed")))
    assert await sim(bot).find_runs() == []
    pending = [a for a in list_actions(bot.ctx.db, window_id=1) if a.status.value == "pending"]
    assert pending == []


async def test_a_proposal_nobody_decided_expires_at_its_start_and_a_late_click_runs_nothing(
    bot: Harness,
) -> None:
    await bot.command("propose night 10.5 2026-12-02T22:00 4h", channel=CHANNEL)
    await until(bot, lambda: posted(bot, 1))
    kinds = sorted(a.kind for a in list_actions(bot.ctx.db, window_id=1))
    assert kinds == ["reminder:7200", "reminder:900", "start"]
    stale = parent(bot, 1)
    assert bot.ctx.scheduler is not None
    bot.clock.now = FIRST_START - timedelta(hours=2)
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: bool(replies(bot, 1, "⏰ #1")))
    reminder = replies(bot, 1, "⏰ #1")[-1]["text"]
    assert "G1" in reminder and "<!subteam^" in reminder  # the approvers owe it
    bot.clock.now = FIRST_START
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: state(bot, 1) is WindowState.EXPIRED)
    await until(bot, lambda: "Approve" not in texts(parent(bot, 1)))  # its buttons are gone
    await bot.click(Action.APPROVE, stale, APPROVER, channel=CHANNEL)
    await bot.wait_ephemeral(APPROVER)
    assert state(bot, 1) is WindowState.EXPIRED
    assert not replies(bot, 1, "Details checklist")
    assert await sim(bot).find_runs() == []


async def test_agents_that_moved_after_the_accepted_precheck_stop_the_go(bot: Harness) -> None:
    await propose_and_approve(bot, "propose night 10.5 2026-12-02T22:00 4h", 1)
    await accept_first_precheck(bot)
    bot.clock.now = FIRST_START
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: bool(replies(bot, 1, "G4: #1 may start now")))
    for name in ("dma-night-01", "dma-night-02", "dma-night-03"):  # someone upgraded by hand
        sim(bot).set_agent(name, version="10.3.0.0-12752-CU20")
    before = len(bot.stub.calls_to("views.open"))
    await bot.click(RunAction.GO, replies(bot, 1, "G4: #1")[-1], OPERATOR, channel=CHANNEL)
    view = (await bot.stub.wait_for("views.open", count=before + 1))[before].response["view"]
    await bot.submit(view, BACKUP, OPERATOR)
    await until(bot, lambda: state(bot, 1) is WindowState.PROPOSED)
    assert await sim(bot).find_runs() == []
    assert list_steps(bot.ctx.db, 1) == []
    await until(bot, lambda: bool(replies(bot, 1, "⚠️ #1 did not pass G4")))


def live(message: dict[str, Any]) -> bool:
    """Whether a message still carries buttons."""
    return any(block["type"] == "actions" for block in message.get("blocks") or [])


async def test_only_the_current_message_carries_controls(bot: Harness) -> None:
    """Walk the transitions that supersede a message: a re-run pre-check, a reopened G3, a
    halted step retried, the end of the window; after each, only the current one is live."""
    await propose_and_approve(bot, "propose night 10.5 2026-12-02T22:00 4h", 1)
    await settle_manual_items(bot, 1)
    await until(bot, lambda: state(bot, 1) is WindowState.PLANNED)
    await until(bot, lambda: not live(replies(bot, 1, "Details checklist")[-1]))  # G2 closed
    assert bot.ctx.scheduler is not None
    bot.clock.now = FIRST_START - timedelta(hours=24)
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: len(replies(bot, 1, "Pre-check of #1")) == 1)
    await bot.command("precheck 1", channel=CHANNEL)  # a second run supersedes the first
    await until(bot, lambda: len(replies(bot, 1, "Pre-check of #1")) == 2)
    await until(bot, lambda: not live(replies(bot, 1, "Pre-check of #1")[0]))
    first, second = replies(bot, 1, "Pre-check of #1")
    assert "Superseded" in texts(first) and live(second)
    await bot.click(GateAction.PRECHECK_ACCEPT, second, OPERATOR, channel=CHANNEL)
    await until(bot, lambda: state(bot, 1) is WindowState.READY)
    bot.clock.now = FIRST_START
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: bool(replies(bot, 1, "G4: #1 may start now")))
    prompt = replies(bot, 1, "G4: #1 may start now")[-1]
    assert live(prompt)
    channel_only = [m for m in bot.stub.messages(CHANNEL) if m.text.startswith("G4: #1")]
    assert channel_only, "the go prompt is announced in the channel too"
    # One agent fails step 2: the run halts, the operators are named, the parent says halted.
    sim(bot).faults.fail_upgrade["dma-night-02"] = 2
    before = len(bot.stub.calls_to("views.open"))
    await bot.click(RunAction.GO, prompt, OPERATOR, channel=CHANNEL)
    view = (await bot.stub.wait_for("views.open", count=before + 1))[before].response["view"]
    await bot.submit(view, BACKUP, OPERATOR)
    await until(bot, lambda: bool(replies(bot, 1, "❌ #1 stopped")))
    halted = replies(bot, 1, "❌ #1 stopped")[-1]
    assert "<@U0OLGA>" in halted["text"] and live(halted)
    await until(bot, lambda: "halted at step 2" in texts(parent(bot, 1)))
    assert "upgrading now" not in texts(parent(bot, 1))
    sim(bot).set_agent("dma-night-02", state=AgentState.RUNNING)
    await bot.click(RunAction.RETRY, halted, OPERATOR, channel=CHANNEL)
    await until(bot, lambda: state(bot, 1) is WindowState.VERIFYING, timeout=20)
    await until(bot, lambda: not live(replies(bot, 1, "❌ #1 stopped")[-1]))
    assert "Retried by" in texts(replies(bot, 1, "❌ #1 stopped")[-1])
    await until(bot, lambda: "upgraded; verification waits" in texts(parent(bot, 1)))


async def test_an_expired_window_keeps_no_live_control_and_says_who_should_have_acted(
    bot: Harness,
) -> None:
    await propose_and_approve(bot, "propose night 10.5 2026-12-02T22:00 4h", 1)
    assert live(replies(bot, 1, "Details checklist")[-1])
    assert bot.ctx.scheduler is not None
    bot.clock.now = FIRST_START
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: state(bot, 1) is WindowState.EXPIRED)
    await until(bot, lambda: bool(replies(bot, 1, "⌛ #1 expired")))
    assert "<@U0OLGA>" in replies(bot, 1, "⌛ #1 expired")[-1]["text"]  # G2 was the operators'
    await until(bot, lambda: not any(live(m) for m in thread(bot, 1)))
    assert not live(parent(bot, 1))


async def accepted_and_ready(bot: Harness) -> None:
    await propose_and_approve(bot, "propose night 10.5 2026-12-02T22:00 4h", 1)
    await accept_first_precheck(bot)


async def test_a_critical_alarm_after_acceptance_reopens_g3_before_anyone_clicks_go(
    bot: Harness,
) -> None:
    await accepted_and_ready(bot)

    def health_checks() -> list[Any]:
        return [a for a in list_actions(bot.ctx.db, window_id=1) if a.kind.startswith("health")]

    await until(bot, lambda: len(health_checks()) == 1)
    health = health_checks()
    assert len(health) == 1 and health[0].due_at == bot.clock.now + timedelta(minutes=30)
    # Nothing changed: the check runs, says so, and books the next one.
    bot.clock.now += timedelta(minutes=30)
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    assert state(bot, 1) is WindowState.READY
    assert len(health_checks()) == 2
    sim(bot).faults.add_alarm("dma-night-01", "Encoder A", "Input", severity=Severity.CRITICAL)
    bot.clock.now += timedelta(minutes=30)
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: state(bot, 1) is WindowState.PLANNED)
    await until(bot, lambda: bool(replies(bot, 1, "⚠️ The pre-check of #1 changed")))
    notice = replies(bot, 1, "⚠️ The pre-check of #1 changed")[-1]["text"]
    assert "<@U0OLGA>" in notice and "Alarms" in notice
    newest = replies(bot, 1, "Pre-check of #1")[-1]
    assert live(newest)  # Accept / Re-run on the new results
    status = await bot.command("status 1", channel=CHANNEL)
    assert "Owed: G3" in status
    assert await sim(bot).find_runs() == []


async def test_the_reminder_looks_at_health_first_and_says_what_is_owed_after(
    bot: Harness,
) -> None:
    await accepted_and_ready(bot)
    sim(bot).faults.add_alarm("dma-night-02", "Router", "Input", severity=Severity.CRITICAL)
    bot.clock.now = FIRST_START - timedelta(hours=2)
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: bool(replies(bot, 1, "⏰ #1")))
    assert state(bot, 1) is WindowState.PLANNED
    assert "G3" in replies(bot, 1, "⏰ #1")[-1]["text"]


async def test_the_executor_never_installs_a_version_changing_package_as_a_hotfix(
    bot: Harness,
) -> None:
    """Whatever reached the hotfix list (a database edited by hand, an older bot), a package
    that would change the version is not installed after the path."""
    await accepted_and_ready(bot)
    full = "DataMiner 10.6.0.0(CU6)-16500 Full Upgrade.dmupgrade"
    (bot.tmp_path / "packages" / full).write_bytes(b"package")
    await bot.ctx.write(set_hotfixes, 1, [full], actor="U0MALLORY", at=bot.clock.now)
    bot.clock.now = FIRST_START
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    await until(bot, lambda: bool(replies(bot, 1, "G4: #1 may start now")))
    before = len(bot.stub.calls_to("views.open"))
    await bot.click(RunAction.GO, replies(bot, 1, "G4: #1")[-1], OPERATOR, channel=CHANNEL)
    view = (await bot.stub.wait_for("views.open", count=before + 1))[before].response["view"]
    await bot.submit(view, BACKUP, OPERATOR)
    await until(bot, lambda: bool(replies(bot, 1, "❌ #1 stopped")), timeout=30)
    halted = texts(replies(bot, 1, "❌ #1 stopped")[-1])
    assert "changes the DataMiner version" in halted
    runs = await sim(bot).find_runs()
    plan = ProposalDetails.model_validate(get_window(bot.ctx.db, 1).plan).plan  # type: ignore[union-attr]
    assert len(runs) == len(plan.steps) + sum(len(s.prerequisite_packages) for s in plan.steps)
    assert all(full not in run.package for run in runs)
