"""Propose → approve end to end over loopback: signed requests in, Slack calls out."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.domain.models import GateId, WindowState
from bot.ids import Action
from storage import get_window, list_acks, list_audit, list_windows, verify_audit_chain
from tests.fakes.bot import APPROVER, CHANNEL, GROUP_APPROVER, PROPOSER, STRANGER, Harness

PROPOSE = "propose lab 10.5 2026-12-02T22:00 4h"


async def propose(bot: Harness, text: str = PROPOSE, user: str = PROPOSER) -> dict[str, Any]:
    before = len(bot.proposals())
    answer = await bot.command(text, user=user)
    assert "Reading the lab cluster" in answer
    await bot.stub.wait_until(lambda: len(bot.proposals()) > before)
    message = dict(bot.proposals()[-1].to_slack())
    # The bot stores the message's ts once Slack has answered, a moment after the post lands;
    # the proposal's confirmation (an ephemeral) follows, so this is re-checked by then.
    await bot.stub.wait_until(
        lambda: any(w.message_ts == message["ts"] for w in list_windows(bot.ctx.db))
    )
    return message


def texts(message: dict[str, Any]) -> str:
    """Every piece of text in a message's blocks, for asserting on what people see."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return "\n".join(found)


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_a_proposal_is_planned_stored_and_posted_with_approve_and_reject(
    bot: Harness,
) -> None:
    message = await propose(bot)
    shown = texts(message)
    assert "Upgrade #1: lab → 10.5.0 CU" in shown
    for agent in ("dma-lab-01", "dma-lab-02", "dma-lab-03"):
        assert agent in shown
    assert "Full Upgrade.dmupgrade" in shown
    assert "<!date^" in shown
    assert "Failover pair" in shown
    assert buttons(message) == [Action.APPROVE, Action.REJECT]
    assert message["text"].startswith("Upgrade proposal #1")
    # The bot stores the message's ts and audits "posted" after Slack answered the post: wait
    # for that, not for the post itself (issue 11).
    await bot.stub.wait_until(lambda: len(list_audit(bot.ctx.db, 1)) >= 2)
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.state is WindowState.PROPOSED
    assert window.message_ts == message["ts"]
    assert [e.action for e in list_audit(bot.ctx.db, 1)] == ["proposed", "posted"]
    confirmation = await bot.wait_ephemeral(PROPOSER)
    assert "Proposed #1 in <#C0OPS>" in confirmation[-1]


async def test_an_approver_signs_it_off_and_the_buttons_become_who_and_when(bot: Harness) -> None:
    message = await propose(bot)
    assert await bot.click(Action.APPROVE, message, APPROVER) == 200
    await bot.stub.wait_for("chat.update")
    updated = bot.proposals()[-1].to_slack()
    assert buttons(updated) == []
    assert f"Approved by <@{APPROVER}> at <!date^" in texts(updated)
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.state is WindowState.APPROVED
    acks = list_acks(bot.ctx.db, 1)
    assert [(a.gate, a.user, a.decision) for a in acks] == [(GateId.G1, APPROVER, "approve")]
    assert verify_audit_chain(bot.ctx.db).ok


async def test_a_member_of_an_approver_group_may_approve_and_the_group_is_cached(
    bot: Harness,
) -> None:
    first = await propose(bot)
    second = await propose(bot, "propose lab 10.5 2026-12-03T22:00 4h")
    await bot.click(Action.APPROVE, first, GROUP_APPROVER)
    await bot.click(Action.APPROVE, second, GROUP_APPROVER)
    await bot.stub.wait_for("chat.update", count=2)
    states = [get_window(bot.ctx.db, i).state for i in (1, 2)]  # type: ignore[union-attr]
    assert states == [WindowState.APPROVED, WindowState.APPROVED]
    assert len(bot.stub.calls_to("usergroups.users.list")) == 1


async def test_someone_without_the_role_is_told_why_and_nothing_changes(bot: Harness) -> None:
    message = await propose(bot)
    await bot.click(Action.APPROVE, message, STRANGER)
    refusal = await bot.wait_ephemeral(STRANGER)
    assert "only approvers may approve" in refusal[-1]
    assert "Ask one of them: <!subteam^S0ADMINS> <@U0ANNA>." in refusal[-1]
    assert bot.stub.ephemerals(STRANGER)[-1].thread_ts is None  # the proposal is in the channel
    assert bot.stub.calls_to("chat.update") == []
    assert get_window(bot.ctx.db, 1).state is WindowState.PROPOSED  # type: ignore[union-attr]
    assert list_acks(bot.ctx.db, 1) == []


