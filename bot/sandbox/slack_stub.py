"""A loopback stand-in for Slack: the Web API, Socket Mode and response_url endpoints.

Point ``AsyncWebClient(base_url=await stub.start())`` at it. Every request is recorded
(``calls``), answered the way Slack answers (``slack_methods``), and changes a workspace
that tests and the browser sandbox can read (``messages``, ``thread``, ``views``) or follow
(``subscribe``). Faults are Slack's own: HTTP 429 with ``Retry-After`` (what slack_sdk's
``AsyncRateLimitErrorRetryHandler`` reads), HTTP 500/503, ``ok: false`` errors, slow
answers, answers that come too late for work Slack already did (``late``), and connections
dropped before or after the work (``drop``).

slack_sdk sends most methods as query parameters on a POST (``auth.test``, ``chat.delete``,
``reactions.add``, ``apps.connections.open``), a few as GET query strings (``users.info``,
``usergroups.users.list``, ``conversations.info``), and JSON bodies for chat.postMessage,
chat.update, chat.postEphemeral and views.*; ``api_call(data=...)`` sends a form body.
All of them are read the same way here.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.slack_files import FileStore, StoredFile
from bot.sandbox.slack_limits import SlackMethodError, decode_json_field, is_true
from bot.sandbox.slack_methods import METHODS, MethodContext
from bot.sandbox.slack_socket import SocketModeHub
from bot.sandbox.slack_store import (
    SlackStore,
    StoredEphemeral,
    StoredMessage,
    StoredView,
    StubEvent,
)
from bot.sandbox.slack_workspace import DEFAULT_WORKSPACE, Workspace

_JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "user_auth_blocks")
_SERVER_ERRORS = {500: "internal_error", 503: "service_unavailable"}
_RECHECK_SECONDS = 0.02


@dataclass
class RecordedCall:
    method: str
    args: dict[str, Any]
    token: str | None
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    # Set when a fault answered: "http_429", "http_500", "error:<code>", or "abandoned"
    # when the client hung up during a delay.
    fault: str | None = None

    @property
    def faulted(self) -> bool:
        return self.fault is not None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int
    remaining: int


@dataclass(frozen=True)
class _ResponseTarget:
    channel: str
    user: str
    message_ts: str | None
    thread_ts: str | None


class SlackStub:
    def __init__(
        self,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        usergroups: Mapping[str, list[str]] | None = None,
        users: Mapping[str, dict[str, Any] | str] | None = None,
        channels: Mapping[str, str] | None = None,
        *,
        workspace: Workspace = DEFAULT_WORKSPACE,
        clock: Callable[[], float] = time.time,
        trigger_ttl_seconds: float = 3.0,
    ) -> None:
        """``users`` overrides users.info per id (a dict of fields, or just the real name);
        any well-formed user id exists. ``channels`` (id -> name), when given, is the whole
        channel list and other ids answer ``channel_not_found``."""
        self.bot_token, self.app_token = bot_token, app_token
        self.store = SlackStore(workspace, dict(channels) if channels is not None else None, clock)
        user_fields = {
            uid: ({"real_name": spec} if isinstance(spec, str) else dict(spec))
            for uid, spec in (users or {}).items()
        }
        self.files = FileStore(self.store)
        self._ctx = MethodContext(
            store=self.store,
            files=self.files,
            upload_root=lambda: self.root_url,
            usergroups={k: list(v) for k, v in (usergroups or {}).items()},
            users=user_fields,
            issue_socket_url=lambda: self._socket.issue_url(self.root_url),
            trigger_ttl_seconds=trigger_ttl_seconds,
        )
        self.calls: list[RecordedCall] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._late: dict[str, list[list[float]]] = {}  # method -> [[seconds, times left]]
        self._drops: dict[str, list[list[Any]]] = {}  # method -> [[after_work, times left]]
        self._chaos: tuple[float, frozenset[str], random.Random, float] | None = None
        # Replaced on every change, so waiters wake without polling and notifying stays
        # synchronous (usable where no await is possible, e.g. during cancellation).
        self._changed = asyncio.Event()
        self.store.listeners.append(lambda _event: self._notify())
        self._socket = SocketModeHub(workspace.app_id, self._notify)
        self._response_targets: dict[str, _ResponseTarget] = {}
        self._runner: web.AppRunner | None = None
        self.root_url = ""
        self.base_url = ""

    # ---- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on loopback; returns the Web API base URL, e.g. http://127.0.0.1:PORT/api/."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/link/", self._socket.handle)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        # A short grace period: a deliberately slow answer must not hold up stop() for long.
        self._runner = web.AppRunner(
            app, shutdown_timeout=1.0, access_log=None, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.root_url = f"http://{bound_host}:{bound_port}"
        self.base_url = f"{self.root_url}/api/"
        return self.base_url

    async def stop(self) -> None:
        await self._socket.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- what happened

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedCall]:
        """The first ``count`` calls to ``method`` (faulted attempts included), once made."""
        try:
            await self._wait_until(lambda: len(self.calls_to(method)) >= count, timeout)
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise TimeoutError(
                f"{count}× {method} not called within {timeout}s; calls: {seen}"
            ) from None
        return self.calls_to(method)[:count]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Return once ``predicate()`` holds; it is re-checked after every call, change to
        the workspace, Socket Mode ack, connect and disconnect, and at least every 20 ms (so it
        may read the bot's database too). ``TimeoutError`` after ``timeout`` seconds."""
        await self._wait_until(predicate, timeout)

    def messages(self, channel: str) -> list[StoredMessage]:
        return self.store.messages(channel)

    def thread(self, channel: str, ts: str) -> list[StoredMessage]:
        return self.store.thread(channel, ts)

    def ephemerals(self, user: str | None = None) -> list[StoredEphemeral]:
        return self.store.ephemerals(user)

    def shared_files(self, channel: str, thread_ts: str | None = None) -> list[StoredFile]:
        """Files shared (completed) in a channel, or in one thread of it, oldest first."""
        return self.files.shared_in(channel, thread_ts)

    @property
    def views(self) -> dict[str, StoredView]:
        return self.store.views

    def home(self, user: str) -> StoredView | None:
        """The Home tab the app last published for ``user``."""
        return self.store.homes.get(user)

    @property
    def home_tab_enabled(self) -> bool:
        return self._ctx.home_tab_enabled

    @home_tab_enabled.setter
    def home_tab_enabled(self, enabled: bool) -> None:
        """An app whose manifest leaves the Home tab off gets ``not_enabled`` from
        views.publish."""
        self._ctx.home_tab_enabled = enabled

    def close_view(self, view_id: str) -> None:
        """The person closed or submitted the modal (the sandbox page calls this)."""
        self.store.close_view(view_id)

    def subscribe(self) -> asyncio.Queue[StubEvent]:
        return self.store.subscribe()

    def unsubscribe(self, queue: asyncio.Queue[StubEvent]) -> None:
        self.store.unsubscribe(queue)

    def post_as_user(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> StoredMessage:
        """A person writes in the channel (the sandbox page, or a test setting the scene)."""
        return self.store.post(channel, text=text, user=user, thread_ts=thread_ts)

    def response_url(
        self, channel: str, user: str, message_ts: str | None = None, thread_ts: str | None = None
    ) -> str:
        """A response_url for a payload: what the bot posts there lands in this workspace."""
        key = secrets.token_hex(8)
        self._response_targets[key] = _ResponseTarget(channel, user, message_ts, thread_ts)
        return f"{self.root_url}/response/{key}"

    def remove_bot(self, channel: str) -> None:
        """Someone removes the bot from a channel (``/kick``): it may still post there with
        ``chat:write.public`` but no longer read it until it joins again."""
        self._ctx.joined.discard(channel)

    # ---- faults

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls to ``method`` fail: ``status=429`` is a rate limit with
        ``Retry-After: <retry_after>`` seconds, 500/503 a server error, ``error=`` alone an
        HTTP 200 ``ok: false`` answer. Faults queue up in the order given."""
        if status is None and error is None:
            raise ValueError("fail() needs status= or error=")
        status = status or 200
        error = error or (
            "ratelimited" if status == 429 else _SERVER_ERRORS.get(status, "fatal_error")
        )
        self._faults.setdefault(method, []).append(_Fault(status, error, retry_after, times))

    def delay(self, method: str, seconds: float) -> None:
        """Every call to ``method`` is answered ``seconds`` late, until ``clear_faults``."""
        self._delays[method] = seconds

    def late(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` are carried out at once (the message is
        posted), but the answer is sent ``seconds`` later: a client that gives up first sees a
        timeout for work Slack did. Recorded with fault ``late``."""
        self._late.setdefault(method, []).append([seconds, times])

    def drop(self, method: str, *, after_work: bool = False, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` get no answer: the connection is closed,
        before the work (nothing happened) or, with ``after_work``, after it. Recorded with
        fault ``dropped`` or ``dropped_after_work``."""
        self._drops.setdefault(method, []).append([after_work, times])

    def chaos(
        self,
        rate: float,
        methods: Sequence[str],
        *,
        seed: int = 0,
        late_seconds: float = 3.0,
    ) -> None:
        """From now on each call to one of ``methods`` fails with probability ``rate``: a 429
        (Retry-After 1), a 500, or an answer ``late_seconds`` late for work done, at random
        (seeded). For benchmarks of a night under Slack's faults; ``clear_faults`` ends it."""
        self._chaos = (rate, frozenset(methods), random.Random(seed), late_seconds)

    def clear_faults(self) -> None:
        self._chaos = None
        self._faults.clear()
        self._delays.clear()
        self._late.clear()
        self._drops.clear()

    # ---- Socket Mode

    @property
    def socket_connected(self) -> asyncio.Event:
        """Set while a Socket Mode client is connected."""
        return self._socket.connected

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        """Every envelope pushed with ``socket_send``, oldest first."""
        return self._socket.envelopes

    async def socket_send(self, type: str, payload: dict[str, Any], timeout: float = 5.0) -> str:
        """Push ``{"envelope_id", "type", "payload", "accepts_response_payload"}`` to the
        connected client (waiting up to ``timeout`` for one); returns the envelope_id."""
        return await self._socket.send(type, payload, timeout)

    async def socket_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The client's acknowledgement ``{"envelope_id", "payload"?}``, once it arrives."""
        try:
            await self._wait_until(lambda: envelope_id in self._socket.acks, timeout)
        except TimeoutError:
            raise TimeoutError(f"envelope {envelope_id} not acked within {timeout}s") from None
        return self._socket.acks[envelope_id]

    # ---- HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, token, parse_error = await _read_args(request)
        try:
            await asyncio.sleep(self._delays.get(method, 0))
        except asyncio.CancelledError:
            # The client gave up on a slow answer; that still counts as an attempt.
            self._record(RecordedCall(method, args, token, self.store.clock(), 0, {}, "abandoned"))
            raise
        self._roll_chaos(method)
        dropped = _take_counted(self._drops, method)
        if dropped is not None and not dropped:
            self._record(RecordedCall(method, args, token, self.store.clock(), 0, {}, "dropped"))
            return self._hang_up(request)
        fault = None if dropped is not None else self._take_fault(method)
        late = _take_counted(self._late, method) if dropped is None else None
        headers: dict[str, str] = {}
        if fault is not None:
            status, body = fault.status, {"ok": False, "error": fault.error}
            label = f"http_{fault.status}" if fault.status != 200 else f"error:{fault.error}"
            if fault.status == 429:
                headers["Retry-After"] = str(fault.retry_after)
        else:
            label = None
            status, body = self._answer(method, args, token, parse_error)
            if dropped is not None:
                label = "dropped_after_work"
            elif late is not None:
                label = "late"
        self._record(RecordedCall(method, args, token, self.store.clock(), status, body, label))
        if dropped is not None:
            return self._hang_up(request)
        if late is not None:
            await asyncio.sleep(float(late))  # the work is done; only the answer is late
        return web.json_response(body, status=status, headers=headers)

    def _roll_chaos(self, method: str) -> None:
        if self._chaos is None:
            return
        rate, methods, dice, late_seconds = self._chaos
        if method not in methods or dice.random() >= rate:
            return
        kind = dice.choice(("429", "500", "late"))
        if kind == "late":
            self.late(method, late_seconds)
        else:
            self.fail(method, status=int(kind))

    def _hang_up(self, request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None, parse_error: str | None
    ) -> tuple[int, dict[str, Any]]:
        if method not in METHODS:
            # Slack answers an unknown method with 404 and this body.
            return 404, {"ok": False, "error": "unknown_method", "req_method": method}
        handler, token_kind = METHODS[method]
        try:
            if parse_error:
                raise SlackMethodError(parse_error)
            self._check_token(token, token_kind)
            return 200, handler(self._ctx, args)
        except SlackMethodError as failure:
            return 200, failure.to_body()

    def _check_token(self, token: str | None, kind: str) -> None:
        if not token:
            raise SlackMethodError("not_authed")
        expected, other = (self.bot_token, self.app_token)
        if kind == "app":
            expected, other = other, expected
        if token == other:
            raise SlackMethodError("not_allowed_token_type")
        if token != expected:
            raise SlackMethodError("invalid_auth")

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """Step 2 of an upload: raw bytes, or a multipart form whose file part is the file."""
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next((v for v in form.values() if hasattr(v, "file")), None)
            content = part.file.read() if part is not None else b""
        else:
            content = await request.read()
        file_id = request.match_info["file_id"]
        if not self.files.receive(file_id, content):
            return web.Response(status=404, text="file_not_found")
        self._record(
            RecordedCall(
                "upload",
                {"file_id": file_id, "bytes": len(content)},
                None,
                self.store.clock(),
                200,
                {"ok": True},
            )
        )
        return web.Response(text=f"OK - {len(content)}")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        target = self._response_targets.get(request.match_info["key"])
        try:
            body = await request.json()
        except ValueError:
            body = None
        if target is None:
            return web.Response(status=404, text="no_service")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        self._record(
            RecordedCall("response_url", body, None, self.store.clock(), 200, {"ok": True})
        )
        store, bot = self.store, self.store.workspace
        text, blocks = body.get("text") or "", body.get("blocks")
        if body.get("delete_original") and target.message_ts:
            store.delete(target.channel, target.message_ts)
        elif is_true(body.get("replace_original")) and target.message_ts:
            changes = {k: body[k] for k in ("text", "blocks") if k in body}
            store.update(target.channel, target.message_ts, changes, by_user=bot.bot_user_id)
        elif body.get("response_type") == "in_channel":
            store.post(
                target.channel,
                text=text,
                blocks=blocks,
                user=bot.bot_user_id,
                bot_id=bot.bot_id,
                thread_ts=body.get("thread_ts") or target.thread_ts,
            )
        else:
            thread_ts = body.get("thread_ts") or target.thread_ts
            store.post_ephemeral(
                target.channel, target.user, text=text, blocks=blocks, thread_ts=thread_ts
            )
        return web.Response(text="ok")

    def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        # Woken by every change here, and every few milliseconds besides: a predicate may read
        # what the bot does after its last Slack call (the database, a state), and must not
        # depend on a later Slack call happening to wake it (issue 11).
        async with asyncio.timeout(timeout):
            while not predicate():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), _RECHECK_SECONDS)


async def _read_args(request: web.Request) -> tuple[dict[str, Any], str | None, str | None]:
    """Query string, then form or JSON body; the token from ``Authorization: Bearer`` or a
    ``token`` field. Returns (args, token, parse error code)."""
    args: dict[str, Any] = dict(request.query)
    parse_error = None
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body, parse_error = {}, "invalid_json"
            if not isinstance(body, dict):
                body, parse_error = {}, "json_not_object"
            args.update(body)
        else:
            form = await request.post()
            args.update(
                {
                    k: v if isinstance(v, str) else getattr(v, "filename", "")
                    for k, v in form.items()
                }
            )
    token = args.pop("token", None)
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        token = bearer.removeprefix("Bearer ").strip()
    for key in _JSON_FIELDS:
        if key in args:
            args[key] = decode_json_field(args[key])
    return args, token, parse_error


def _take_counted(queues: dict[str, list[list[Any]]], method: str) -> Any:
    """The first queued fault of ``method`` (its value), counting it down; None when none."""
    queue = queues.get(method)
    if not queue:
        return None
    value, left = queue[0]
    if left <= 1:
        queue.pop(0)
    else:
        queue[0][1] = left - 1
    return value
