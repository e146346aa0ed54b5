"""The G2 modals: the reason for a waiver, and the hotfixes (or none) for the window."""

from __future__ import annotations

import json
from typing import Any

from bot import messages
from bot.blocks import input_block
from bot.ids import Block, GateView, Input


def waive_modal(
    window_id: int, item: str, title: str, channel: str, thread_ts: str
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": GateView.WAIVE.value,
        "private_metadata": json.dumps(
            {"window_id": window_id, "item": item, "channel": channel, "thread_ts": thread_ts}
        ),
        "title": {"type": "plain_text", "text": "Waive a checklist item"},
        "submit": {"type": "plain_text", "text": "Waive"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title[:200]}*"}},
            input_block(
                Block.REASON,
                "Why is it safe to go on without it?",
                {
                    "type": "plain_text_input",
                    "action_id": Input.REASON.value,
                    "multiline": True,
                    "min_length": messages.MIN_WAIVER_REASON,
                    "max_length": 500,
                },
                hint=messages.waiver_hint(),
            ),
        ],
    }


NO_HOTFIXES = "none"  # the option that says "there are none", an answer in its own right


def hotfix_modal(
    window_id: int,
    label: str,
    candidates: list[tuple[str, str]],
    channel: str,
    thread_ts: str | None = None,
    target: str = "",
) -> dict[str, Any]:
    """Which hotfix packages from the store to install after the last step, or explicitly none.
    ``candidates`` are (file name, what it is); only hotfixes for the target are offered."""
    options = [
        {
            "text": {"type": "plain_text", "text": "No hotfixes for this window"},
            "description": {"type": "plain_text", "text": "Nothing is installed after the path"},
            "value": NO_HOTFIXES,
        },
        *(
            {
                "text": {"type": "plain_text", "text": name[:75]},
                "description": {"type": "plain_text", "text": what[:75]},
                "value": name,
            }
            for name, what in candidates[:9]
        ),
    ]
    aim = target or "the target"
    intro = (
        "Hotfixes are installed after the last step of the path, uploaded with the day-before "
        f"upload, and counted in the estimate. Only hotfix, web and app packages for {aim} are "
        "offered: a full upgrade, update or prerequisite package is never a hotfix."
    )
    if not candidates:
        intro += " The package store holds none, so the answer is “No hotfixes”."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
        input_block(
            Block.HOTFIXES,
            "Hotfixes to install",
            {"type": "checkboxes", "action_id": Input.HOTFIXES.value, "options": options},
            hint="Tick the hotfixes, or “No hotfixes for this window”.",
        ),
    ]
    return {
        "type": "modal",
        "callback_id": GateView.HOTFIXES.value,
        "private_metadata": json.dumps(
            {"window_id": window_id, "channel": channel, "thread_ts": thread_ts}
        ),
        "title": {"type": "plain_text", "text": f"Hotfixes for {label}"[:24]},
        "submit": {"type": "plain_text", "text": "Confirm"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": blocks,
    }
