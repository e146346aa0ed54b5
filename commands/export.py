"""/upgrade export <id> — the change record of a window, as two files in the window's thread.

``change-record-<id>.md`` (for people) and ``change-record-<id>.json`` (for tools) go up through
Slack's files API (``files_upload_v2``: getUploadURLExternal, the bytes, completeUploadExternal;
scope ``files:write``), shared in the proposal's thread, so the record sits where the window was
decided. User ids are followed by the names Slack gives them (the JSON adds a ``people`` map and
keeps the ids as they are); an id Slack does not know stays as it is. The person who asked gets
one ephemeral line saying where the files are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import messages
from bot.context import BotContext
from bot.domain.errors import InputError, UnknownWindow, UpgradeBotError
from bot.record import ChangeRecord, build_record, to_json, to_markdown
from commands.base import Invocation, Reply, parse_window_id
from storage import get_window

NAME = "export"
QUICK = False  # uploads two files after the ack

AUTH_TEST_TIMEOUT_SECONDS = 1.0
USERS_INFO_TIMEOUT_SECONDS = 3.0
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

log = logging.getLogger(__name__)


def parse(args: list[str]) -> int:
    if len(args) != 1:
        raise InputError(messages.missing_arguments(NAME), syntax=True)
    return parse_window_id(args[0])


async def run(ctx: BotContext, invocation: Invocation, window_id: int) -> Reply:
    window = get_window(ctx.db, window_id)
    if window is None:
        raise UnknownWindow(f"#{window_id}")
    workspace_url = await read_workspace_url(ctx)
    record = build_record(ctx.db, window_id, tz=ctx.tz, workspace_url=workspace_url)
    names = await read_names(ctx, people_in(record))
    markdown, data = to_files(record, names)
    channel = window.channel or invocation.channel
    files = file_names(window_id)
    try:
        await ctx.client.files_upload_v2(
            file_uploads=[
                {"content": markdown, "filename": files[0], "title": f"Change record #{window_id}"},
                {
                    "content": data,
                    "filename": files[1],
                    "title": f"Change record #{window_id} (JSON)",
                },
            ],
            channel=channel,
            thread_ts=window.message_ts,
            initial_comment=f"Change record of #{window_id}, exported by <@{invocation.user}>.",
        )
    except SlackApiError as error:
        code = str(error.response.get("error"))
        log.warning("export of #%s: the upload failed: %s", window_id, code)
        raise UpgradeBotError(messages.export_failed(window_id, code)) from None
    return Reply(messages.exported(window_id, files))


def file_names(window_id: int) -> tuple[str, str]:
    return f"change-record-{window_id}.md", f"change-record-{window_id}.json"


def people_in(record: ChangeRecord) -> list[str]:
    """Every Slack user id the record names, in order of appearance."""
    found = [record.window.proposer, record.window.decided_by or ""]
    found += [ack.user for gate in record.gates for ack in gate.acknowledgements]
    found += [entry.actor for entry in record.timeline]
    return list(dict.fromkeys(u for u in found if _SLACK_ID.match(u)))


def to_files(record: ChangeRecord, names: dict[str, str]) -> tuple[str, str]:
    """The markdown with each known id followed by its name, and the JSON with ``people``."""
    markdown = to_markdown(record)
    for user_id, name in names.items():
        markdown = re.sub(rf"(?<![\w@]){re.escape(user_id)}(?!\w)", f"{name} ({user_id})", markdown)
    data = json.loads(to_json(record))
    data["people"] = dict(sorted(names.items()))
    return markdown, json.dumps(data, indent=2, ensure_ascii=False) + "\n"


async def read_names(ctx: BotContext, user_ids: list[str]) -> dict[str, str]:
    """Slack's name for each id (real name, else display name); ids Slack refuses are left out."""

    async def one(user_id: str) -> tuple[str, str | None]:
        try:
            answer = await ctx.client.users_info(user=user_id)
        except (SlackClientError, aiohttp.ClientError, OSError) as error:
            log.info("users.info %s failed, the record keeps the id: %s", user_id, error)
            return user_id, None
        user = answer.get("user") or {}
        profile = user.get("profile") or {}
        name = user.get("real_name") or profile.get("real_name") or profile.get("display_name")
        return user_id, str(name) if name else None

    try:
        found = await asyncio.wait_for(
            asyncio.gather(*(one(u) for u in user_ids)), USERS_INFO_TIMEOUT_SECONDS
        )
    except TimeoutError:
        log.warning("users.info too slow, the record keeps the ids")
        return {}
    return {user_id: name for user_id, name in found if name}


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
