"""SIGKILL between approval and the pre-check: the restarted bot runs the missed pre-check once.

The bot is a real process (`upgradebot serve --http`) on the real clock, with a pre-check lead of
seconds; Slack is the loopback stand-in in this test's process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bot.ids import Action
from bot.sandbox.signing import block_action_payload, interaction_body, sign, slash_command_body
from bot.sandbox.slack_stub import SlackStub
from storage import list_check_runs, open_database
from tests.fakes.bot import APPROVER, BOT_TOKEN, CONFIG, PROPOSER, SECRET, write_config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_bot(tmp_path: Path, api: str, port: int) -> subprocess.Popen[bytes]:
    config = CONFIG.replace(
        "schedule: {precheck_lead: 24h, reminders: [2h, 15m]}",
        "schedule: {precheck_lead: 10s, reminders: []}",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api,
        UPGRADEBOT_CONFIG=str(write_config(tmp_path, config)),
        UPGRADEBOT_DB=str(tmp_path / "bot.db"),
    )
    log = (tmp_path / f"bot-{port}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def healthy(session: aiohttp.ClientSession, url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not become healthy")


async def post(session: aiohttp.ClientSession, url: str, body: str) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
    async with session.post(url + "/slack/events", data=body, headers=headers) as response:
        return response.status


async def test_sigkill_between_approval_and_precheck_runs_the_precheck_exactly_once(
    tmp_path: Path,
) -> None:
    stub = SlackStub(bot_token=BOT_TOKEN)
    api = await stub.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bot = start_bot(tmp_path, api, port)
    try:
        async with aiohttp.ClientSession() as session:
            await healthy(session, url)
            start = (datetime.now(UTC) + timedelta(seconds=20)).replace(microsecond=0)
            text = f"propose lab 10.5 {start:%Y-%m-%dT%H:%M:%S}Z 4h"
            assert (
                await post(
                    session,
                    url,
                    slash_command_body("/upgrade", text, user_id=PROPOSER, channel_id="C0OPS"),
                )
                == 200
            )
            await stub.wait_until(lambda: bool(stub.messages("C0OPS")), timeout=10)
            proposal = stub.messages("C0OPS")[0]
            click = block_action_payload(
                Action.APPROVE, message=proposal.to_slack(), user_id=APPROVER, channel_id="C0OPS"
            )
            assert await post(session, url, interaction_body(click)) == 200
            await stub.wait_until(
                lambda: any(
                    m.text.startswith("Details checklist")
                    for m in stub.thread("C0OPS", proposal.ts)
                ),
                timeout=10,
            )
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
            assert not any(
                m.text.startswith("Pre-check") for m in stub.thread("C0OPS", proposal.ts)
            )
            # Stay down past the pre-check's moment (start - 10 s), then start again.
            await asyncio.sleep(
                max(0.0, (start - timedelta(seconds=9) - datetime.now(UTC)).total_seconds())
            )
            bot = start_bot(tmp_path, api, port)
            await healthy(session, url)
            await stub.wait_until(
                lambda: any(
                    m.text.startswith("Pre-check of #1") for m in stub.thread("C0OPS", proposal.ts)
                ),
                timeout=20,
            )
            await asyncio.sleep(0.5)  # a duplicate would arrive now if there were one
        prechecks = [
            m for m in stub.thread("C0OPS", proposal.ts) if m.text.startswith("Pre-check of #1")
        ]
        assert len(prechecks) == 1
        db = open_database(tmp_path / "bot.db")
        try:
            assert [r.kind for r in list_check_runs(db, 1)].count("precheck") == 1
        finally:
            db.close()
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bot.kill()
        await stub.stop()
