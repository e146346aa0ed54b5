"""Block Kit primitives shared by every flow's ``blocks.py``: sections, context lines, buttons
with Slack's own confirmation, inputs, mentions, and Slack's size limits. Pure functions; each
flow renders its own messages from these (no Slack calls, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.ids import Block

Blocks = list[dict[str, Any]]
MAX_TEXT = 3000
MAX_BLOCKS = 50


def clip(value: str) -> str:
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def section(markdown: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(markdown)}, **extra}


def context_block(*markdown: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(m)} for m in markdown[:10]],
    }


def confirm_dialog(title: str, text: str, yes: str, no: str = "Back") -> dict[str, Any]:
    """Slack's own "are you sure?" before a button acts: a tap by mistake does nothing."""
    return {
        "title": {"type": "plain_text", "text": title[:100]},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": yes[:30]},
        "deny": {"type": "plain_text", "text": no[:30]},
    }


def button(
    text: str,
    action_id: str,
    value: str,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Block Kit button; ``style`` is primary or danger, ``confirm`` a ``confirm_dialog``."""
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": str(action_id),
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def input_block(
    block: Block,
    label: str,
    element: dict[str, Any],
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "type": "input",
        "block_id": block.value,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "optional": optional,
    }
    if hint:
        result["hint"] = {"type": "plain_text", "text": hint}
    return result


def mention(entries: Sequence[str]) -> str:
    return " ".join(f"<!subteam^{e}>" if e.startswith("S") else f"<@{e}>" for e in entries)


def sure_button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: str | None = None
) -> dict[str, Any]:
    """A button behind Slack's "Are you sure?" when ``confirm`` says what it does."""
    dialog = confirm_dialog("Are you sure?", confirm, text) if confirm else None
    return button(text, action_id, value, style, dialog)
