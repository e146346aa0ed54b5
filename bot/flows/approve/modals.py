"""The G1 modal: the reason for a rejection."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks import input_block
from bot.ids import Block, Input, View


def reject_modal(window_id: int, label: str, channel: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": View.REJECT.value,
        "private_metadata": json.dumps({"window_id": window_id, "channel": channel}),
        "title": {"type": "plain_text", "text": f"Reject {label}"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            input_block(
                Block.REASON,
                "Why is it rejected?",
                {
                    "type": "plain_text_input",
                    "action_id": Input.REASON.value,
                    "multiline": True,
                    "max_length": 500,
                },
            ),
        ],
    }
