"""/upgrade export <id> — the change record of a window, as markdown and JSON.

The answer is one ephemeral message, so it must fit Slack's 40,000-character message text.
When the JSON would not fit it is left out, and the reply says how to get it on the bot's host;
when even the markdown would not fit it is cut at a line, its long parts (check results,
timeline) being last.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from slack_sdk.errors import SlackClientError

from bot import messages
from bot.context import BotContext
from bot.domain.errors import InputError, UnknownWindow
from bot.escape import escape_entities
from bot.record import ChangeRecord, build_record, to_json, to_markdown
from commands.base import Invocation, Reply, parse_window_id
from storage import get_window

NAME = "export"
QUICK = True

MESSAGE_TEXT_LIMIT = 40_000  # Slack truncates a message's text beyond this
AUTH_TEST_TIMEOUT_SECONDS = 1.0  # a quick command answers within Slack's 3-second ack

log = logging.getLogger(__name__)


def parse(args: list[str]) -> int:
    if len(args) != 1:
        raise InputError(messages.missing_arguments(NAME), syntax=True)
    return parse_window_id(args[0])


async def run(ctx: BotContext, invocation: Invocation, window_id: int) -> Reply:
    if get_window(ctx.db, window_id) is None:
        raise UnknownWindow(f"#{window_id}")
    workspace_url = await read_workspace_url(ctx)
    record = build_record(ctx.db, window_id, tz=ctx.tz, workspace_url=workspace_url)
    return Reply(to_slack_text(record))


async def read_workspace_url(ctx: BotContext) -> str | None:
    """The workspace's address (``https://acme.slack.com/``) for permalinks; None if Slack is
    slow or says no, and the record links with a ``slack://`` deep link instead."""
    try:
        answer = await asyncio.wait_for(ctx.client.auth_test(), AUTH_TEST_TIMEOUT_SECONDS)
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as error:
        log.warning("auth.test failed, linking the thread with slack://: %s", error)
        return None
    url = answer.get("url")
    return url if isinstance(url, str) and url else None


def to_slack_text(record: ChangeRecord, limit: int = MESSAGE_TEXT_LIMIT) -> str:
    """The markdown and the JSON, escaped for Slack, within ``limit`` characters."""
    # Entities only: the record is a markdown document to copy into a change ticket, so no
    # zero-width spaces; with &, < and > escaped no mention or link can form in Slack.
    markdown = escape_entities(to_markdown(record)).rstrip("\n")
    # A backtick in a reason would close the code block early; \u0060 is the same JSON.
    json_text = escape_entities(to_json(record)).replace("`", "\\u0060")
    full = f"{markdown}\n\n```json\n{json_text}\n```"
    if len(full) <= limit:
        return full
    note = json_left_out(record.window.id)
    if len(markdown) + len(note) + 2 <= limit:
        return f"{markdown}\n\n{note}"
    note = record_cut(record.window.id)
    budget = max(limit - len(note) - 2, 0)
    cut = markdown[: markdown.rfind("\n", 0, budget) + 1 or budget].rstrip("\n")
    return f"{cut}\n\n{note}"


def json_left_out(window_id: int) -> str:
    return (
        f"_The JSON is left out: with it the record is longer than Slack's "
        f"{MESSAGE_TEXT_LIMIT:,}-character message limit. Run `upgradebot export {window_id} "
        f"--json` on the bot's host to get it._"
    )


def record_cut(window_id: int) -> str:
    return (
        f"_The record is cut here: it is longer than Slack's {MESSAGE_TEXT_LIMIT:,}-character "
        f"message limit. Run `upgradebot export {window_id}` (markdown) or "
        f"`upgradebot export {window_id} --json` on the bot's host to get all of it._"
    )
