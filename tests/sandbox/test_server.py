"""The sandbox in-process on port 0, driven over HTTP exactly as its page drives it.

Each ``PageClient`` is one open page: it follows the server-sent events of one person and keeps
what the page would show (messages, ephemerals, modals, clock, faults).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.agents import SimulatedAdapter
from bot.sandbox.run import Sandbox, SandboxClock, example_command
from bot.sandbox.start import start_sandbox
from bot.settings import load_config
from tests.sandbox.test_render import assert_inert

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "upgradebot.yml"
CHANNEL = "C0OPS"
OLGA, ANNA, EVE = "U0OLGA", "U0ANNA", "U0EVE"

Event = dict[str, Any]


class PageClient:
    """One browser page of one person: its event stream and its actions."""

    def __init__(self, session: aiohttp.ClientSession, url: str, user: str) -> None:
        self.session, self.url, self.user = session, url, user
        self.events: list[Event] = []
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> Event:
        self._task = asyncio.create_task(self._follow())
        return await self.wait_for(lambda e: e["type"] == "snapshot")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _follow(self) -> None:
        async with self.session.get(f"{self.url}api/events?user={self.user}") as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            data: list[str] = []
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    data.append(line[6:])
                elif not line and data:
                    self.events.append(json.loads("\n".join(data)))
                    data = []
                    self._arrived.set()

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10) -> Event:
        """The first event (seen so far or still to come) that matches."""
        async with asyncio.timeout(timeout):
            seen = 0
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                self._arrived.clear()
                await self._arrived.wait()

    async def post(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        async with self.session.post(f"{self.url}api/{path}", json=body) as response:
            assert response.status == status, await response.text()
            answer: dict[str, Any] = await response.json()
            return answer

    async def command(self, text: str, channel: str = CHANNEL) -> dict[str, Any]:
        return await self.post("command", {"user": self.user, "channel": channel, "text": text})

    async def click(
        self, message: Event, action_id: str, block_id: str, value: str | None = None
    ) -> dict[str, Any]:
        body = {"user": self.user, "channel": message["channel"], "ts": message["ts"]}
        body.update(action_id=action_id, block_id=block_id)
        if value is not None:
            body["value"] = value
        return await self.post("action", body)

    async def ephemeral(self, text: str) -> Event:
        found = await self.wait_for(
            lambda e: e["type"] == "ephemeral" and text in e["ephemeral"]["html"]
        )
        return dict(found["ephemeral"])

    async def message(self, text: str) -> Event:
        found = await self.wait_for(
            lambda e: e["type"] == "message" and text in e["message"]["html"]
        )
        return dict(found["message"])

    async def view(self, text: str = "") -> Event:
        found = await self.wait_for(lambda e: e["type"] == "view" and text in e["view"]["html"])
        return dict(found["view"])


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    started = await start_sandbox(
        load_config(EXAMPLE), "127.0.0.1", 0, db_path=tmp_path / "sandbox.db", tick_seconds=0
    )
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def pages(sandbox: Sandbox) -> AsyncIterator[Callable[[str], Any]]:
    """Open a page as someone: ``olga = await pages(OLGA)``."""
    opened: list[PageClient] = []
    session = aiohttp.ClientSession()

    async def open_page(user: str) -> PageClient:
        page = PageClient(session, sandbox.url, user)
        opened.append(page)
        await page.open()
        return page

    try:
        yield open_page
    finally:
        for page in opened:
            await page.close()
        await session.close()


async def propose(page: PageClient, sandbox: Sandbox) -> Event:
    hint = example_command(sandbox.config, sandbox.clock())
    assert (await page.command(hint))["ok"]
    return await page.message("Upgrade #1: lab → 10.5")


# ---- the page and its stream


async def test_the_page_is_served_on_loopback_with_a_strict_content_policy(
    sandbox: Sandbox,
) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    async with aiohttp.ClientSession() as session:
        async with session.get(sandbox.url) as response:
            assert response.status == 200
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert '<script type="module" src="/static/app.js">' in await response.text()
        async with session.get(sandbox.url + "static/app.js") as response:
            assert response.status == 200
            assert "EventSource" in await response.text()


async def test_the_first_event_is_the_whole_picture_for_that_person(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    snapshot = olga.events[0]
    assert snapshot["user"] == OLGA
    labels = [u["label"] for u in snapshot["users"]]
    assert labels[:4] == [
        "Olga (proposer/operator)",
        "Anna (approver)",
        "Alex (operator)",
        "Eve (no role)",
    ]
    assert snapshot["channels"][0] == {"id": CHANNEL, "name": "upgrades-lab", "kind": "channel"}
    assert snapshot["messages"] == [] and snapshot["views"] == []
    assert snapshot["hint"].startswith("/upgrade propose lab 10.5 ")
    assert snapshot["clock"]["offset_seconds"] == 0
    assert snapshot["faults"][0]["agents"] == ["dma-lab-01", "dma-lab-02", "dma-lab-03"]


# ---- composer, ephemerals, clicks


async def test_a_command_from_the_composer_reaches_the_real_bot_and_its_ack_shows_as_an_ephemeral(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    anna: PageClient = await pages(ANNA)
    message = await propose(olga, sandbox)
    ack = await olga.ephemeral("Reading the lab cluster")
    assert ack["ephemeral"] and ack["channel"] == CHANNEL
    assert 'data-action-id="window_approve"' in message["html"]
    assert "bk-button bk-primary" in message["html"] and "bk-button bk-danger" in message["html"]
    assert '<template class="bk-confirm">' in message["html"]
    assert '<time class="slack-date"' in message["html"]
    # Anna sees the proposal but not Olga's ephemerals.
    await anna.message("Upgrade #1: lab → 10.5")
    assert not [e for e in anna.events if e["type"] == "ephemeral"]
    signed = [c for c in sandbox.stub.calls if c.method == "chat.postMessage"]
    assert signed and signed[0].token == sandbox.stub.bot_token


async def test_a_plain_line_is_a_message_and_its_markup_stays_text(
    sandbox: Sandbox, pages: Any
) -> None:
    eve: PageClient = await pages(EVE)
    evil = "<script>alert(1)</script> <img src=x onerror=alert(1)> <javascript:alert(1)|click>"
    await eve.command(evil)
    message = await eve.message("alert(1)")
    assert message["author"] == "Eve" and not message["bot"]
    assert_inert(message["html"])
    assert "&lt;script&gt;" in message["html"]


async def test_an_ack_in_plain_text_or_for_the_channel_is_shown_as_slack_shows_it(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    anna: PageClient = await pages(ANNA)
    bridge = sandbox.page.bridge
    bridge.show_ack(CHANNEL, OLGA, "plain *words*", None)
    assert (await olga.ephemeral("plain"))[
        "html"
    ] == '<div class="bk-text">plain <b>words</b></div>'
    bridge.show_ack(CHANNEL, OLGA, '{"text": "for all", "response_type": "in_channel"}', None)
    shown = await anna.message("for all")
    assert shown["bot"] and not shown.get("ephemeral")
    bridge.show_ack(CHANNEL, OLGA, "", None)
    assert [e.text for e in sandbox.stub.ephemerals(OLGA)] == ["plain *words*"]


async def test_an_unknown_slash_command_is_refused_like_slack_does(
    sandbox: Sandbox, pages: Any
) -> None:
    eve: PageClient = await pages(EVE)
    answer = await eve.command("/deploy now")
    assert not answer["ok"]
    assert "is not a valid command" in (await eve.ephemeral("/deploy"))["html"]


async def test_four_eyes_and_roles_refuse_and_the_approver_approves_in_place(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    anna: PageClient = await pages(ANNA)
    proposal = await propose(olga, sandbox)
    assert (await olga.click(proposal, "window_approve", "decision"))["ok"]
    refusal = await olga.ephemeral("only approvers may approve")
    assert refusal["html"].startswith('<div class="bk-text"><span class="mention"')
    assert (await anna.click(proposal, "window_approve", "decision"))["ok"]
    edited = await olga.wait_for(
        lambda e: (
            e["type"] == "message"
            and e["message"]["ts"] == proposal["ts"]
            and "Approved by" in e["message"]["html"]
        )
    )
    assert edited["message"]["edited"]
    assert ">@Anna</span>" in edited["message"]["html"]
    assert "window_approve" not in edited["message"]["html"]


async def test_a_reply_in_a_thread_updates_the_parent_count(sandbox: Sandbox, pages: Any) -> None:
    olga: PageClient = await pages(OLGA)
    proposal = await propose(olga, sandbox)
    await olga.post(
        "command",
        {"user": OLGA, "channel": CHANNEL, "text": "looks fine", "thread_ts": proposal["ts"]},
    )
    reply = await olga.message("looks fine")
    assert reply["thread_ts"] == proposal["ts"]
    await olga.wait_for(
        lambda e: (
            e["type"] == "message"
            and e["message"]["ts"] == proposal["ts"]
            and e["message"]["replies"] >= 1
        )
    )


# ---- modals


async def test_the_propose_modal_opens_for_its_opener_only_and_shows_errors_by_the_field(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    anna: PageClient = await pages(ANNA)
    await olga.command("/upgrade propose")
    view = await olga.view("Propose an upgrade")
    assert 'data-type="static_select"' in view["html"] and 'type="date"' in view["html"]
    missing = await olga.post("view/submit", {"user": OLGA, "view_id": view["id"], "values": {}})
    assert missing["errors"]["target"] == "Please complete this required field."
    assert "length" not in missing["errors"]  # optional
    day = example_command(sandbox.config, sandbox.clock()).split()[4][:10]
    values = {
        "system": {"system_select": "lab"},
        "target": {"target_input": "9.9"},
        "start_date": {"start_date_pick": day},
        "start_time": {"start_time_pick": "22:00"},
    }
    refused = await olga.post(
        "view/submit", {"user": OLGA, "view_id": view["id"], "values": values}
    )
    assert not refused["ok"] and "9.9" in refused["errors"]["target"]
    values["target"] = {"target_input": "10.5"}
    accepted = await olga.post(
        "view/submit", {"user": OLGA, "view_id": view["id"], "values": values}
    )
    assert accepted == {"ok": True}
    await olga.wait_for(lambda e: e["type"] == "view_closed" and e["id"] == view["id"])
    await olga.message("Upgrade #1: lab → 10.5")
    assert not [e for e in anna.events if e["type"] in ("view", "view_closed")]


async def test_reject_asks_for_a_reason_in_a_modal_and_the_message_says_why(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    anna: PageClient = await pages(ANNA)
    proposal = await propose(olga, sandbox)
    await anna.click(proposal, "window_reject", "decision")
    view = await anna.view("Reject #1")
    values = {"reason": {"reason_input": "clashes with the <b>release</b>"}}
    answer = await anna.post("view/submit", {"user": ANNA, "view_id": view["id"], "values": values})
    assert answer["ok"]
    rejected = await olga.message("Rejected by")
    assert "clashes with the &lt;b&gt;release&lt;/b&gt;" in rejected["html"]


async def test_closing_a_modal_removes_it(sandbox: Sandbox, pages: Any) -> None:
    olga: PageClient = await pages(OLGA)
    await olga.command("/upgrade propose")
    view = await olga.view("Propose")
    await olga.post("view/close", {"user": OLGA, "view_id": view["id"]})
    await olga.wait_for(lambda e: e["type"] == "view_closed" and e["id"] == view["id"])
    assert sandbox.stub.views == {}


# ---- user switch, time travel, fault drill


async def test_switching_user_shows_that_persons_ephemerals_and_modals(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    await olga.command("/upgrade help")
    await olga.ephemeral("propose")
    await olga.command("/upgrade propose")
    await olga.view("Propose")
    again = (await pages(OLGA)).events[0]
    assert again["ephemerals"] and len(again["views"]) == 1
    as_eve = (await pages(EVE)).events[0]
    assert as_eve["ephemerals"] == [] and as_eve["views"] == []


def test_the_sandbox_clock_only_moves_forward() -> None:
    clock = SandboxClock()
    before = clock()
    clock.advance(timedelta(hours=1))
    assert clock() - before >= timedelta(hours=1)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(seconds=-1))


async def test_time_travel_moves_the_bots_clock_and_runs_what_falls_due(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    anna: PageClient = await pages(ANNA)
    before = sandbox.running.ctx.now()
    moved = await olga.post("travel", {"amount": "1h"})
    assert moved["moved"] and moved["clock"]["offset_seconds"] == 3600
    assert sandbox.running.ctx.now() - before >= timedelta(hours=1)
    await anna.wait_for(lambda e: e["type"] == "clock" and e["clock"]["offset_seconds"] == 3600)
    idle = await olga.post("travel", {"amount": "next"})
    assert idle == {**idle, "moved": False, "message": "nothing scheduled"}
    assert await olga.post("travel", {"amount": "-1d"}, status=400)
    proposal = await propose(olga, sandbox)
    await anna.click(proposal, "window_approve", "decision")
    await olga.message("Approved by")
    state = await sandbox.clock_state()
    if not state["next_due"]:
        pytest.fail("approving a window scheduled nothing; the pre-check should be due")
    due = await olga.post("travel", {"amount": "next"})
    assert due["moved"] and due["ran"] >= 1
    assert sandbox.running.ctx.now().isoformat() >= state["next_due"]


async def test_faults_are_injected_on_the_simulator_and_the_bot_sees_them(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    anna: PageClient = await pages(ANNA)
    body = {"system": "lab", "fault": "unreachable", "agent": "dma-lab-02", "on": True}
    answer = await olga.post("faults", body)
    assert answer["faults"][0]["unreachable"] == ["dma-lab-02"]
    await anna.wait_for(lambda e: e["type"] == "faults")
    adapter = sandbox.running.ctx.adapters["lab"]
    assert isinstance(adapter, SimulatedAdapter)
    assert adapter.faults.unreachable == {"dma-lab-02"}
    for fault in ("critical_alarm", "failing_prerequisite", "fail_upgrade"):
        await olga.post("faults", {**body, "fault": fault})
    assert adapter.faults.critical_alarm
    assert adapter.faults.failing_prerequisite == {"dma-lab-02": "VerifyClusterPorts"}
    assert adapter.faults.fail_upgrade == {"dma-lab-02": 1}
    await olga.command("/upgrade systems")
    shown = await olga.ephemeral("dma-lab-02")
    assert "<code>dma-lab-02</code> 10.3.0 (build 13012) — disconnected" in shown["html"]
    await olga.post("faults", {"system": "lab", "fault": "all", "on": False})
    assert not adapter.faults.unreachable and not adapter.faults.critical_alarm
    await olga.post("faults", {**body, "agent": "dma-nope"}, status=400)


# ---- the page's guard rails


async def test_only_json_from_the_page_itself_and_only_known_people(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as session:
        url = sandbox.url + "api/command"
        body = {"user": OLGA, "channel": CHANNEL, "text": "hi"}
        async with session.post(url, data=json.dumps(body)) as response:
            assert response.status == 415
        headers = {"Origin": "https://evil.example"}
        async with session.post(url, json=body, headers=headers) as response:
            assert response.status == 403
        async with session.post(url, json={**body, "user": "U0MALLORY"}) as response:
            assert response.status == 400
        async with session.post(url, json={**body, "channel": "C0ELSEWHERE"}) as response:
            assert response.status == 400
    assert sandbox.stub.messages(CHANNEL) == []


# ---- the command line


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_cli(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env["UPGRADEBOT_CONFIG"] = str(EXAMPLE)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "open http://" in line:
            return process, "".join(seen)
    process.wait(timeout=10)
    raise AssertionError(f"no address printed: {''.join(seen)} {process.stderr.read()}")  # type: ignore[union-attr]


async def _fetch(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


@pytest.mark.parametrize(
    ("args", "stop"), [(("sandbox",), signal.SIGINT), (("run",), signal.SIGTERM)]
)
async def test_the_cli_serves_the_sandbox_prints_the_address_and_stops_cleanly(
    tmp_path: Path, args: tuple[str, ...], stop: signal.Signals
) -> None:
    port = _free_port()
    process, printed = _start_cli(tmp_path, *args, "--port", str(port))
    try:
        assert f"open http://127.0.0.1:{port}/" in printed
        if args == ("run",):
            assert "SLACK_BOT_TOKEN" in printed and "manifest.yml" in printed
        assert "examples/upgradebot.yml" in printed
        assert await _fetch(f"http://127.0.0.1:{port}/") == 200
        process.send_signal(stop)
        assert process.wait(timeout=15) == 0
        assert "Traceback" not in process.stderr.read()  # type: ignore[union-attr]
        assert not list(tmp_path.iterdir())  # the sandbox's database was temporary
    finally:
        if process.poll() is None:
            process.kill()


def test_a_taken_port_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
        env["UPGRADEBOT_CONFIG"] = str(EXAMPLE)
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "sandbox", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot serve the sandbox on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_home_tab_is_opened_published_and_kept_live_on_the_page(
    sandbox: Sandbox, pages: Any
) -> None:
    olga: PageClient = await pages(OLGA)
    anna: PageClient = await pages(ANNA)
    assert anna.events[0]["home"] is None  # nothing published before the first visit
    assert (await anna.post("home", {"user": ANNA}))["ok"] is True
    first = await anna.wait_for(lambda e: e["type"] == "home")
    assert (
        "Nothing is waiting for you" in first["html"] and "No window is planned." in first["html"]
    )
    assert_inert(first["html"])
    await olga.command(example_command(sandbox.config, sandbox.clock()))
    later = await anna.wait_for(
        lambda e: e["type"] == "home" and "Waiting for you (1)" in e["html"]
    )
    assert "G1 Window approved" in later["html"] and 'data-url="https://' in later["html"]
    assert not any(e["type"] == "home" for e in olga.events)  # Olga never opened hers
    assert (await pages(ANNA)).events[0]["home"] == later["html"]
