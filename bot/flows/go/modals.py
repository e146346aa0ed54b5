"""The G4 modal: start the upgrade, with the backup confirmed."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.models import Window
from bot.escape import escape
from bot.ids import Block, Input, RunView


def go_modal(window: Window, channel: str, thread_ts: str | None = None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": RunView.GO.value,
        "private_metadata": json.dumps(
            {"window_id": window.id, "channel": channel, "thread_ts": thread_ts}
        ),
        "title": {"type": "plain_text", "text": f"Start {window.label}?"},
        "submit": {"type": "plain_text", "text": "Start the upgrade"},
        "close": {"type": "plain_text", "text": "Not now"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"This starts the upgrade of *{escape(window.system)}* to "
                        f"*{window.target}* on every agent of the cluster, failover pairs "
                        "simultaneously. It cannot be undone from here."
                    ),
                },
            },
            {
                "type": "input",
                "block_id": Block.BACKUP.value,
                "label": {"type": "plain_text", "text": "Backup"},
                "element": {
                    "type": "checkboxes",
                    "action_id": Input.BACKUP.value,
                    "options": [
                        {
                            "text": {
                                "type": "plain_text",
                                "text": "A backup or VM snapshot of every agent was taken",
                            },
                            "value": "taken",
                        }
                    ],
                },
            },
        ],
    }
