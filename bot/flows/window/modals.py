"""The window's modal: a new start for a postponed window."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import input_block
from bot.domain.models import Window
from bot.ids import Block, Input, RunView


def postpone_modal(
    window: Window, channel: str, tz: ZoneInfo, thread_ts: str | None = None
) -> dict[str, Any]:
    """Asks for the new start (the length stays); the window then goes back to G1."""
    suggested = (window.start + timedelta(days=1)).astimezone(tz)
    return {
        "type": "modal",
        "callback_id": RunView.POSTPONE.value,
        "private_metadata": json.dumps(
            {"window_id": window.id, "channel": channel, "thread_ts": thread_ts}
        ),
        "title": {"type": "plain_text", "text": f"Postpone {window.label}"[:24]},
        "submit": {"type": "plain_text", "text": "Postpone"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"{window.label} ({window.system} → {window.target}) moves to a new start "
                        "with the same length. It is planned again from what the agents run then "
                        "and goes back to G1: an approver must approve it again. Nothing runs now."
                    ),
                },
            },
            input_block(
                Block.START_DATE,
                "New start date",
                {
                    "type": "datepicker",
                    "action_id": Input.START_DATE.value,
                    "initial_date": suggested.strftime("%Y-%m-%d"),
                },
            ),
            input_block(
                Block.START_TIME,
                f"New start time ({tz.key})",
                {
                    "type": "timepicker",
                    "action_id": Input.START_TIME.value,
                    "initial_time": suggested.strftime("%H:%M"),
                },
            ),
        ],
    }
