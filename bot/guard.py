"""Run a listener's work after Slack's ack, and turn what went wrong into the sentence a person
reads: our own errors become their sentence, anything else "something went wrong (ref abc123)"
with the same ref in the log. Nothing here posts to a channel; answers are ephemeral."""

from __future__ import annotations

import hashlib
import hmac
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


def _signature(ctx: BotContext, data: dict[str, Any]) -> str:
    """An HMAC over a modal's metadata, keyed by the bot's own token: only a modal the bot
    opened carries a valid one."""
    key = hashlib.sha256(f"upgradebot-modal:{ctx.client.token or ''}".encode()).digest()
    body = json.dumps({k: v for k, v in data.items() if k != "sig"}, sort_keys=True)
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


async def open_modal(ctx: BotContext, trigger_id: str | None, view: dict[str, Any]) -> None:
    """views.open, with the metadata signed so its submission can be trusted (issue 15: a
    submission for a modal the bot never opened is refused)."""
    data = metadata(str(view.get("private_metadata") or ""))
    signed = {**view, "private_metadata": json.dumps({**data, "sig": _signature(ctx, data)})}
    await ctx.client.views_open(trigger_id=trigger_id, view=signed)


async def form_metadata(ctx: BotContext, ack: Any, text: str, user: str) -> dict[str, Any] | None:
    """The metadata of a submitted modal the bot opened itself; otherwise the submission is
    acknowledged, the person told in one sentence, and None returned: nothing is done."""
    data = metadata(text)
    sig = str(data.get("sig", ""))
    if sig and hmac.compare_digest(sig, _signature(ctx, data)):
        return data
    await ack()
    log.warning("a form submission without a valid signature from %s was refused", user)
    channel = str(data.get("channel") or "")
    if channel:
        await tell(ctx, channel, user, messages.form_not_ours())
    return None


async def text_of(reply: Awaitable[Any]) -> str:
    """The text of a command's reply, for :func:`guarded`."""
    return str((await reply).text)
