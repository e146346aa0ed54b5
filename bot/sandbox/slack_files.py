"""Slack's file upload, the current way (``files.upload`` is deprecated): three steps.

1. ``files.getUploadURLExternal(filename, length)`` reserves a file id and an upload URL;
2. the bytes are POSTed to that URL (raw, or multipart with a ``file`` part);
3. ``files.completeUploadExternal(files=[{"id", "title"}], channel_id, thread_ts,
   initial_comment)`` shares them, once: a file completed already, never uploaded, or whose
   bytes differ in size from the announced ``length`` is ``file_not_found`` as far as the
   share is concerned (Slack discards such an upload).

Argument names and error codes are those of docs.slack.dev (these two methods are newer than
``slack-specs/web-api``). Shared files appear on the message Slack posts for them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack_limits import SlackMethodError
from bot.sandbox.slack_store import SlackStore

ALT_TEXT_LIMIT = 1000  # characters; past it Slack answers alt_txt_too_large
_TS = re.compile(r"^\d+\.\d{6}$")


@dataclass
class StoredFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    completed: bool = False

    @property
    def text(self) -> str:
        return (self.content or b"").decode("utf-8", errors="replace")

    def to_slack(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": self.length,
            "mimetype": _mimetype(self.filename),
            "filetype": self.filename.rsplit(".", 1)[-1] if "." in self.filename else "text",
            "is_external": False,
            "shares": {"public": {self.channel: [{"ts": self.thread_ts}]}} if self.channel else {},
        }


class FileStore:
    """The files of the workspace, by id."""

    def __init__(self, store: SlackStore) -> None:
        self.store = store
        self.files: dict[str, StoredFile] = {}

    def reserve(self, args: dict[str, Any], upload_root: str) -> dict[str, Any]:
        filename = args.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise SlackMethodError(
                "invalid_arguments", ["[ERROR] missing required field: filename"]
            )
        length = _as_int(args.get("length"))
        if length is None:
            raise SlackMethodError("invalid_arguments", ["[ERROR] missing required field: length"])
        if length <= 0:
            raise SlackMethodError("missing_argument")
        if len(str(args.get("alt_txt") or "")) > ALT_TEXT_LIMIT:
            raise SlackMethodError("alt_txt_too_large")
        file_id = f"F{len(self.files) + 1:010d}"
        self.files[file_id] = StoredFile(id=file_id, filename=filename, length=length)
        return {"ok": True, "upload_url": f"{upload_root}/upload/{file_id}", "file_id": file_id}

    def receive(self, file_id: str, content: bytes) -> bool:
        """The bytes POSTed to the upload URL; False for an id that was never reserved."""
        stored = self.files.get(file_id)
        if stored is None or stored.completed:
            return False
        stored.content = content
        return True

    def complete(self, args: dict[str, Any], bot_user: str, bot_id: str) -> dict[str, Any]:
        wanted = _file_list(args.get("files"))
        found = [self.files.get(str(item.get("id"))) for item in wanted]
        ready = [f for f in found if f is not None and not f.completed and f.content is not None]
        if len(ready) != len(wanted) or any(len(f.content or b"") != f.length for f in ready):
            raise SlackMethodError("file_not_found")
        channel = None
        if args.get("channel_id"):
            channel = self.store.resolve_channel(args.get("channel_id"))
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None and not _TS.match(str(thread_ts)):
            raise SlackMethodError("invalid_arguments", ["[ERROR] thread_ts is not a timestamp"])
        for stored, item in zip(ready, wanted, strict=True):
            stored.title = str(item.get("title") or stored.filename)
            stored.channel, stored.thread_ts, stored.completed = channel, thread_ts, True
        shared = [f.to_slack() for f in ready]
        if channel is not None:
            self.store.post(
                channel,
                text=str(args.get("initial_comment") or ""),
                user=bot_user,
                bot_id=bot_id,
                thread_ts=thread_ts,
                files=shared,
            )
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in ready]}

    def shared_in(self, channel: str, thread_ts: str | None = None) -> list[StoredFile]:
        return [
            f
            for f in self.files.values()
            if f.completed
            and f.channel == channel
            and (thread_ts is None or f.thread_ts == thread_ts)
        ]


def _file_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackMethodError("invalid_arguments", ["[ERROR] files must be JSON"]) from None
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise SlackMethodError("invalid_arguments", ["[ERROR] missing required field: files"])
    return value


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _mimetype(filename: str) -> str:
    if filename.endswith(".json"):
        return "application/json"
    if filename.endswith(".md"):
        return "text/markdown"
    return "text/plain"
