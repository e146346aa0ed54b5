"""Fixtures for tests that talk to Slack: a started ``SlackStub`` and a client bound to it.

Loaded for the whole suite by ``tests/conftest.py`` (``pytest_plugins``). The signing
helpers are re-exported so a test needs one import for everything Slack-shaped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.signing import (
    UNSET_RESPONSE_URL,
    block_action_payload,
    checkboxes_value,
    datepicker_value,
    interaction_body,
    new_trigger_id,
    plain_text_value,
    radio_buttons_value,
    sign,
    slash_command_body,
    slash_command_payload,
    static_select_value,
    timepicker_value,
    users_select_value,
    view_submission_payload,
)
from bot.sandbox.slack_stub import RecordedCall, SlackStub

__all__ = [
    "APP_TOKEN",
    "BOT_TOKEN",
    "UNSET_RESPONSE_URL",
    "RecordedCall",
    "SlackStub",
    "block_action_payload",
    "checkboxes_value",
    "datepicker_value",
    "interaction_body",
    "new_trigger_id",
    "plain_text_value",
    "radio_buttons_value",
    "sign",
    "slack_client",
    "slack_stub",
    "slash_command_body",
    "slash_command_payload",
    "static_select_value",
    "timepicker_value",
    "users_select_value",
    "view_submission_payload",
]

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"


@pytest.fixture
async def slack_stub() -> AsyncIterator[SlackStub]:
    """A Slack stand-in on 127.0.0.1 with one admin group (S0ADMINS: U0ANNA)."""
    stub = SlackStub(bot_token=BOT_TOKEN, app_token=APP_TOKEN, usergroups={"S0ADMINS": ["U0ANNA"]})
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()


@pytest.fixture
def slack_client(slack_stub: SlackStub) -> AsyncWebClient:
    """The real slack_sdk client, pointed at the stub with the bot token.

    It opens and closes an aiohttp session per call (no ``session=``), so nothing leaks.
    """
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack_stub.base_url)
