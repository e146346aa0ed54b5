"""Socket Mode as Slack serves it: a one-time ticket URL, ``hello``, envelopes and acks.

apps.connections.open hands out ``ws://.../link/?ticket=...``; the client connects, gets
``{"type": "hello", ...}``, receives envelopes and answers each with
``{"envelope_id": ..., "payload"?: ...}`` (https://docs.slack.dev/apis/events-api/using-socket-mode/).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

# Slack lets the app answer slash commands and interactions through the ack, not events.
_ACCEPTS_RESPONSE = {"slash_commands": True, "interactive": True, "events_api": False}


class SocketModeHub:
    def __init__(self, app_id: str, notify: Callable[[], None]) -> None:
        self.app_id = app_id
        self.connected = asyncio.Event()
        self.envelopes: list[dict[str, Any]] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self._notify = notify
        self._sockets: list[web.WebSocketResponse] = []
        self._tickets: set[str] = set()

    def issue_url(self, root_url: str) -> str:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        host = root_url.removeprefix("http://")
        return f"ws://{host}/link/?ticket={ticket}&app_id={self.app_id}"

    async def send(self, type: str, payload: dict[str, Any], timeout: float) -> str:
        """Envelopes go to the newest connection, as Slack picks one of the app's sockets."""
        await asyncio.wait_for(self.connected.wait(), timeout)
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": type,
            "payload": payload,
            "accepts_response_payload": _ACCEPTS_RESPONSE.get(type, True),
        }
        if type == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        self.envelopes.append(envelope)
        await self._sockets[-1].send_json(envelope)
        return str(envelope["envelope_id"])

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            raise web.HTTPUnauthorized(text="invalid ticket")
        self._tickets.discard(ticket)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json(self._hello())
        self.connected.set()
        self._notify()
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._receive(message.data)
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self.connected.clear()
            self._notify()
        return socket

    async def close_all(self) -> None:
        for socket in list(self._sockets):
            await socket.close(message=b"stub stopping")

    def _receive(self, raw: str) -> None:
        try:
            ack = json.loads(raw)
        except ValueError:
            return
        if isinstance(ack, dict) and "envelope_id" in ack:
            self.acks[str(ack["envelope_id"])] = ack
            self._notify()

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self._sockets),
            "debug_info": {
                "host": "applink-stub-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
