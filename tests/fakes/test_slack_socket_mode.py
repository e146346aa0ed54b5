"""Socket Mode against the stub: slack_sdk's aiohttp client, and Bolt on top of it."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SlackStub, slash_command_payload


async def test_the_sdk_client_connects_receives_a_slash_command_and_acks_it(
    slack_stub: SlackStub,
) -> None:
    client = SocketModeClient(
        app_token=APP_TOKEN,
        web_client=AsyncWebClient(base_url=slack_stub.base_url),
        auto_reconnect_enabled=False,
    )
    greetings: list[dict[str, Any]] = []
    requests: list[SocketModeRequest] = []

    async def on_message(
        _: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        greetings.append(message)

    async def on_request(sm: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        requests.append(request)
        ack = SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "On it"})
        await sm.send_socket_mode_response(ack)

    client.message_listeners.append(on_message)
    client.socket_mode_request_listeners.append(on_request)
    payload = slash_command_payload("/upgrade", "status")
    try:
        await client.connect()
        envelope_id = await slack_stub.socket_send("slash_commands", payload)
        ack = await slack_stub.socket_ack(envelope_id)
    finally:
        await client.close()

    assert ack == {"envelope_id": envelope_id, "payload": {"text": "On it"}}
    assert [(r.type, r.payload) for r in requests] == [("slash_commands", payload)]
    assert greetings[0]["type"] == "hello"
    [opened] = slack_stub.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN


async def test_the_stub_notices_when_the_client_goes_away(slack_stub: SlackStub) -> None:
    client = SocketModeClient(
        app_token=APP_TOKEN,
        web_client=AsyncWebClient(base_url=slack_stub.base_url),
        auto_reconnect_enabled=False,
    )
    await client.connect()
    await asyncio.wait_for(slack_stub.socket_connected.wait(), 5)

    await client.close()
    await slack_stub.wait_until(lambda: not slack_stub.socket_connected.is_set())

    assert not slack_stub.socket_connected.is_set()


async def test_a_bolt_app_in_socket_mode_acks_the_command_and_posts_through_the_stub(
    slack_stub: SlackStub,
) -> None:
    app = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=slack_stub.base_url))

    @app.command("/upgrade")
    async def upgrade(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack("Looking it up…")
        await client.chat_postMessage(
            channel=command["channel_id"], text=f"status: {command['text']}"
        )

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    try:
        await handler.connect_async()
        envelope_id = await slack_stub.socket_send(
            "slash_commands", slash_command_payload(text="prod")
        )
        ack = await slack_stub.socket_ack(envelope_id)
        [posted] = await slack_stub.wait_for("chat.postMessage")
    finally:
        await handler.close_async()

    assert ack["payload"]["text"] == "Looking it up…"
    # Bolt's per-request client adds the payload's team_id to every call it makes.
    assert posted.args == {"channel": "C0UPGRADES", "text": "status: prod", "team_id": "T0SANDBOX"}
    assert [m.text for m in slack_stub.messages("C0UPGRADES")] == ["status: prod"]
