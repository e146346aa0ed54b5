"""The G5 modal: what is wrong, when a person reports a problem instead of verifying."""

from __future__ import annotations

import json
from typing import Any

from bot.ids import Block, Input, RunView


def problem_modal(window_id: int, label: str, channel: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": RunView.PROBLEM.value,
        "private_metadata": json.dumps({"window_id": window_id, "channel": channel}),
        "title": {"type": "plain_text", "text": f"Problem with {label}"[:24]},
        "submit": {"type": "plain_text", "text": "Mark failed"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            {
                "type": "input",
                "block_id": Block.REASON.value,
                "label": {"type": "plain_text", "text": "What is wrong?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": Input.REASON.value,
                    "multiline": True,
                    "max_length": 1000,
                },
            }
        ],
    }