async def test_four_eyes_stops_the_proposer_approving_their_own_window(bot: Harness) -> None:
    message = await propose(bot, user=APPROVER)
    await bot.click(Action.APPROVE, message, APPROVER)
    refusal = await bot.wait_ephemeral(APPROVER, count=2)
    assert "four-eyes" in refusal[-1]
    assert get_window(bot.ctx.db, 1).state is WindowState.PROPOSED  # type: ignore[union-attr]


async def test_a_click_on_a_stale_copy_records_nothing_and_says_who_decided(bot: Harness) -> None:
    stale = await propose(bot)
    await bot.click(Action.APPROVE, stale, APPROVER)
    await bot.stub.wait_for("chat.update")
    await bot.click(Action.APPROVE, stale, GROUP_APPROVER)
    refusal = await bot.wait_ephemeral(GROUP_APPROVER)
    assert f"already approved by <@{APPROVER}>" in refusal[-1]
    assert len(list_acks(bot.ctx.db, 1)) == 1
    assert len(bot.stub.calls_to("chat.update")) == 1


async def test_two_approvers_clicking_at_once_record_one_decision(bot: Harness) -> None:
    message = await propose(bot)
    await asyncio.gather(
        bot.click(Action.APPROVE, message, APPROVER),
        bot.click(Action.APPROVE, message, GROUP_APPROVER),
        bot.click(Action.APPROVE, message, APPROVER),
    )
    await bot.stub.wait_until(
        lambda: len(bot.stub.calls_to("chat.update")) + len(bot.stub.ephemerals()) >= 3
    )
    acks = list_acks(bot.ctx.db, 1)
    assert len(acks) == 1
    approvals = [e for e in list_audit(bot.ctx.db, 1) if e.action == "approve"]
    assert len(approvals) == 1
    assert len(bot.stub.calls_to("chat.update")) == 1


async def test_reject_asks_for_a_reason_and_shows_it(bot: Harness) -> None:
    message = await propose(bot)
    await bot.click(Action.REJECT, message, APPROVER)
    (opened,) = await bot.stub.wait_for("views.open")
    view = opened.response["view"]
    status, body = await bot.submit(
        view, {"reason": {"reason_input": {"type": "plain_text_input", "value": "  "}}}, APPROVER
    )
    assert status == 200 and '"response_action": "errors"' in body.replace('":"', '": "')
    assert get_window(bot.ctx.db, 1).state is WindowState.PROPOSED  # type: ignore[union-attr]
    status, _ = await bot.submit(
        view,
        {
            "reason": {
                "reason_input": {
                    "type": "plain_text_input",
                    "value": "clashes with the match broadcast",
                }
            }
        },
        APPROVER,
    )
    await bot.stub.wait_for("chat.update")
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.state is WindowState.REJECTED
    assert window.reason == "clashes with the match broadcast"
    assert "Rejected by <@U0ANNA>" in texts(bot.proposals()[-1].to_slack())


async def test_reject_by_a_stranger_opens_no_modal(bot: Harness) -> None:
    message = await propose(bot)
    await bot.click(Action.REJECT, message, STRANGER)
    await bot.wait_ephemeral(STRANGER)
    assert bot.stub.calls_to("views.open") == []


async def test_a_cancelled_window_accepts_no_decision(bot: Harness) -> None:
    message = await propose(bot)
    answer = await bot.command("cancel #1 vendor asked to wait", user=PROPOSER)
    assert "Cancelled #1" in answer
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.state is WindowState.CANCELLED
    assert window.reason == "vendor asked to wait"
    await bot.click(Action.APPROVE, message, APPROVER)
    refusal = await bot.wait_ephemeral(APPROVER)
    assert "already cancelled" in refusal[-1]
    assert list_acks(bot.ctx.db, 1) == []


async def test_a_cancel_reason_is_stored_as_typed_and_shown_escaped(bot: Harness) -> None:
    await propose(bot)
    answer = await bot.command("cancel 1 <!channel> <!here> vendor delay", user=PROPOSER)
    assert "Cancelled #1" in answer
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.reason == "<!channel> <!here> vendor delay"
    await bot.stub.wait_until(lambda: "Cancelled" in texts(bot.proposals()[-1].to_slack()))
    shown = texts(bot.proposals()[-1].to_slack())
    assert "&lt;!channel&gt; &lt;!here&gt; vendor delay" in shown
    assert "<!channel>" not in shown and "<!here>" not in shown


