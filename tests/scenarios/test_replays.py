"""Slack's retries and bodies Slack never sends (issue 15, item 6): a retried command takes
effect once, a payload that is not JSON is a 400, a body of another type is a 415."""

from __future__ import annotations

import asyncio

from bot.sandbox.signing import interaction_body, slash_command_body
from storage import list_check_runs
from tests.fakes.bot import CHANNEL, PROPOSER, Harness
from tests.scenarios.test_gates import approved, close_details


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
