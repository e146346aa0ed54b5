"""G2 details and G3 pre-check in the window's thread, with the scheduler driven by the bot's
clock: approval, checklist, the day-before pre-check, acceptance bound to its evidence,
reminders and expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.agents.models import Severity
from bot.domain.models import GateId, WindowState
from bot.domain.proposal import ProposalDetails
from bot.flows.propose.blocks import estimate_span
from bot.ids import Action, GateAction
from storage import (
    get_window,
    latest_check_run,
    list_acks,
    list_actions,
    list_audit,
    list_hotfixes,
)
from tests.fakes.bot import APPROVER, CHANNEL, PROPOSER, STRANGER, Harness
from tests.scenarios.test_propose_approve import propose, texts

OPERATOR = PROPOSER  # Olga proposes and is an operator; four-eyes only concerns G1
START = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)  # 22:00 in Brussels


def thread(bot: Harness) -> list[dict[str, Any]]:
    parent = bot.proposals()[-1]
    return [m.to_slack() for m in bot.stub.thread(CHANNEL, parent.ts)[1:]]


def reply(bot: Harness, starting: str) -> dict[str, Any]:
    found = [m for m in thread(bot) if m["text"].startswith(starting)]
    assert found, f"no reply starting {starting!r} in {[m['text'] for m in thread(bot)]}"
    return found[-1]


async def approved(bot: Harness) -> dict[str, Any]:
    message = await propose(bot)
    await bot.click(Action.APPROVE, message, APPROVER)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Details checklist") for m in thread(bot))
    )
    return message


async def settle(
    bot: Harness, item: str, channel: str = CHANNEL, hotfixes: tuple[str, ...] = ()
) -> None:
    """Confirm one checklist item as the operator; hotfixes are chosen in a modal."""
    checklist = reply_in(bot, channel, "Details checklist")
    opened = len(bot.stub.calls_to("views.open"))
    await bot.click(
        GateAction.DETAIL_CONFIRM, _with_value(checklist, f"1:{item}"), OPERATOR, channel=channel
    )
    if item == "hotfixes":
        calls = await bot.stub.wait_for("views.open", count=opened + 1)
        view = calls[-1].response["view"]
        ticked = [{"value": name} for name in hotfixes] or [{"value": "none"}]
        values = {"hotfixes": {"hotfix_check": {"type": "checkboxes", "selected_options": ticked}}}
        status, body = await bot.submit(view, values, OPERATOR)
        assert status == 200 and body == "", body
    block = f"item_{item}"
    await bot.stub.wait_until(
        lambda: block not in str(reply_in(bot, channel, "Details checklist")["blocks"])
    )


def reply_in(bot: Harness, channel: str, starting: str) -> dict[str, Any]:
    parent = [m for m in bot.stub.messages(channel) if not m.is_reply][-1]
    found = [
        m.to_slack() for m in bot.stub.thread(channel, parent.ts)[1:] if m.text.startswith(starting)
    ]
    assert found, f"no reply starting {starting!r}"
    return dict(found[-1])


async def close_details(bot: Harness, channel: str = CHANNEL) -> None:
    for item in ("key_functions", "hotfixes", "backup"):
        await settle(bot, item, channel)


def _with_value(message: dict[str, Any], value: str) -> dict[str, Any]:
    """The message with only the buttons whose value is ``value`` (which one a click hits)."""
    kept = []
    for block in message["blocks"]:
        if block["type"] == "actions":
            elements = [e for e in block["elements"] if e.get("value") == value]
            if not elements:
                continue
            block = {**block, "elements": elements}
        kept.append(block)
    return {**message, "blocks": kept}


async def travel_to_precheck(bot: Harness) -> dict[str, Any]:
    bot.clock.now = START - timedelta(hours=24)
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    return reply(bot, "Pre-check of #1")


async def test_approval_posts_the_details_checklist_and_schedules_the_window(bot: Harness) -> None:
    await approved(bot)
    checklist = reply(bot, "Details checklist (G2) of #1")
    shown = texts(checklist)
    assert "Agents" in shown and "Alarms" in shown and "Minimum requirements" in shown
    assert "Key functionalities identified" in shown
    kinds = sorted(a.kind for a in list_actions(bot.ctx.db, window_id=1))
    assert kinds == ["details", "end", "precheck", "reminder:7200", "reminder:900", "start"]
    done = {a.kind: a.outcome for a in list_actions(bot.ctx.db, window_id=1)}
    assert done["details"] == "posted", "the checklist is an action stored with the approval"
    due = {a.kind: a.due_at for a in list_actions(bot.ctx.db, window_id=1)}
    assert due["precheck"] == START - timedelta(hours=24)


async def test_confirming_every_item_closes_g2(bot: Harness) -> None:
    await approved(bot)
    await close_details(bot)
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.state is WindowState.PLANNED
    assert "G2 closed" in texts(reply(bot, "Details checklist"))
    await bot.stub.wait_until(lambda: "✅G1 ✅G2 ○G3" in texts(bot.proposals()[-1].to_slack()))
    g2 = [a for a in list_acks(bot.ctx.db, 1) if a.gate is GateId.G2]
    assert [a.decision for a in g2] == [
        "confirm:key_functions",
        "confirm:hotfixes",
        "confirm:backup",
        "close",
    ]


async def test_only_operators_tick_the_checklist(bot: Harness) -> None:
    await approved(bot)
    checklist = reply(bot, "Details checklist")
    await bot.click(GateAction.DETAIL_CONFIRM, _with_value(checklist, "1:backup"), STRANGER)
    (refusal,) = await bot.wait_ephemeral(STRANGER)
    assert "only operators" in refusal
    assert "Ask one of them: <@U0OLGA> <@U0ALEX>." in refusal
    # The checklist is a reply in the window's thread: the refusal is shown there, too.
    assert bot.stub.ephemerals(STRANGER)[-1].thread_ts == bot.proposals()[-1].ts
    assert [a for a in list_acks(bot.ctx.db, 1) if a.gate is GateId.G2] == []


async def test_a_waiver_needs_a_reason(bot: Harness) -> None:
    await approved(bot)
    checklist = reply(bot, "Details checklist")
    await bot.click(GateAction.DETAIL_WAIVE, _with_value(checklist, "1:hotfixes"), OPERATOR)
    (opened,) = await bot.stub.wait_for("views.open")
    view = opened.response["view"]
    _, body = await bot.submit(
        view, {"reason": {"reason_input": {"type": "plain_text_input", "value": ""}}}, OPERATOR
    )
    assert "errors" in body
    element = view["blocks"][1]
    assert element["element"]["min_length"] == 15 and "at least 15" in element["hint"]["text"]
    _, body = await bot.submit(
        view, {"reason": {"reason_input": {"type": "plain_text_input", "value": "ok"}}}, OPERATOR
    )
    assert "at least 15 characters; this is 2" in json.loads(body)["errors"]["reason"]
    assert [a for a in list_acks(bot.ctx.db, 1) if a.gate is GateId.G2] == []
    status, body = await bot.submit(
        view,
        {
            "reason": {
                "reason_input": {
                    "type": "plain_text_input",
                    "value": "no hotfixes exist for 10.5.0 CU18",
                }
            }
        },
        OPERATOR,
    )
    assert status == 200 and body == ""
    # The submission is acked before the work; wait for the acknowledgement it stores.
    await bot.stub.wait_until(
        lambda: any(a.decision == "waive:hotfixes" for a in list_acks(bot.ctx.db, 1))
    )
    waived = [a for a in list_acks(bot.ctx.db, 1) if a.decision == "waive:hotfixes"]
    assert waived and waived[0].reason == "no hotfixes exist for 10.5.0 CU18"
    await bot.stub.wait_until(lambda: "Waived by" in texts(reply(bot, "Details checklist")))


async def test_the_day_before_precheck_runs_by_itself_uploads_and_asks_for_acceptance(
    bot: Harness,
) -> None:
    await approved(bot)
    await close_details(bot)
    summary = await travel_to_precheck(bot)
    shown = texts(summary)
    assert "G3 · Day-before pre-check" in shown
    assert "Packages uploaded (upload only)" in shown
    assert "upload has been completed successfully" in shown
    assert "Accept pre-check" in shown and "Re-run" in shown
    run = latest_check_run(bot.ctx.db, 1, "precheck")
    assert run is not None and run.at == START - timedelta(hours=24)
    statuses = {r["key"]: r["status"] for r in run.results}
    assert statuses["upload"] == "pass"
    assert statuses["packages"] == "pass"
    assert statuses["agents_running"] == "pass"


async def test_accepting_binds_the_gate_to_the_evidence_and_a_change_reopens_it(
    bot: Harness,
) -> None:
    await approved(bot)
    await close_details(bot)
    summary = await travel_to_precheck(bot)
    await bot.click(GateAction.PRECHECK_ACCEPT, summary, STRANGER)
    assert "only operators" in (await bot.wait_ephemeral(STRANGER))[-1]
    await bot.click(GateAction.PRECHECK_ACCEPT, summary, OPERATOR)
    await bot.stub.wait_until(lambda: get_window(bot.ctx.db, 1).state is WindowState.READY)  # type: ignore[union-attr]
    await bot.stub.wait_until(lambda: "✅G3" in texts(bot.proposals()[-1].to_slack()))
    accepted = [a for a in list_acks(bot.ctx.db, 1) if a.gate is GateId.G3]
    run = latest_check_run(bot.ctx.db, 1, "precheck")
    assert run is not None and accepted[-1].digest == run.digest
    adapter = bot.ctx.adapters["lab"]
    adapter.faults.add_alarm("dma-lab-01", "Encoder A", "Input", severity=Severity.CRITICAL)  # type: ignore[attr-defined]
    await bot.command("precheck #1", user=OPERATOR)
    await bot.stub.wait_until(lambda: any("G3 is open again" in m["text"] for m in thread(bot)))
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.state is WindowState.PLANNED
    notice = reply(bot, "⚠️ The pre-check of #1 changed")
    assert "<@U0OLGA>" in notice["text"] and "Alarms" in notice["text"]


async def test_a_precheck_with_failures_cannot_be_accepted(bot: Harness) -> None:
    await approved(bot)
    await close_details(bot)
    bot.ctx.adapters["lab"].faults.failing_prerequisite["dma-lab-02"] = "VerifyClusterPorts"  # type: ignore[attr-defined]
    summary = await travel_to_precheck(bot)
    assert "Upload failed on dma-lab-02" in texts(summary)
    await bot.click(GateAction.PRECHECK_ACCEPT, summary, OPERATOR)
    await bot.wait_told(OPERATOR, "failing item")
    assert get_window(bot.ctx.db, 1).state is WindowState.PLANNED  # type: ignore[union-attr]


async def test_the_precheck_cannot_be_accepted_while_g2_is_open(bot: Harness) -> None:
    await approved(bot)
    summary = await travel_to_precheck(bot)
    await bot.click(GateAction.PRECHECK_ACCEPT, summary, OPERATOR)
    await bot.wait_told(OPERATOR, "details checklist (G2)")


async def test_an_unreachable_agent_shows_in_the_precheck_as_a_failure(bot: Harness) -> None:
    await approved(bot)
    bot.ctx.adapters["lab"].faults.unreachable.add("dma-lab-03")  # type: ignore[attr-defined]
    summary = await travel_to_precheck(bot)
    run = latest_check_run(bot.ctx.db, 1, "precheck")
    assert run is not None
    statuses = {r["key"]: r["status"] for r in run.results}
    assert statuses["agents_running"] == "fail"
    assert "dma-lab-03" in texts(summary)


async def test_reminders_mention_who_still_owes_an_acknowledgement(bot: Harness) -> None:
    await approved(bot)
    bot.clock.now = START - timedelta(hours=2)
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    reminder = reply(bot, "⏰ #1 starts")
    assert "Still owed: G2, the details checklist" in reminder["text"]
    assert "<@U0OLGA> <@U0ALEX>" in reminder["text"]


async def test_a_window_with_an_open_gate_expires_at_its_start_and_nothing_runs(
    bot: Harness,
) -> None:
    await approved(bot)
    bot.clock.now = START
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.state is WindowState.EXPIRED
    assert "was still open at the start" in (window.reason or "")
    assert "Expired" in texts(bot.proposals()[-1].to_slack())
    adapter = bot.ctx.adapters["lab"]
    assert await adapter.find_runs() == []


async def test_a_late_approval_runs_the_precheck_at_once(bot: Harness) -> None:
    bot.clock.now = START - timedelta(hours=3)
    await approved(bot)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Pre-check of #1") for m in thread(bot))
    )
    run = latest_check_run(bot.ctx.db, 1, "precheck")
    assert run is not None and run.at == START - timedelta(hours=3)


async def test_a_missed_reminder_older_than_its_lead_is_skipped_not_sent(bot: Harness) -> None:
    await approved(bot)
    await close_details(bot)
    bot.clock.now = START + timedelta(minutes=1)
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.run_due()
    outcomes = {a.kind: a.outcome for a in list_actions(bot.ctx.db, window_id=1)}
    assert outcomes["reminder:900"] == "skipped: too late"
    assert not any(m["text"].startswith("⏰") for m in thread(bot))


async def test_hotfixes_chosen_at_g2_are_checked_uploaded_and_counted(bot: Harness) -> None:
    hotfix = "Hotfix RN41234.dmupgrade"
    (bot.tmp_path / "packages" / hotfix).write_bytes(b"placeholder hotfix")
    await approved(bot)
    await settle(bot, "hotfixes", hotfixes=(hotfix,))
    assert list_hotfixes(bot.ctx.db, 1) == [hotfix]
    audit = [e for e in list_audit(bot.ctx.db, 1) if e.action == "hotfixes_set"]
    assert audit and audit[0].detail["hotfixes"] == [hotfix] and audit[0].actor == OPERATOR
    details = latest_check_run(bot.ctx.db, 1, "details")
    assert details is not None
    await settle(bot, "key_functions")
    await settle(bot, "backup")
    summary = await travel_to_precheck(bot)
    run = latest_check_run(bot.ctx.db, 1, "precheck")
    assert run is not None
    upload = next(r for r in run.results if r["key"] == "upload")
    assert upload["status"] == "pass"
    assert any(hotfix in line for line in upload["details"])
    assert "3 package(s)" in texts(summary)


async def test_a_hotfix_that_is_not_in_the_store_is_refused(bot: Harness) -> None:
    await approved(bot)
    checklist = reply(bot, "Details checklist")
    await bot.click(GateAction.DETAIL_CONFIRM, _with_value(checklist, "1:hotfixes"), OPERATOR)
    (opened,) = await bot.stub.wait_for("views.open")
    values = {
        "hotfixes": {
            "hotfix_check": {
                "type": "checkboxes",
                "selected_options": [{"value": "../../etc/passwd"}],
            }
        }
    }
    await bot.submit(opened.response["view"], values, OPERATOR)
    await bot.wait_told(OPERATOR, "Not in the package store")
    assert list_hotfixes(bot.ctx.db, 1) == []


async def test_the_estimate_reads_the_same_in_the_proposal_at_g2_and_in_status(
    bot: Harness,
) -> None:
    await approved(bot)
    proposed = ProposalDetails.model_validate(get_window(bot.ctx.db, 1).plan)  # type: ignore[union-attr]
    span = estimate_span(proposed.estimate)
    assert f"*Estimate*\n{span}" in texts(bot.proposals()[-1].to_slack())
    assert f"Estimate: {span}" in await bot.command("status 1", user=OPERATOR)

    hotfix = "Hotfix RN41234.dmupgrade"
    (bot.tmp_path / "packages" / hotfix).write_bytes(b"placeholder hotfix")
    await settle(bot, "hotfixes", hotfixes=(hotfix,))
    run = latest_check_run(bot.ctx.db, 1, "details")
    assert run is not None
    fits = next(r for r in run.results if r["key"] == "estimate_fits")
    status = await bot.command("status 1", user=OPERATOR)
    shown = status.split("Estimate: ", 1)[1].split("\n", 1)[0]
    assert shown != span, "the hotfix counts in the estimate"
    assert f"up to {shown.split(' – ')[1]}" in fits["summary"]


async def test_the_hotfix_picker_offers_only_hotfixes_for_the_target_and_none_explicitly(
    bot: Harness,
) -> None:
    store = bot.tmp_path / "packages"
    full = "DataMiner 10.6.0.0(CU6)-16500 Full Upgrade.dmupgrade"
    other = "Hotfix 10.4.0 CU21 SLNet.dmupgrade"
    fix = "Hotfix SLNet memory leak.dmupgrade"
    for name in (full, other, fix):
        (store / name).write_bytes(b"package")
    await approved(bot)
    checklist = reply(bot, "Details checklist")
    await bot.click(GateAction.DETAIL_CONFIRM, _with_value(checklist, "1:hotfixes"), OPERATOR)
    (opened,) = await bot.stub.wait_for("views.open")
    view = opened.response["view"]
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == "hotfixes")
    offered = {o["value"]: o["description"]["text"] for o in element["options"]}
    assert "none" in offered and fix in offered and offered[fix].startswith("Hotfix")
    assert full not in offered and other not in offered
    # Nothing ticked is not an answer: "No hotfixes" is.
    _status, body = await bot.submit(
        view, {"hotfixes": {"hotfix_check": {"selected_options": []}}}, OPERATOR
    )
    assert "No hotfixes for this window" in body
    # A forged submission of a full upgrade package is refused with the reason; nothing stored.
    forged = {"hotfixes": {"hotfix_check": {"selected_options": [{"value": full}]}}}
    await bot.submit(view, forged, OPERATOR)
    said = await bot.wait_told(OPERATOR, "changes the DataMiner version")
    assert "Nothing was changed" in said
    assert list_hotfixes(bot.ctx.db, 1) == []
    chosen = {"hotfixes": {"hotfix_check": {"selected_options": [{"value": fix}]}}}
    await bot.submit(view, chosen, OPERATOR)
    await bot.stub.wait_until(lambda: list_hotfixes(bot.ctx.db, 1) == [fix])
    await bot.stub.wait_until(
        lambda: (
            "Chosen: `Hotfix SLNet memory leak.dmupgrade`" in texts(reply(bot, "Details checklist"))
        )
    )
