"""Slack's retries and bodies Slack never sends (issue 15, item 6): a retried command takes
effect once, a payload that is not JSON is a 400, a body of another type is a 415."""

from __future__ import annotations

import asyncio

from bot.domain.models import WindowState
from bot.ids import Action
from bot.sandbox.signing import block_action_payload, interaction_body, slash_command_body
from storage import get_window, list_check_runs
from tests.fakes.bot import APPROVER, CHANNEL, PROPOSER, Harness
from tests.scenarios.test_gates import approved, close_details
from tests.scenarios.test_propose_approve import propose


async def test_a_precheck_command_retried_by_slack_runs_the_precheck_once(bot: Harness) -> None:
    """4i: the same signed body again with X-Slack-Retry-Num: one pre-check, one upload."""
    await approved(bot)
    await close_details(bot)
    body = slash_command_body("/upgrade", "precheck #1", user_id=PROPOSER, channel_id=CHANNEL)
    answers = [await bot.post(body)]
    for retry in ("1", "2", "3"):
        answers.append(await bot.post(body, headers={"X-Slack-Retry-Num": retry}))
    assert [status for status, _ in answers] == [200, 200, 200, 200]
    for _ in range(500):  # the first delivery's pre-check runs after its ack
        if any(run.kind == "precheck" for run in list_check_runs(bot.ctx.db, 1)):
            break
        await asyncio.sleep(0.01)
    await bot.ctx.drain()
    prechecks = [run for run in list_check_runs(bot.ctx.db, 1) if run.kind == "precheck"]
    assert len(prechecks) == 1


async def test_a_payload_that_is_not_a_json_object_gets_400_in_a_sentence(bot: Harness) -> None:
    for payload in ("not json", "[1, 2]", "42"):
        status, text = await bot.post(f"payload={payload}")
        assert (status, text) == (400, "The payload field is not a JSON object; nothing was done.")


async def test_a_body_of_another_content_type_is_refused(bot: Harness) -> None:
    body = slash_command_body("/upgrade", "list", user_id=PROPOSER, channel_id=CHANNEL)
    status, text = await bot.post(body, headers={"Content-Type": "text/plain"})
    assert status == 415 and "not text/plain" in text
    assert bot.stub.calls_to("chat.postEphemeral") == []


async def test_a_click_retried_by_slack_is_answered_without_reaching_bolt(bot: Harness) -> None:
    """Bolt has no listener for this action (404); the retry is answered before Bolt."""
    payload = {"type": "block_actions", "trigger_id": "13345224609.738474920.8088930838d88f008e0"}
    body = interaction_body(payload)
    first = await bot.post(body)
    again = await bot.post(body, headers={"X-Slack-Retry-Num": "1"})
    assert first[0] == 404 and again == (200, "")


async def test_a_button_naming_another_window_than_its_message_is_refused(bot: Harness) -> None:
    """D19: Approve on #1's message with a value naming #2 approves nothing."""
    first = await propose(bot)
    await propose(bot, "propose lab 10.5 2026-12-03T22:00 4h")
    payload = block_action_payload(
        Action.APPROVE, value="2", message=first, user_id=APPROVER, channel_id=CHANNEL
    )
    status, _ = await bot.post(interaction_body(payload))
    assert status == 200
    told = await bot.wait_ephemeral(APPROVER)
    assert "belongs to another window's message" in told[-1]
    assert [get_window(bot.ctx.db, i).state for i in (1, 2)] == [  # type: ignore[union-attr]
        WindowState.PROPOSED,
        WindowState.PROPOSED,
    ]
