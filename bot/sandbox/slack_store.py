"""What the stub's Slack workspace holds: messages, threads, ephemerals, open modals.

``SlackStore`` changes only through its verbs (post, update, delete, ...), each of which
emits a ``StubEvent`` to every subscriber, so a browser page can mirror the channel by
replaying events. It knows Slack's rules about state (a reply to a reply joins the parent's
thread, an edit keeps the old version, a view hash must match) but nothing about HTTP.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.slack_limits import SlackMethodError
from bot.sandbox.slack_workspace import DEFAULT_WORKSPACE, Workspace

VIEW_STACK_LIMIT = 3


@dataclass
class MessageVersion:
    """A message as it was before an edit replaced it."""

    text: str
    blocks: list[dict[str, Any]] | None
    attachments: list[dict[str, Any]] | None
    replaced_at_ts: str


@dataclass
class StoredMessage:
    channel: str
    ts: str
    text: str
    user: str
    bot_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    metadata: dict[str, Any] | None = None
    history: list[MessageVersion] = field(default_factory=list)
    edited_ts: str | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    files: list[dict[str, Any]] | None = None  # the file objects shared with this message

    @property
    def edited(self) -> bool:
        return self.edited_ts is not None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_slack(self, workspace: Workspace = DEFAULT_WORKSPACE) -> dict[str, Any]:
        """The message object Slack returns in API answers and interaction payloads."""
        message: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        message["user"] = self.user
        message["team"] = workspace.team_id
        if self.bot_id:
            message.update(bot_id=self.bot_id, app_id=workspace.app_id)
        for key in ("blocks", "attachments", "thread_ts", "metadata", "files"):
            value = getattr(self, key)
            if value is not None:
                message[key] = copy.deepcopy(value)
        if self.edited_ts:
            message["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.reactions:
            message["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        return message


@dataclass
class StoredEphemeral:
    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None


@dataclass
class StoredView:
    id: str
    view: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str = ""

    def to_slack(self, workspace: Workspace = DEFAULT_WORKSPACE) -> dict[str, Any]:
        """The view object Slack returns: the submitted view plus Slack's own fields."""
        answer = {
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            **copy.deepcopy(self.view),
        }
        answer.update(
            id=self.id,
            team_id=workspace.team_id,
            hash=self.hash,
            root_view_id=self.root_view_id,
            previous_view_id=self.previous_view_id,
            external_id=self.external_id,
            app_id=workspace.app_id,
            app_installed_team_id=workspace.team_id,
            bot_id=workspace.bot_id,
        )
        return answer


@dataclass(frozen=True)
class StubEvent:
    """One change to the workspace, for subscribers (tests, the browser sandbox)."""

    # message_posted, message_updated, message_deleted, reaction_added, ephemeral_posted,
    # view_opened, view_pushed, view_updated, view_closed
    kind: str
    channel: str | None
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "channel": self.channel, "data": self.data}