@pytest.mark.parametrize("length", ["1h30", "1h30m", "1.5h", "90m"])
async def test_a_typed_length_in_any_accepted_form_is_read(bot: Harness, length: str) -> None:
    message = await propose(bot, f"propose lab 10.5 2026-12-02T22:00 {length}")
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.length == timedelta(minutes=90)
    assert "1h30m" in texts(message)


async def test_a_stranger_may_not_cancel(bot: Harness) -> None:
    await propose(bot)
    answer = await bot.command("cancel 1", user=STRANGER)
    assert "may cancel" in answer
    assert get_window(bot.ctx.db, 1).state is WindowState.PROPOSED  # type: ignore[union-attr]


async def test_a_decision_survives_slack_rate_limiting_the_update(bot: Harness) -> None:
    message = await propose(bot)
    bot.stub.fail("chat.update", status=429, retry_after=1, times=1)
    await bot.click(Action.APPROVE, message, APPROVER)
    await bot.stub.wait_until(
        lambda: any(c.ok for c in bot.stub.calls_to("chat.update")), timeout=10
    )
    attempts = bot.stub.calls_to("chat.update")
    assert [c.faulted for c in attempts] == [True, False]
    assert get_window(bot.ctx.db, 1).state is WindowState.APPROVED  # type: ignore[union-attr]


async def test_a_decision_stays_stored_when_slack_is_down(bot: Harness) -> None:
    message = await propose(bot)
    bot.stub.fail("chat.update", status=503, times=10)
    await bot.click(Action.APPROVE, message, APPROVER)
    await bot.stub.wait_until(lambda: len(bot.stub.calls_to("chat.update")) >= 4, timeout=15)
    assert get_window(bot.ctx.db, 1).state is WindowState.APPROVED  # type: ignore[union-attr]
    answer = await bot.command("status 1", user=STRANGER)
    assert f"approved by <@{APPROVER}>" in answer


async def test_the_window_length_defaults_to_the_estimate_rounded_up(bot: Harness) -> None:
    await propose(bot, "propose lab 10.5 2026-12-02T22:00")
    window = get_window(bot.ctx.db, 1)
    assert window is not None
    assert window.length >= timedelta(minutes=30)
    assert window.length % timedelta(minutes=30) == timedelta(0)


async def test_the_proposal_goes_to_the_systems_channel_not_where_it_was_typed(
    bot: Harness,
) -> None:
    await bot.command("propose prod 10.5 2026-12-02T22:00 4h", channel=CHANNEL)
    await bot.stub.wait_until(lambda: bool(bot.stub.messages("C0PROD")))
    assert bot.proposals(CHANNEL) == []


async def test_failover_only_known_issues_are_left_out_for_a_cluster_without_pairs(
    bot: Harness,
) -> None:
    await bot.command("propose prod 10.5 2026-12-02T22:00 4h")
    await bot.stub.wait_until(lambda: bool(bot.stub.messages("C0PROD")))
    shown = texts(bot.stub.messages("C0PROD")[0].to_slack())
    assert "Known issue" in shown
    assert "If the system has Failover pairs" not in shown
    assert "Failover pair (" not in shown


async def test_a_window_across_the_spring_dst_change_is_warned_about(bot: Harness) -> None:
    bot.clock.now = bot.clock.now.replace(year=2027, month=3, day=20)
    await bot.command("propose lab 10.5 2027-03-28T00:30 4h")
    await bot.stub.wait_until(lambda: bool(bot.proposals()))
    shown = texts(bot.proposals()[-1].to_slack())
    assert "Daylight-saving change inside the window" in shown
    assert "clocks go forward" in shown


async def test_a_proposal_slack_did_not_take_is_kept_and_posted_when_slack_answers(
    bot: Harness,
) -> None:
    bot.stub.fail("chat.postMessage", status=503, times=4)
    await bot.command(PROPOSE)
    # The post is never re-sent blindly (Slack may have taken it): the outbox tries again
    # with backoff, looking in the channel first, and says so at once.
    told = await bot.wait_told(PROPOSER, "Stored #1", timeout=20)
    assert "not confirmed its post yet" in told and "Nothing was changed" not in told
    await bot.stub.wait_until(lambda: bool(bot.proposals()), timeout=20)
    await bot.stub.wait_until(lambda: get_window(bot.ctx.db, 1).message_ts is not None)  # type: ignore[union-attr]
    posted = get_window(bot.ctx.db, 1)
    assert posted is not None and posted.message_ts == bot.proposals()[-1].ts
    assert len(bot.proposals()) == 1
    assert [e.action for e in list_audit(bot.ctx.db, 1)] == ["proposed", "posted"]
