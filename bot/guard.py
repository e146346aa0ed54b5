"""Run a listener's work after Slack's ack, and turn what went wrong into the sentence a person
reads: our own errors become their sentence, anything else "something went wrong (ref abc123)"
with the same ref in the log. Nothing here posts to a channel; answers are ephemeral."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable
from typing import Any

from pydantic import ValidationError

from bot import messages
from bot.context import BotContext
from bot.domain.errors import InputError, UpgradeBotError
from bot.threads import tell
from storage.health import storage_failure

log = logging.getLogger(__name__)


async def guarded(
    ctx: BotContext,
    channel: str,
    user: str,
    work: Awaitable[str | None],
    *,
    command: str | None = None,
    thread_ts: str | None = None,
) -> None:
    """Run work after the ack; tell the user its result or what went wrong."""
    ctx.track()
    try:
        result = await work
    except InputError as error:
        result = messages.with_usage(error.message, error.hint, command or "help", error.syntax)
    except UpgradeBotError as error:
        result = error.message
    except Exception as error:
        ref = secrets.token_hex(3)
        log.exception("unexpected error (ref %s)", ref)
        result = storage_failure(error) or messages.unexpected(ref)
    if result:
        await tell(ctx, channel, user, result, thread_ts=thread_ts)


def error_text(error: UpgradeBotError, command: str) -> str:
    """What a refused command answers: the sentence, with the usage line for bad input."""
    if isinstance(error, InputError):
        return messages.with_usage(error.message, error.hint, command, error.syntax)
    return error.message


async def on_error(ctx: BotContext, error: Exception, body: dict[str, Any]) -> None:
    """Bolt's last resort: log with a ref, and tell the person the ref when we know where."""
    ref = secrets.token_hex(3)
    log.error("unexpected error (ref %s)", ref, exc_info=error)
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if isinstance(error, ValidationError) or not (user and channel):
        return
    await tell(ctx, channel, user, messages.unexpected(ref))


def metadata(text: str) -> dict[str, Any]:
    """A modal's ``private_metadata`` as a dict; anything unreadable is an empty one."""
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


async def text_of(reply: Awaitable[Any]) -> str:
    """The text of a command's reply, for :func:`guarded`."""
    return str((await reply).text)