class SlackStore:
    def __init__(
        self,
        workspace: Workspace = DEFAULT_WORKSPACE,
        channels: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.workspace = workspace
        self.channels: dict[str, str] = dict(channels or {})
        # Without an explicit channel list every channel id exists, as in a big workspace.
        self.is_channel_list_strict = channels is not None
        self.clock = clock
        self.views: dict[str, StoredView] = {}
        self.homes: dict[str, StoredView] = {}  # user id -> their App Home tab
        self._messages: dict[str, list[StoredMessage]] = {}
        self._ephemerals: list[StoredEphemeral] = []
        self._last_ts_micros = 0
        self._view_count = 0
        self._subscribers: list[asyncio.Queue[StubEvent]] = []
        # Called synchronously with every event, after the change is made.
        self.listeners: list[Callable[[StubEvent], None]] = []

    # ---- reading

    def messages(self, channel: str) -> list[StoredMessage]:
        """The channel's timeline: top-level messages and broadcast replies, oldest first."""
        return [m for m in self._messages.get(channel, []) if not m.is_reply or m.reply_broadcast]

    def thread(self, channel: str, ts: str) -> list[StoredMessage]:
        """Parent then replies, oldest first, as conversations.replies lists them."""
        return [m for m in self._messages.get(channel, []) if ts in (m.ts, m.thread_ts)]

    def find(self, channel: str, ts: str) -> StoredMessage:
        for message in self._messages.get(channel, []):
            if message.ts == ts:
                return message
        raise SlackMethodError("message_not_found")

    def ephemerals(self, user: str | None = None) -> list[StoredEphemeral]:
        return [e for e in self._ephemerals if user is None or e.user == user]

    def channel_name(self, channel: str) -> str:
        return self.channels.get(channel, channel.lower())

    def resolve_channel(self, channel: Any) -> str:
        """A channel id, a ``#name``, or a user id (which means the DM with that user)."""
        if not isinstance(channel, str) or not channel:
            raise SlackMethodError("channel_not_found")
        if channel.startswith("#"):
            for channel_id, name in self.channels.items():
                if name == channel[1:]:
                    return channel_id
            raise SlackMethodError("channel_not_found")
        if channel[0] in "UW":
            return "D" + channel[1:]
        if channel[0] == "D" or not self.is_channel_list_strict or channel in self.channels:
            return channel
        raise SlackMethodError("channel_not_found")

    # ---- changing

    def next_ts(self) -> str:
        """Slack timestamps: epoch seconds with 6 decimals, unique and increasing."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts_micros + 100)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def post(
        self,
        channel: str,
        *,
        text: str,
        user: str,
        bot_id: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> StoredMessage:
        if thread_ts is not None:
            # A reply to a reply lands in the parent's thread, as in Slack.
            for existing in self._messages.get(channel, []):
                if existing.ts == thread_ts and existing.thread_ts:
                    thread_ts = existing.thread_ts
        message = StoredMessage(
            channel=channel,
            ts=self.next_ts(),
            text=text,
            user=user,
            bot_id=bot_id,
            blocks=blocks,
            attachments=attachments,
            thread_ts=thread_ts,
            reply_broadcast=reply_broadcast and thread_ts is not None,
            metadata=metadata,
            files=files,
        )
        self._messages.setdefault(channel, []).append(message)
        if thread_ts is not None:
            parent = next((m for m in self._messages[channel] if m.ts == thread_ts), None)
            if parent is not None and parent.thread_ts is None:
                parent.thread_ts = parent.ts
        self._emit("message_posted", channel, message.to_slack(self.workspace))
        return message

    def update(self, channel: str, ts: str, changes: dict[str, Any], by_user: str) -> StoredMessage:
        """Fields absent from ``changes`` keep their value; ``blocks=[]`` removes blocks."""
        message = self.find(channel, ts)
        if message.user != by_user:
            raise SlackMethodError("cant_update_message")
        message.history.append(
            MessageVersion(message.text, message.blocks, message.attachments, self.next_ts())
        )
        message.edited_ts = message.history[-1].replaced_at_ts
        if "text" in changes:
            message.text = changes["text"] or ""
        for key in ("blocks", "attachments", "metadata"):
            if key in changes:
                setattr(message, key, changes[key] or None)
        self._emit("message_updated", channel, message.to_slack(self.workspace))
        return message

    def delete(self, channel: str, ts: str) -> None:
        message = self.find(channel, ts)
        self._messages[channel].remove(message)
        self._emit("message_deleted", channel, {"ts": ts, "thread_ts": message.thread_ts})

    def add_reaction(self, channel: str, ts: str, name: str, user: str) -> None:
        message = self.find(channel, ts)
        users = message.reactions.setdefault(name, [])
        if user in users:
            raise SlackMethodError("already_reacted")
        users.append(user)
        self._emit("reaction_added", channel, {"ts": ts, "name": name, "user": user})

    def post_ephemeral(
        self,
        channel: str,
        user: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> StoredEphemeral:
        ephemeral = StoredEphemeral(channel, user, self.next_ts(), text, blocks, thread_ts)
        self._ephemerals.append(ephemeral)
        data: dict[str, Any] = {"user": user, "message_ts": ephemeral.message_ts, "text": text}
        data.update(blocks=copy.deepcopy(blocks), thread_ts=thread_ts)
        self._emit("ephemeral_posted", channel, data)
        return ephemeral

    def open_view(self, view: dict[str, Any], *, push: bool = False) -> StoredView:
        parent = next(reversed(self.views.values()), None) if push else None
        if parent is not None and self._stack_depth(parent) >= VIEW_STACK_LIMIT:
            raise SlackMethodError("push_limit_reached")
        self._view_count += 1
        view_id = f"V{self._view_count:010d}"
        stored = StoredView(
            id=view_id,
            view=view,
            hash=self._new_hash(),
            root_view_id=parent.root_view_id if parent else view_id,
            previous_view_id=parent.id if parent else None,
            external_id=str(view.get("external_id", "")),
        )
        self.views[view_id] = stored
        kind = "view_pushed" if push else "view_opened"
        self._emit(kind, None, stored.to_slack(self.workspace))
        return stored

    def update_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None,
        external_id: str | None,
        hash: str | None,
    ) -> StoredView:
        stored = next(
            (
                v
                for v in self.views.values()
                if v.id == view_id or (external_id and v.external_id == external_id)
            ),
            None,
        )
        if stored is None:
            raise SlackMethodError("not_found")
        if hash is not None and hash != stored.hash:
            raise SlackMethodError("hash_conflict")
        stored.view, stored.hash = view, self._new_hash()
        stored.external_id = str(view.get("external_id", stored.external_id))
        self._emit("view_updated", None, stored.to_slack(self.workspace))
        return stored

    def publish_home(self, user: str, view: dict[str, Any], *, hash: str | None) -> StoredView:
        """views.publish: the user's Home tab, created or replaced (``hash`` guards a race)."""
        stored = self.homes.get(user)
        if stored is not None and hash is not None and hash != stored.hash:
            raise SlackMethodError("hash_conflict")
        if stored is None:
            self._view_count += 1
            view_id = f"V{self._view_count:010d}"
            stored = StoredView(id=view_id, view=view, hash=self._new_hash(), root_view_id=view_id)
            self.homes[user] = stored
        else:
            stored.view, stored.hash = view, self._new_hash()
        stored.external_id = str(view.get("external_id", ""))
        self._emit("home_published", None, {"user": user, **stored.to_slack(self.workspace)})
        return stored

    def close_view(self, view_id: str) -> None:
        """The user closed or submitted a modal: it and the views pushed on it disappear."""
        closing = self.views.get(view_id)
        if closing is None:
            raise SlackMethodError("not_found")
        for stored in list(self.views.values()):
            if stored.id == view_id or (
                closing.id == closing.root_view_id and stored.root_view_id == view_id
            ):
                del self.views[stored.id]
                self._emit("view_closed", None, {"id": stored.id})

    # ---- subscribers

    def subscribe(self) -> asyncio.Queue[StubEvent]:
        queue: asyncio.Queue[StubEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[StubEvent]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def _emit(self, kind: str, channel: str | None, data: dict[str, Any]) -> None:
        event = StubEvent(kind, channel, data)
        for queue in self._subscribers:
            queue.put_nowait(event)
        for listener in self.listeners:
            listener(event)

    def _new_hash(self) -> str:
        return f"{self.next_ts()}.{self._view_count:08x}"

    def _stack_depth(self, view: StoredView) -> int:
        return sum(1 for v in self.views.values() if v.root_view_id == view.root_view_id)
