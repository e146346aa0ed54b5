"""The sandbox page's HTTP side: the page itself, a server-sent event stream, the page's actions.

The page's actions go through ``bridge.Bridge`` to the bot as signed Slack payloads. The bot
answers through the Web API, which the ``SlackStub`` turns into store changes; those arrive
here from ``stub.subscribe()`` and go to each open page as JSON carrying server-rendered,
escaped HTML (``render``). Ephemerals, DMs and modals go only to the person they belong to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.sandbox import render
from bot.sandbox.bridge import Bridge, PageError
from bot.sandbox.run import Sandbox, example_command
from bot.sandbox.slack_limits import SlackMethodError
from bot.sandbox.slack_store import StoredMessage, StubEvent

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
KEEPALIVE_SECONDS = 15.0
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_MESSAGE_EVENTS = ("message_posted", "message_updated", "reaction_added")
_VIEW_EVENTS = ("view_opened", "view_pushed", "view_updated")


@dataclass(eq=False)
class _Client:
    user: str
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)


class Page:
    """What each open page shows, kept live from the stub's change events."""

    def __init__(self, sandbox: Sandbox, tick_seconds: float) -> None:
        self.sandbox = sandbox
        self.stub = sandbox.stub
        self.names = sandbox.names
        self.bridge = Bridge(sandbox)
        self.tick_seconds = tick_seconds
        self.clients: set[_Client] = set()
        self.tasks: list[asyncio.Task[None]] = []
        self.last_next_due: str | None = None

    def snapshot(self, user: str, clock: dict[str, Any]) -> dict[str, Any]:
        store = self.stub.store
        messages = []
        for channel in self.channel_ids(user):
            for top in store.messages(channel):
                thread = store.thread(channel, top.ts) if top.thread_ts else [top]
                messages += [self.message(m) for m in thread if m is top or m.is_reply]
        views = [v for v in self.stub.views.values() if self.bridge.opener(v.id) == user]
        return {
            "type": "snapshot",
            "user": user,
            "users": [{"id": u.id, "name": u.name, "label": u.label} for u in self.sandbox.users],
            "channels": self.channels(user),
            "messages": messages,
            "ephemerals": [
                self.ephemeral(e.channel, e.__dict__) for e in self.stub.ephemerals(user)
            ],
            "views": [self.view(v.to_slack(self.stub.store.workspace)) for v in views],
            "home": self.home(user),
            "clock": clock,
            "faults": self.sandbox.faults_state(),
            "hint": example_command(self.sandbox.config, self.sandbox.clock()),
        }

    def channels(self, user: str) -> list[dict[str, str]]:
        listed = [
            {"id": cid, "name": name, "kind": "channel"}
            for cid, name in self.names.channels.items()
        ]
        return [*listed, {"id": "D" + user[1:], "name": "upgradebot", "kind": "dm"}]

    def channel_ids(self, user: str) -> list[str]:
        return [c["id"] for c in self.channels(user)]

    def message(self, m: StoredMessage) -> dict[str, Any]:
        return {
            "channel": m.channel,
            "ts": m.ts,
            "thread_ts": m.thread_ts if m.is_reply else None,
            "broadcast": m.reply_broadcast,
            "author": self.names.users.get(m.user, m.user),
            "bot": m.bot_id is not None,
            "edited": m.edited,
            "replies": len(self.stub.thread(m.channel, m.ts)) - 1 if m.thread_ts == m.ts else 0,
            "reactions": [
                {"emoji": render.to_emoji(name), "count": len(users)}
                for name, users in m.reactions.items()
            ],
            "html": render.to_html_message(
                m.text, m.blocks, m.attachments, self.names, files=m.files
            ),
        }

    def ephemeral(self, channel: str | None, data: dict[str, Any]) -> dict[str, Any]:
        text = str(data.get("text") or "")
        return {
            "channel": channel,
            "ts": data.get("message_ts"),
            "thread_ts": data.get("thread_ts"),
            "author": "upgradebot",
            "bot": True,
            "ephemeral": True,
            "html": render.to_html_message(text, data.get("blocks"), None, self.names),
        }

    def home(self, user: str) -> str | None:
        """The user's Home tab as HTML; None until the bot published one for them."""
        shown = self.stub.home(user)
        return render.to_html_blocks(shown.view.get("blocks") or [], self.names) if shown else None

    def view(self, view: dict[str, Any]) -> dict[str, Any]:
        html = render.to_html_view(view, self.names)
        return {"id": view.get("id"), "root_view_id": view.get("root_view_id"), "html": html}

    # ---- live updates

    def send(self, event: dict[str, Any], user: str | None = None) -> None:
        for client in self.clients:
            if user is None or client.user == user:
                client.queue.put_nowait(event)

    async def pump(self) -> None:
        """Forward the stub's changes to the open pages as they happen."""
        queue = self.stub.subscribe()
        try:
            while True:
                event = await queue.get()
                try:
                    self.forward(event)
                    if queue.empty():
                        # What the bot just did may have scheduled (or run) a timed action.
                        await self.send_clock_if_changed()
                except Exception:
                    log.exception("could not show %s on the page", event.kind)
        finally:
            self.stub.unsubscribe(queue)

    async def send_clock_if_changed(self, force: bool = False) -> None:
        state = await self.sandbox.clock_state()
        if force or state["next_due"] != self.last_next_due:
            self.last_next_due = state["next_due"]
            self.send({"type": "clock", "clock": state})

    def forward(self, event: StubEvent) -> None:
        data, channel = event.data, event.channel or ""
        # A DM goes only to its one person; channel messages go to everyone.
        owner = "U" + channel[1:] if channel.startswith("D") else None
        if event.kind in _MESSAGE_EVENTS:
            self._refresh(channel, str(data.get("ts")), owner)
        elif event.kind == "message_deleted":
            self.send({"type": "deleted", "channel": channel, "ts": data.get("ts")}, owner)
            if data.get("thread_ts") and data.get("thread_ts") != data.get("ts"):
                self._refresh(channel, str(data["thread_ts"]), owner)
        elif event.kind == "ephemeral_posted":
            shown = self.ephemeral(event.channel, data)
            self.send({"type": "ephemeral", "ephemeral": shown}, str(data.get("user")))
        elif event.kind in _VIEW_EVENTS:
            user = self.bridge.opener(str(data.get("id")))
            self.send({"type": "view", "view": self.view(data)}, user)
        elif event.kind == "home_published":
            user = str(data.get("user"))
            self.send({"type": "home", "html": self.home(user)}, user)
        elif event.kind == "view_closed":
            closed = self.bridge.view_owners.pop(str(data.get("id")), "")
            self.send({"type": "view_closed", "id": data.get("id")}, closed or None)

    def _refresh(self, channel: str, ts: str, owner: str | None) -> None:
        """Send a message as it is now, and its thread's parent (whose reply count changed)."""
        with contextlib.suppress(SlackMethodError):
            message = self.stub.store.find(channel, ts)
            self.send({"type": "message", "message": self.message(message)}, owner)
            if message.is_reply and message.thread_ts:
                parent = self.stub.store.find(channel, message.thread_ts)
                self.send({"type": "message", "message": self.message(parent)}, owner)

    async def tick(self) -> None:
        """Sandbox time also flows by itself: run what falls due, as the scheduler would."""
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                ran = await self.sandbox.run_due()
                await self.send_clock_if_changed(force=ran > 0)
            except Exception:
                log.exception("the sandbox's scheduler tick failed")

    # ---- HTTP handlers

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: first the whole picture for this person, then each change."""
        user = self._viewer(request.query.get("user", ""))
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        client = _Client(user)
        self.clients.add(client)
        try:
            client.queue.put_nowait(self.snapshot(user, await self.sandbox.clock_state()))
            while True:
                try:
                    event = await asyncio.wait_for(client.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event is None:
                    break
                await response.write(f"data: {json.dumps(event)}\n\n".encode())
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        finally:
            self.clients.discard(client)
        return response

    async def state(self, request: web.Request) -> web.Response:
        user = self._viewer(request.query.get("user", ""))
        return web.json_response(self.snapshot(user, await self.sandbox.clock_state()))

    async def command(self, body: dict[str, Any]) -> dict[str, Any]:
        user, channel = self._user(body.get("user")), self._channel(body)
        thread_ts = str(body["thread_ts"]) if body.get("thread_ts") else None
        status = await self.bridge.command(user, channel, str(body.get("text") or ""), thread_ts)
        return {"ok": status == 200, "status": status}

    async def action(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self._user(body.get("user"))
        if not body.get("view_id"):
            self._channel(body)
        status = await self.bridge.action(user, body)
        return {"ok": status == 200, "status": status}

    async def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self._user(body.get("user"))
        values = body.get("values") if isinstance(body.get("values"), dict) else {}
        return await self.bridge.submit(user, str(body.get("view_id")), values or {})

    async def close(self, body: dict[str, Any]) -> dict[str, Any]:
        self._user(body.get("user"))
        with contextlib.suppress(SlackMethodError):
            self.stub.close_view(str(body.get("view_id")))
        return {"ok": True}

    async def open_home(self, body: dict[str, Any]) -> dict[str, Any]:
        status = await self.bridge.open_home(self._user(body.get("user")))
        return {"ok": status == 200, "status": status}

    async def travel(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await self.sandbox.travel(str(body.get("amount")))
        except ValueError as error:
            raise PageError(str(error)) from None
        clock = await self.sandbox.clock_state()
        self.last_next_due = clock["next_due"]
        self.send({"type": "clock", "clock": clock})
        return {"ok": True, **result, "clock": clock}

    async def faults(self, body: dict[str, Any]) -> dict[str, Any]:
        agent = str(body["agent"]) if body.get("agent") else None
        try:
            self.sandbox.set_fault(
                str(body.get("system")), str(body.get("fault")), agent, bool(body.get("on"))
            )
        except ValueError as error:
            raise PageError(str(error)) from None
        state = self.sandbox.faults_state()
        self.send({"type": "faults", "faults": state})
        return {"ok": True, "faults": state}

    def _viewer(self, user: str) -> str:
        """Who a page shows things for: a first visit (or a stale choice) is the first person."""
        known = [u.id for u in self.sandbox.users]
        return user if user in known else known[0]

    def _user(self, user: Any) -> str:
        if user not in {u.id for u in self.sandbox.users}:
            raise PageError(f"unknown user {user!r}")
        return str(user)

    def _channel(self, body: dict[str, Any]) -> str:
        channel = str(body.get("channel") or "")
        if channel not in self.channel_ids(self._user(body.get("user"))):
            raise PageError(f"unknown channel {channel!r}")
        return channel


Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _json_action(handler: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A page action: JSON in, JSON out. JSON only, and from this page only (a form on another
    site cannot send application/json without a CORS preflight this server never grants)."""

    async def handle(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.json_response({"ok": False, "error": "send JSON"}, status=415)
        origin = request.headers.get("Origin")
        if origin and origin != f"{request.scheme}://{request.host}":
            return web.json_response({"ok": False, "error": "cross-origin"}, status=403)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise PageError("send a JSON object")
            return web.json_response(await handler(body))
        except (PageError, ValueError, KeyError) as error:
            return web.json_response({"ok": False, "error": str(error)}, status=400)

    return handle


@web.middleware
async def _headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def build_page_app(page: Page) -> web.Application:
    app = web.Application(middlewares=[_headers], client_max_size=256 * 1024)
    app.router.add_get("/", page.index)
    app.router.add_static("/static/", STATIC_DIR)
    app.router.add_get("/api/events", page.events)
    app.router.add_get("/api/state", page.state)
    for path, handler in (
        ("/api/command", page.command),
        ("/api/action", page.action),
        ("/api/view/submit", page.submit),
        ("/api/view/close", page.close),
        ("/api/travel", page.travel),
        ("/api/home", page.open_home),
        ("/api/faults", page.faults),
    ):
        app.router.add_post(path, _json_action(handler))

    async def release(_app: web.Application) -> None:
        # Long-lived event streams would hold up the shutdown; end them first.
        for client in list(page.clients):
            client.queue.put_nowait(None)
        for task in page.tasks:
            task.cancel()
        await asyncio.gather(*page.tasks, return_exceptions=True)
        if page.bridge.session is not None:
            await page.bridge.session.close()

    app.on_shutdown.append(release)
    return app


async def start_page(
    sandbox: Sandbox, host: str, port: int, tick_seconds: float
) -> tuple[Page, web.AppRunner, str]:
    """Serve the page; returns it, its runner and its address."""
    page = Page(sandbox, tick_seconds)
    page.bridge.session = aiohttp.ClientSession()
    runner = web.AppRunner(build_page_app(page), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    page.tasks.append(asyncio.create_task(page.pump()))
    if tick_seconds > 0:
        page.tasks.append(asyncio.create_task(page.tick()))
    bound = runner.addresses[0][1] if runner.addresses else port
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return page, runner, f"http://{shown}:{bound}/"
