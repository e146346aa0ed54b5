"""The Block Kit limits Slack enforces, so the stub refuses what Slack would refuse.

Slack answers an oversized or malformed message with ``invalid_blocks`` and a modal with
``invalid_arguments``, each listing ``[ERROR] <problem> [json-pointer:/path]`` lines. Only
the limits a bot realistically trips are checked (counts, text lengths, ids, required parts);
anything not covered here is accepted, as the stub is a stand-in, not a schema validator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MESSAGE_TEXT_LIMIT = 40_000
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100

_TEXT_LIMITS = {  # block or element type -> (field, max characters)
    "section": ("text", 3000),
    "header": ("text", 150),
    "input": ("label", 2000),
    "button": ("text", 75),
}
_ELEMENT_LIMITS = {"actions": 25, "context": 10}
_VIEW_TEXT_LIMITS = {"title": 24, "submit": 24, "close": 24}
_VIEW_STRING_LIMITS = {"private_metadata": 3000, "callback_id": 255, "external_id": 255}


class SlackMethodError(Exception):
    """A Web API method answers ``{"ok": false, "error": ...}`` (HTTP 200)."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["errors"] = [m.removeprefix("[ERROR] ") for m in self.messages]
            body["response_metadata"] = {"messages": self.messages}
        return body


def decode_json_field(value: Any) -> Any:
    """Form bodies carry ``blocks``/``view`` as JSON strings; JSON bodies carry objects."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def is_true(value: Any) -> bool:
    """Booleans arrive as JSON true or as the form strings "1"/"true"."""
    return value is True or str(value).lower() in ("1", "true")


def check_message(args: dict[str, Any]) -> None:
    """Raise what chat.postMessage/chat.update/chat.postEphemeral would answer."""
    text, blocks, attachments = args.get("text"), args.get("blocks"), args.get("attachments")
    if not text and not blocks and not attachments:
        raise SlackMethodError("no_text")
    if isinstance(text, str) and len(text) > MESSAGE_TEXT_LIMIT:
        raise SlackMethodError("msg_too_long")
    if blocks is None:
        return
    if not isinstance(blocks, list):
        raise SlackMethodError("invalid_blocks_format")
    problems = list(_block_problems(blocks, MESSAGE_BLOCK_LIMIT, "/blocks"))
    if problems:
        raise SlackMethodError("invalid_blocks", [f"[ERROR] {p}" for p in problems])


def check_view(view: Any) -> None:
    """Raise what views.open/update/push would answer for this view."""
    if not isinstance(view, dict):
        raise SlackMethodError("invalid_arguments", ["[ERROR] missing required field: view"])
    problems = list(_view_problems(view))
    if problems:
        raise SlackMethodError("invalid_arguments", [f"[ERROR] {p}" for p in problems])


def _view_problems(view: dict[str, Any]) -> Iterator[str]:
    if view.get("type") not in ("modal", "home"):
        yield "must be a valid enum value [json-pointer:/view/type]"
    if view.get("type") == "modal" and "title" not in view:
        yield "missing required field: title [json-pointer:/view]"
    for field, limit in _VIEW_TEXT_LIMITS.items():
        yield from _text_problem(view.get(field), limit, f"/view/{field}/text")
    for field, limit in _VIEW_STRING_LIMITS.items():
        value = view.get(field)
        if isinstance(value, str) and len(value) > limit:
            yield f"must be less than {limit + 1} characters [json-pointer:/view/{field}]"
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        yield "missing required field: blocks [json-pointer:/view]"
        return
    yield from _block_problems(blocks, VIEW_BLOCK_LIMIT, "/view/blocks")
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if view.get("type") == "modal" and has_input and "submit" not in view:
        yield "must provide a submit property when using input blocks [json-pointer:/view]"


def _block_problems(blocks: list[Any], limit: int, pointer: str) -> Iterator[str]:
    if len(blocks) > limit:
        yield f"no more than {limit} items allowed [json-pointer:{pointer}]"
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        here = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            yield f"missing required field: type [json-pointer:{here}]"
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                yield f"duplicate block_id [json-pointer:{here}/block_id]"
            block_ids.add(block_id)
            yield from _id_problem(block_id, f"{here}/block_id")
        yield from _typed_problems(block, here)
        yield from _children_problems(block, here)


def _children_problems(block: dict[str, Any], here: str) -> Iterator[str]:
    kind = block["type"]
    elements = block.get("elements")
    if kind in _ELEMENT_LIMITS and isinstance(elements, list):
        if len(elements) > _ELEMENT_LIMITS[kind]:
            limit = _ELEMENT_LIMITS[kind]
            yield f"no more than {limit} items allowed [json-pointer:{here}/elements]"
        children = [(e, f"{here}/elements/{i}") for i, e in enumerate(elements)]
    else:
        children = [(block[k], f"{here}/{k}") for k in ("accessory", "element") if k in block]
    if kind == "input" and "element" not in block:
        yield f"missing required field: element [json-pointer:{here}]"
    fields = block.get("fields")
    if isinstance(fields, list):
        if len(fields) > 10:
            yield f"no more than 10 items allowed [json-pointer:{here}/fields]"
        for i, field in enumerate(fields):
            yield from _text_problem(field, 2000, f"{here}/fields/{i}/text")
    action_ids: set[str] = set()
    for child, where in children:
        if not isinstance(child, dict):
            continue
        action_id = child.get("action_id")
        if isinstance(action_id, str):
            if action_id in action_ids:
                yield f"duplicate action_id [json-pointer:{where}/action_id]"
            action_ids.add(action_id)
            yield from _id_problem(action_id, f"{where}/action_id")
        yield from _typed_problems(child, where)


def _typed_problems(part: dict[str, Any], here: str) -> Iterator[str]:
    kind = part.get("type")
    if kind in _TEXT_LIMITS:
        field, limit = _TEXT_LIMITS[kind]
        yield from _text_problem(part.get(field), limit, f"{here}/{field}/text")
    if kind == "button" and len(str(part.get("value", ""))) > 2000:
        yield f"must be less than 2001 characters [json-pointer:{here}/value]"


def _text_problem(text_object: Any, limit: int, pointer: str) -> Iterator[str]:
    if isinstance(text_object, dict):
        text = text_object.get("text")
        if not isinstance(text, str) or not text:
            yield f"must be more than 0 characters [json-pointer:{pointer}]"
        elif len(text) > limit:
            yield f"must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _id_problem(value: str, pointer: str) -> Iterator[str]:
    if len(value) > 255:
        yield f"must be less than 256 characters [json-pointer:{pointer}]"
