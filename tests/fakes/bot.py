"""The bot under test, for real: HTTP mode on loopback, Slack played by the SlackStub.

Requests are signed exactly as Slack signs them; the clock is an injected ``FakeClock``;
SQLite is a real file under tmp_path. Nothing of ours is patched.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.context import BotContext
from bot.runtime import Running, build_context, start_http
from bot.sandbox.signing import (
    block_action_payload,
    interaction_body,
    sign,
    slash_command_body,
    view_submission_payload,
)
from bot.sandbox.slack_stub import SlackStub
from bot.settings import Settings, load_config

SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
CHANNEL = "C0OPS"
PROPOSER = "U0OLGA"
APPROVER = "U0ANNA"
GROUP_APPROVER = "U0BOB"
STRANGER = "U0EVE"
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PACKAGES = (
    "DataMiner 10.3.0.0(CU22)-0 Full Upgrade.dmupgrade",
    "DataMiner 10.4.0.0(CU21)-0 Full Upgrade.dmupgrade",
    "DataMiner 10.5.0.0(CU18)-0 Full Upgrade.dmupgrade",
)

CONFIG = """\
timezone: Europe/Brussels
roles:
  approvers: [S0ADMINS, U0ANNA]
  operators: [U0OLGA, U0ALEX]
  proposers: []
four_eyes: true
schedule: {precheck_lead: 24h, reminders: [2h, 15m]}
blackouts:
  - {name: Year-end freeze, start: "2026-12-20T00:00", end: "2027-01-04T00:00"}
packages: {dir: "{packages}"}
systems:
  lab:
    channel: C0OPS
    startup_time: 10m
    adapter:
      kind: simulated
      step_seconds: 0.01
      agents:
        - name: dma-lab-01
          version: "10.3.0.0-13012"
          installed: &runtimes {aspnet_core: ["6.0.36", "8.0.11", "10.0.1"], vcpp: "14.44.35211.0"}
        - {name: dma-lab-02, version: "10.3.0.0-13012", installed: *runtimes}
        - {name: dma-lab-03, version: "10.3.0.0-13012", failover_of: dma-lab-02,
           installed: *runtimes}
  night:
    channel: C0NIGHT
    startup_time: 5m
    adapter:
      kind: simulated
      step_seconds: 0.01
      agents:
        - {name: dma-night-01, version: "10.2.0.0-11897-CU4", installed: *runtimes}
        - {name: dma-night-02, version: "10.2.0.0-11897-CU4", installed: *runtimes}
        - {name: dma-night-03, version: "10.2.0.0-11897-CU4", failover_of: dma-night-02,
           installed: *runtimes}
  prod:
    channel: C0PROD
    adapter:
      kind: simulated
      agents:
        - {name: dma-prod-01, version: "10.4.0.0-14511"}
"""


class FakeClock:
    """The bot's only clock in tests; moves when a test says so."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def write_config(tmp_path: Path, text: str = CONFIG) -> Path:
    """The config with its package store in tmp_path, holding placeholder packages."""
    store = tmp_path / "packages"
    store.mkdir(exist_ok=True)
    for name in PACKAGES:
        (store / name).write_bytes(b"placeholder " + name.encode())
    path = tmp_path / "upgradebot.yml"
    path.write_text(text.replace("{packages}", str(store)), encoding="utf-8")
    return path


def make_context(
    tmp_path: Path, api_url: str, clock: Callable[[], datetime], config_text: str = CONFIG
) -> BotContext:
    settings = Settings(
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
    )
    config = load_config(write_config(tmp_path, config_text))
    return build_context(settings, config, clock=clock, db_path=tmp_path / "upgradebot.db")


def fast(ctx: BotContext) -> BotContext:
    """Poll and edit at test speed; the simulated stages take 10 ms."""
    ctx.poll_seconds = 0.01
    ctx.progress_edit_seconds = 0.05
    ctx.shutdown_grace_seconds = 2.0
    ctx.outbox_tick_seconds = 0.02
    ctx.outbox_backoff_seconds = 0.05
    return ctx


@dataclass
class Harness:
    stub: SlackStub
    running: Running
    clock: FakeClock
    session: aiohttp.ClientSession
    url: str
    tmp_path: Path
    responses: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ctx(self) -> BotContext:
        return self.running.ctx

    async def post(
        self,
        body: str,
        *,
        signed: bool = True,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, str]:
        sent = {"Content-Type": "application/x-www-form-urlencoded"}
        if signed:
            sent.update(sign(SECRET, body, timestamp))
        sent.update(headers or {})
        async with self.session.post(self.url + "/slack/events", data=body, headers=sent) as r:
            result = (r.status, await r.text())
        self.responses.append(result)
        return result

    async def command(self, text: str, user: str = PROPOSER, channel: str = CHANNEL) -> str:
        """Send /upgrade <text>; return the text of the immediate (ack) answer."""
        status, body = await self.post(
            slash_command_body("/upgrade", text, user_id=user, channel_id=channel)
        )
        assert status == 200, body
        if not body:
            return ""
        return str(json.loads(body).get("text", "")) if body.startswith("{") else body

    async def click(
        self, action_id: str, message: dict[str, Any], user: str, channel: str = CHANNEL
    ) -> int:
        payload = block_action_payload(action_id, message=message, user_id=user, channel_id=channel)
        status, _ = await self.post(interaction_body(payload))
        return status

    async def submit(
        self, view: dict[str, Any], values: dict[str, Any], user: str
    ) -> tuple[int, str]:
        payload = view_submission_payload(values=values, view=view, user_id=user)
        return await self.post(interaction_body(payload))

    def proposals(self, channel: str = CHANNEL) -> list[Any]:
        return [m for m in self.stub.messages(channel) if not m.is_reply]

    def ephemeral_texts(self, user: str) -> list[str]:
        return [e.text for e in self.stub.ephemerals(user)]

    async def wait_ephemeral(self, user: str, count: int = 1, timeout: float = 5.0) -> list[str]:
        await self.stub.wait_until(lambda: len(self.stub.ephemerals(user)) >= count, timeout)
        return self.ephemeral_texts(user)

    async def wait_told(self, user: str, needle: str, timeout: float = 5.0) -> str:
        """The ephemeral to ``user`` that says ``needle``, once it came: not the n-th one, as
        another answer (the proposal's confirmation) may arrive before or after it."""

        def told() -> list[str]:
            return [t for t in self.ephemeral_texts(user) if needle in t]

        try:
            await self.stub.wait_until(lambda: bool(told()), timeout)
        except TimeoutError:
            told_instead = self.ephemeral_texts(user)
            raise AssertionError(f"{user} was not told {needle!r}: {told_instead}") from None
        return told()[-1]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Harness]:
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": [GROUP_APPROVER]})
    api_url = await stub.start()
    ctx = make_context(tmp_path, api_url, clock)
    fast(ctx)
    running = await start_http(ctx, SECRET, "127.0.0.1", 0)
    session = aiohttp.ClientSession()
    harness = Harness(stub, running, clock, session, f"http://127.0.0.1:{running.port}", tmp_path)
    try:
        yield harness
    finally:
        await session.close()
        await running.stop()
        await stub.stop()


@pytest.fixture
def bot_context_factory(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[[], BotContext]]:
    made: list[BotContext] = []

    def factory() -> BotContext:
        ctx = make_context(tmp_path, "http://127.0.0.1:9/api/", clock)
        made.append(ctx)
        return ctx

    yield factory
    for ctx in made:
        ctx.db.close()
