"""The read-only subcommands, the propose form, restarts and Socket Mode."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bot.domain.models import WindowState
from bot.ids import Action, Block, Input
from bot.runtime import start_http, start_socket_mode
from bot.sandbox.signing import slash_command_payload
from bot.sandbox.slack_stub import SlackStub
from storage import get_window, list_windows
from tests.fakes.bot import (
    APPROVER,
    BOT_TOKEN,
    PROPOSER,
    SECRET,
    FakeClock,
    Harness,
    make_context,
)
from tests.scenarios.test_propose_approve import propose, texts


async def test_list_shows_open_windows_with_dates_each_reader_sees_in_their_zone(
    bot: Harness,
) -> None:
    await propose(bot)
    answer = await bot.command("list")
    assert "*#1* lab → 10.5.0 CU" in answer
    assert "<!date^" in answer
    assert "2026-12-02 22:00 CET" in answer
    assert "_proposed_" in answer
    assert await bot.command("list prod") == "No open windows for prod."


async def test_status_shows_gates_and_who_acknowledged(bot: Harness) -> None:
    message = await propose(bot)
    await bot.click(Action.APPROVE, message, APPROVER)
    await bot.stub.wait_for("chat.update")
    answer = await bot.command("status #1")
    assert "G1 Window approved: approved by <@U0ANNA>" in answer
    assert "G2 Details established: open" in answer


async def test_history_lists_finished_windows_only(bot: Harness) -> None:
    await propose(bot)
    assert await bot.command("history") == "No finished windows."
    await bot.command("cancel 1 not needed")
    assert "*#1*" in await bot.command("history lab")
    assert await bot.command("list") == "No open windows."


async def test_systems_lists_agents_versions_and_states(bot: Harness) -> None:
    assert await bot.command("systems") == ""
    (answer,) = await bot.wait_ephemeral(PROPOSER)
    assert "*lab*" in answer and "*prod*" in answer
    assert "`dma-lab-03`" in answer and "failover with dma-lab-02" in answer
    assert "running" in answer


async def test_the_propose_form_returns_errors_next_to_the_field(bot: Harness) -> None:
    assert await bot.command("propose") == ""
    (opened,) = await bot.stub.wait_for("views.open")
    view = opened.response["view"]
    values: dict[str, Any] = {
        Block.SYSTEM: {
            Input.SYSTEM: {"type": "static_select", "selected_option": {"value": "lab"}}
        },
        Block.TARGET: {Input.TARGET: {"type": "plain_text_input", "value": "ten"}},
        Block.START_DATE: {Input.START_DATE: {"type": "datepicker", "selected_date": "2026-12-02"}},
        Block.START_TIME: {Input.START_TIME: {"type": "timepicker", "selected_time": "22:00"}},
        Block.LENGTH: {Input.LENGTH: {"type": "plain_text_input", "value": "4h"}},
    }
    status, body = await bot.submit(view, values, PROPOSER)
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert "not a DataMiner version" in answer["errors"][Block.TARGET]
    assert list_windows(bot.ctx.db) == []
    values[Block.TARGET] = {Input.TARGET: {"type": "plain_text_input", "value": "10.5"}}
    values[Block.START_DATE] = {
        Input.START_DATE: {"type": "datepicker", "selected_date": "2026-11-01"}
    }
    _, body = await bot.submit(view, values, PROPOSER)
    assert "in the past" in json.loads(body)["errors"][Block.START_TIME]
    values[Block.START_DATE] = {
        Input.START_DATE: {"type": "datepicker", "selected_date": "2026-12-02"}
    }
    status, body = await bot.submit(view, values, PROPOSER)
    assert status == 200 and body == ""
    await bot.stub.wait_for("chat.postMessage")
    window = get_window(bot.ctx.db, 1)
    assert window is not None and window.system == "lab"


async def test_a_restarted_bot_keeps_its_windows_and_accepts_the_old_buttons(
    tmp_path: Path, clock: FakeClock
) -> None:
    stub = SlackStub(bot_token=BOT_TOKEN)
    api = await stub.start()
    try:
        first = await start_http(make_context(tmp_path, api, clock), SECRET, "127.0.0.1", 0)
        import aiohttp

        async with aiohttp.ClientSession() as session:
            harness = Harness(
                stub, first, clock, session, f"http://127.0.0.1:{first.port}", tmp_path
            )
            message = await propose(harness)
            await first.stop()
            second = await start_http(make_context(tmp_path, api, clock), SECRET, "127.0.0.1", 0)
            harness = Harness(
                stub, second, clock, session, f"http://127.0.0.1:{second.port}", tmp_path
            )
            assert "*#1*" in await harness.command("list")
            await harness.click(Action.APPROVE, message, APPROVER)
            await stub.wait_for("chat.update")
            assert get_window(second.ctx.db, 1).state is WindowState.APPROVED  # type: ignore[union-attr]
            assert "Approved by" in texts(harness.proposals()[-1].to_slack())
            await second.stop()
    finally:
        await stub.stop()


async def test_socket_mode_receives_a_command_and_acks_it(tmp_path: Path, clock: FakeClock) -> None:
    stub = SlackStub(bot_token=BOT_TOKEN, app_token="xapp-test")
    api = await stub.start()
    try:
        running = await start_socket_mode(make_context(tmp_path, api, clock), SECRET, "xapp-test")
        await asyncio.wait_for(stub.socket_connected.wait(), 5)
        envelope = await stub.socket_send(
            "slash_commands",
            slash_command_payload("/upgrade", "list", user_id=PROPOSER, channel_id="C0OPS"),
        )
        ack = await stub.socket_ack(envelope)
        assert ack["envelope_id"] == envelope
        assert ack["payload"]["text"] == "No open windows."
        await running.stop()
    finally:
        await stub.stop()
