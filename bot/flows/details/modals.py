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


def hotfix_modal(
    window_id: int,
    label: str,
    candidates: list[str],
    channel: str,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """Which hotfix packages from the store to install after the last step (none is an answer)."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    "Hotfixes are installed after the last step of the path, uploaded with the "
                    "day-before upload, and counted in the estimate. Tick none if there are none."
                ),
            },
        },
    ]
    if candidates:
        blocks.append(
            input_block(
                Block.HOTFIXES,
                "Hotfix packages in the store",
                {
                    "type": "checkboxes",
                    "action_id": Input.HOTFIXES.value,
                    "options": [
                        {"text": {"type": "plain_text", "text": name[:75]}, "value": name}
                        for name in candidates[:10]
                    ],
                },
                optional=True,
            )
        )
    else:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": (
                            "The package store holds no other packages; "
                            "submitting confirms no hotfixes."
                        ),
                    }
                ],
            }
        )
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
