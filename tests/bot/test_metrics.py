"""/metrics after a whole night, scraped over loopback and read with prometheus_client's parser."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot.domain.models import WindowState
from bot.ids import RunAction
from bot.runtime import start_socket_mode
from bot.sandbox.slack_stub import SlackStub
from tests.fakes.bot import BOT_TOKEN, SECRET, FakeClock, Harness, make_context
from tests.scenarios.test_night import (
    CHANNEL,
    OPERATOR,
    give_go,
    ready_at_start,
    reply,
    thread,
    until_state,
)


async def scrape(bot: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as {(name, sorted labels): value}."""
    async with bot.session.get(bot.url + "/metrics") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await answer.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str):
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_after_a_whole_night_the_metrics_tell_what_happened(bot: Harness) -> None:
    bot.stub.fail("chat.update", status=503)  # the first refresh of the proposal is retried
    await ready_at_start(bot)
    await give_go(bot)
    await until_state(bot, WindowState.VERIFYING)
    await bot.stub.wait_until(
        lambda: any(m["text"].startswith("Verification of #1") for m in thread(bot))
    )
    await bot.click(RunAction.VERIFIED, reply(bot, "Verification of #1"), OPERATOR, channel=CHANNEL)
    await until_state(bot, WindowState.DONE)
    with pytest.raises(SlackApiError):
        await bot.ctx.client.chat_delete(channel=CHANNEL, ts="1.000001")

    samples = await scrape(bot)

    assert value(samples, "upgradebot_windows", state="done") == 1
    assert value(samples, "upgradebot_windows", state="proposed") == 0
    assert value(samples, "upgradebot_upgrades_total", outcome="done") == 1
    assert value(samples, "upgradebot_upgrades_total", outcome="failed") == 0
    for gate in ("G1", "G2", "G3", "G4", "G5"):
        assert value(samples, "upgradebot_gate_wait_seconds_count", gate=gate) == 1, gate
    # G3 was accepted at 24 h before the start; the window reached the start 24 h later, so G4
    # (entered at the acceptance) waited at least a day.
    g4_sum = value(samples, "upgradebot_gate_wait_seconds_sum", gate="G4")
    assert g4_sum is not None and g4_sum >= 24 * 3600
    # Every timed action ran: the pre-check, the reminders, the go prompt.
    lag_count = value(samples, "upgradebot_scheduler_lag_seconds_count")
    assert lag_count is not None and lag_count >= 2
    started = value(
        samples,
        "upgradebot_adapter_calls_total",
        system="night",
        method="start_upgrade",
        outcome="ok",
    )
    assert started == 3
    progress = value(
        samples, "upgradebot_adapter_call_seconds_count", system="night", method="get_progress"
    )
    assert progress is not None and progress >= 3
    assert (
        value(
            samples,
            "upgradebot_slack_api_retries_total",
            method="chat.update",
            reason="server_error",
        )
        == 1
    )
    assert (
        value(
            samples,
            "upgradebot_slack_api_errors_total",
            method="chat.delete",
            error="message_not_found",
        )
        == 1
    )


async def test_healthz_and_metrics_answer_without_any_window(bot: Harness) -> None:
    async with bot.session.get(bot.url + "/healthz") as answer:
        assert answer.status == 200 and (await answer.json())["ok"] is True
    samples = await scrape(bot)
    assert all(value(samples, "upgradebot_windows", state=s.value) == 0 for s in WindowState)
    assert value(samples, "upgradebot_scheduler_lag_seconds_count") == 0


async def test_socket_mode_serves_healthz_and_metrics_on_its_own_listener(
    tmp_path: Path, clock: FakeClock
) -> None:
    stub = SlackStub(bot_token=BOT_TOKEN, app_token="xapp-test")
    api = await stub.start()
    ctx = make_context(tmp_path, api, clock)
    try:
        running = await start_socket_mode(ctx, SECRET, "xapp-test", ops_port=0)
        await asyncio.wait_for(stub.socket_connected.wait(), 5)
        base = f"http://127.0.0.1:{running.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/healthz") as answer:
                assert answer.status == 200
            async with session.get(base + "/metrics") as answer:
                families = {f.name for f in text_string_to_metric_families(await answer.text())}
            async with session.post(base + "/slack/events", data="x") as answer:
                assert answer.status in (404, 405)  # Slack's events come through the socket
        assert {"upgradebot_windows", "upgradebot_gate_wait_seconds"} <= families
        await running.stop()
    finally:
        await stub.stop()
