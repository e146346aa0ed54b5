"""The two modals: propose a window, and the reason for a rejection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.blocks import input_block
from bot.ids import Block, Input, View


def propose_modal(systems: Sequence[str], channel: str, timezone: str) -> dict[str, Any]:
    options = [
        {"text": {"type": "plain_text", "text": name}, "value": name} for name in systems[:100]
    ]
    return {
        "type": "modal",
        "callback_id": View.PROPOSE.value,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Propose an upgrade"},
        "submit": {"type": "plain_text", "text": "Propose"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            input_block(
                Block.SYSTEM,
                "System",
                {
                    "type": "static_select",
                    "action_id": Input.SYSTEM.value,
                    "options": options,
                    **({"initial_option": options[0]} if len(options) == 1 else {}),
                },
            ),
            input_block(
                Block.TARGET,
                "Target version",
                {
                    "type": "plain_text_input",
                    "action_id": Input.TARGET.value,
                    "placeholder": {"type": "plain_text", "text": "10.5 or 10.5.0 CU3 or 10.6.4"},
                },
                hint="10.5 means the latest CU of main release 10.5.",
            ),
            input_block(
                Block.START_DATE,
                "Start date",
                {
                    "type": "datepicker",
                    "action_id": Input.START_DATE.value,
                },
            ),
            input_block(
                Block.START_TIME,
                f"Start time ({timezone})",
                {
                    "type": "timepicker",
                    "action_id": Input.START_TIME.value,
                },
            ),
            input_block(
                Block.LENGTH,
                "Length",
                {
                    "type": "plain_text_input",
                    "action_id": Input.LENGTH.value,
                    "placeholder": {"type": "plain_text", "text": "4h or 90m"},
                },
                optional=True,
                hint="Leave empty to use the estimate, rounded up.",
            ),
        ],
    }
