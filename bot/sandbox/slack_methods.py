"""The Web API methods the stub answers, each a function of (context, args) -> answer.

Argument names, error codes and answer shapes follow Slack's Web API spec
(``slack-specs/web-api/slack_web_openapi_v2.json``) and the docs at docs.slack.dev;
a ``SlackMethodError`` becomes ``{"ok": false, "error": ...}`` with HTTP 200.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.signing import trigger_issued_at
from bot.sandbox.slack_files import FileStore
from bot.sandbox.slack_limits import SlackMethodError, check_message, check_view, is_true
from bot.sandbox.slack_store import SlackStore
from bot.sandbox.slack_workspace import Workspace

DEFAULT_TZ = "Europe/Brussels"
HOME_VIEW_BYTES_LIMIT = 250_000  # past it views.publish answers view_too_large
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_TZ_LABELS = {"CET": "Central European Time", "CEST": "Central European Summer Time"}


@dataclass
class MethodContext:
    store: SlackStore
    usergroups: dict[str, list[str]]
    users: dict[str, dict[str, Any]]
    issue_socket_url: Callable[[], str]
    files: FileStore
    upload_root: Callable[[], str]
    trigger_ttl_seconds: float = 3.0
    home_tab_enabled: bool = True  # the manifest's features.app_home.home_tab_enabled
    joined: set[str] = field(default_factory=set)
    used_triggers: set[str] = field(default_factory=set)

    @property
    def workspace(self) -> Workspace:
        return self.store.workspace


Handler = Callable[[MethodContext, dict[str, Any]], dict[str, Any]]


def auth_test(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    return {
        "ok": True,
        "url": ws.url,
        "team": ws.team_name,
        "user": ws.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = ctx.store.resolve_channel(args.get("channel"))
    check_message(args)
    message = ctx.store.post(
        channel,
        text=args.get("text") or "",
        user=ctx.workspace.bot_user_id,
        bot_id=ctx.workspace.bot_id,
        blocks=args.get("blocks"),
        attachments=args.get("attachments"),
        thread_ts=args.get("thread_ts") or None,
        reply_broadcast=is_true(args.get("reply_broadcast")),
        metadata=args.get("metadata"),
    )
    answer = message.to_slack(ctx.workspace)
    return {"ok": True, "channel": channel, "ts": message.ts, "message": answer}


def chat_update(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = ctx.store.resolve_channel(args.get("channel"))
    message = ctx.store.find(channel, str(args.get("ts")))
    changes = {k: args[k] for k in ("text", "blocks", "attachments", "metadata") if k in args}
    after = {"text": message.text, "blocks": message.blocks, "attachments": message.attachments}
    check_message({**after, **changes})
    ctx.store.update(channel, message.ts, changes, by_user=ctx.workspace.bot_user_id)
    answer = message.to_slack(ctx.workspace)
    return {
        "ok": True,
        "channel": channel,
        "ts": message.ts,
        "text": message.text,
        "message": answer,
    }


def chat_post_ephemeral(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = ctx.store.resolve_channel(args.get("channel"))
    user = args.get("user")
    if not isinstance(user, str) or not _USER_ID.match(user):
        raise SlackMethodError("user_not_in_channel")
    check_message(args)
    ephemeral = ctx.store.post_ephemeral(
        channel,
        user,
        text=args.get("text") or "",
        blocks=args.get("blocks"),
        thread_ts=args.get("thread_ts") or None,
    )
    return {"ok": True, "message_ts": ephemeral.message_ts}


def chat_delete(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = ctx.store.resolve_channel(args.get("channel"))
    ts = str(args.get("ts"))
    ctx.store.delete(channel, ts)
    return {"ok": True, "channel": channel, "ts": ts}


def views_open(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    _exchange_trigger(ctx, args)
    check_view(args.get("view"))
    return {"ok": True, "view": ctx.store.open_view(args["view"]).to_slack(ctx.workspace)}


def views_push(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    _exchange_trigger(ctx, args)
    check_view(args.get("view"))
    stored = ctx.store.open_view(args["view"], push=True)
    return {"ok": True, "view": stored.to_slack(ctx.workspace)}


def views_update(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("view_id") and not args.get("external_id"):
        raise SlackMethodError("invalid_arguments", ["[ERROR] view_id or external_id required"])
    check_view(args.get("view"))
    stored = ctx.store.update_view(
        args["view"],
        view_id=args.get("view_id"),
        external_id=args.get("external_id"),
        hash=args.get("hash"),
    )
    return {"ok": True, "view": stored.to_slack(ctx.workspace)}


def views_publish(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    user = args.get("user_id")
    if not isinstance(user, str) or not _USER_ID.match(user):
        raise SlackMethodError("invalid_arguments", ["invalid `user_id`"])
    view = args.get("view")
    if isinstance(view, dict) and view.get("type") != "home":
        raise SlackMethodError(
            "invalid_arguments", ["[ERROR] must be home [json-pointer:/view/type]"]
        )
    check_view(view)
    assert isinstance(view, dict)  # check_view refused anything else
    if not ctx.home_tab_enabled:
        raise SlackMethodError("not_enabled")
    if len(json.dumps(view)) > HOME_VIEW_BYTES_LIMIT:
        raise SlackMethodError("view_too_large")
    stored = ctx.store.publish_home(user, view, hash=args.get("hash"))
    return {"ok": True, "view": {**stored.to_slack(ctx.workspace), "type": "home"}}


def usergroups_users_list(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    group = args.get("usergroup")
    if group not in ctx.usergroups:
        raise SlackMethodError("no_such_subteam")
    return {"ok": True, "users": list(ctx.usergroups[group])}


def users_info(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    user_id = args.get("user")
    if not isinstance(user_id, str) or not _USER_ID.match(user_id):
        raise SlackMethodError("user_not_found")
    return {"ok": True, "user": _user(ctx, user_id)}


def conversations_info(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = ctx.store.resolve_channel(args.get("channel"))
    return {"ok": True, "channel": _channel(ctx, channel)}


def conversations_join(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = ctx.store.resolve_channel(args.get("channel"))
    if channel.startswith("D"):
        raise SlackMethodError("method_not_supported_for_channel_type")
    answer: dict[str, Any] = {"ok": True, "channel": _channel(ctx, channel, is_member=True)}
    if channel in ctx.joined:
        answer.update(warning="already_in_channel")
        answer["response_metadata"] = {"warnings": ["already_in_channel"]}
    ctx.joined.add(channel)
    return answer


def conversations_open(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    users = str(args.get("users") or "").split(",")
    if len(users) != 1 or not _USER_ID.match(users[0]):
        raise SlackMethodError("user_not_found")
    return {"ok": True, "channel": {"id": ctx.store.resolve_channel(users[0])}}


def conversations_history(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    """Newest first, between ``oldest`` (default 0) and ``latest`` (default now), the bounds
    themselves only with ``inclusive``; ``limit`` (default 100, at most 999) a page, the rest
    behind ``response_metadata.next_cursor``. Metadata only with ``include_all_metadata``."""
    channel = _readable(ctx, args.get("channel"))
    oldest = _slack_time(args.get("oldest"), "invalid_ts_oldest", 0.0)
    latest = _slack_time(args.get("latest"), "invalid_ts_latest", float("inf"))
    inclusive = is_true(args.get("inclusive"))
    limit = _limit(args.get("limit"), HISTORY_LIMIT, HISTORY_LIMIT_MAX)
    start = _cursor_ts(args.get("cursor"))

    def within(ts: float) -> bool:
        if inclusive:
            return oldest <= ts <= latest
        return oldest < ts < latest

    newest_first = [
        m
        for m in reversed(ctx.store.messages(channel))
        if within(float(m.ts)) and (start is None or float(m.ts) <= start)
    ]
    page, rest = newest_first[:limit], newest_first[limit:]
    metadata = is_true(args.get("include_all_metadata"))
    answer: dict[str, Any] = {
        "ok": True,
        "messages": [_listed(m.to_slack(ctx.workspace), metadata) for m in page],
        "has_more": bool(rest),
        "pin_count": 0,
    }
    if rest:
        cursor = base64.b64encode(f"next_ts:{rest[0].ts}".encode()).decode()
        answer["response_metadata"] = {"next_cursor": cursor}
    return answer


def conversations_replies(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    """Parent then replies, oldest first; metadata only with ``include_all_metadata``."""
    channel = _readable(ctx, args.get("channel"))
    thread = ctx.store.thread(channel, str(args.get("ts")))
    if not thread:
        raise SlackMethodError("thread_not_found")
    metadata = is_true(args.get("include_all_metadata"))
    messages = [_listed(m.to_slack(ctx.workspace), metadata) for m in thread]
    return {"ok": True, "messages": messages, "has_more": False}


def _readable(ctx: MethodContext, name: object) -> str:
    """The channel, if a bot token may read it: Slack lets a bot read only conversations it is
    a member of (docs.slack.dev/reference/methods/conversations.history, "Bot token: any
    conversation the relevant bot is a member of"). Posting with ``chat:write.public`` does not
    make it one; ``conversations.join`` does. Private channels (``G…``) stand for channels the
    bot was invited to, as it must be to post there at all."""
    channel = ctx.store.resolve_channel(name)
    if channel.startswith("C") and channel not in ctx.joined:
        raise SlackMethodError("not_in_channel")
    return channel


HISTORY_LIMIT = 100
HISTORY_LIMIT_MAX = 999


def _listed(message: dict[str, Any], metadata: bool) -> dict[str, Any]:
    """A message as a listing shows it: Slack leaves its metadata out unless asked for all."""
    if not metadata:
        message.pop("metadata", None)
    return message


def _slack_time(value: Any, error: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SlackMethodError(error) from None


def _limit(value: Any, default: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise SlackMethodError("invalid_arguments", ["[ERROR] invalid `limit`"]) from None
    return default if limit < 1 else min(limit, maximum)


def _cursor_ts(value: Any) -> float | None:
    """A cursor this method gave out (``next_ts:<ts>``, base64), as the ts a page starts at."""
    if value is None or value == "":
        return None
    try:
        kind, _, ts = base64.b64decode(str(value), validate=True).decode().partition(":")
        if kind != "next_ts":
            raise ValueError(kind)
        return float(ts)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise SlackMethodError("invalid_cursor") from None


def reactions_add(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("name"):
        raise SlackMethodError("invalid_name")
    channel = ctx.store.resolve_channel(args.get("channel"))
    name = str(args["name"]).strip(":")
    ctx.store.add_reaction(channel, str(args.get("timestamp")), name, ctx.workspace.bot_user_id)
    return {"ok": True}


def files_get_upload_url_external(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    return ctx.files.reserve(args, ctx.upload_root())


def files_complete_upload_external(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    return ctx.files.complete(args, ws.bot_user_id, ws.bot_id)


def apps_connections_open(ctx: MethodContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "url": ctx.issue_socket_url()}


# method -> (handler, kind of token it takes)
METHODS: dict[str, tuple[Handler, str]] = {
    "auth.test": (auth_test, "bot"),
    "chat.postMessage": (chat_post_message, "bot"),
    "chat.update": (chat_update, "bot"),
    "chat.postEphemeral": (chat_post_ephemeral, "bot"),
    "chat.delete": (chat_delete, "bot"),
    "views.open": (views_open, "bot"),
    "views.push": (views_push, "bot"),
    "views.update": (views_update, "bot"),
    "views.publish": (views_publish, "bot"),
    "usergroups.users.list": (usergroups_users_list, "bot"),
    "users.info": (users_info, "bot"),
    "conversations.info": (conversations_info, "bot"),
    "conversations.join": (conversations_join, "bot"),
    "conversations.open": (conversations_open, "bot"),
    "conversations.history": (conversations_history, "bot"),
    "conversations.replies": (conversations_replies, "bot"),
    "reactions.add": (reactions_add, "bot"),
    "files.getUploadURLExternal": (files_get_upload_url_external, "bot"),
    "files.completeUploadExternal": (files_complete_upload_external, "bot"),
    "apps.connections.open": (apps_connections_open, "app"),
}


def _exchange_trigger(ctx: MethodContext, args: dict[str, Any]) -> None:
    """A trigger opens one view, within 3 seconds of the click that made it."""
    trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
    if not trigger_id:
        raise SlackMethodError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
    if trigger_id in ctx.used_triggers:
        raise SlackMethodError("trigger_exchanged")
    issued_at = trigger_issued_at(str(trigger_id))
    if issued_at is not None and ctx.store.clock() - issued_at > ctx.trigger_ttl_seconds:
        raise SlackMethodError("trigger_expired")
    ctx.used_triggers.add(trigger_id)


def _user(ctx: MethodContext, user_id: str) -> dict[str, Any]:
    overrides = dict(ctx.users.get(user_id, {}))
    name = overrides.pop("name", user_id.removeprefix("U0").lower())
    real_name = overrides.pop("real_name", name.title())
    zone_name = overrides.pop("tz", DEFAULT_TZ)
    now = datetime.fromtimestamp(ctx.store.clock(), UTC).astimezone(ZoneInfo(zone_name))
    offset = now.utcoffset()
    user = {
        "id": user_id,
        "team_id": ctx.workspace.team_id,
        "name": name,
        "deleted": False,
        "real_name": real_name,
        "tz": zone_name,
        "tz_label": _TZ_LABELS.get(now.tzname() or "", now.tzname()),
        "tz_offset": int(offset.total_seconds()) if offset else 0,
        "is_admin": False,
        "is_owner": False,
        "is_bot": user_id == ctx.workspace.bot_user_id,
        "is_app_user": False,
        "profile": {
            "real_name": real_name,
            "display_name": name,
            "real_name_normalized": real_name,
            "display_name_normalized": name,
            "team": ctx.workspace.team_id,
        },
    }
    user.update(overrides)
    return user


def _channel(ctx: MethodContext, channel: str, is_member: bool | None = None) -> dict[str, Any]:
    is_im = channel.startswith("D")
    return {
        "id": channel,
        "name": ctx.store.channel_name(channel),
        "is_channel": not is_im,
        "is_group": False,
        "is_im": is_im,
        "is_private": is_im,
        "is_archived": False,
        "is_member": is_member if is_member is not None else channel in ctx.joined,
        "created": 1700000000,
        "creator": ctx.workspace.bot_user_id,
    }
