"""Block Kit for G4: the go prompt at the window's start."""

from __future__ import annotations

from typing import Any

from bot.blocks import button, sure_button
from bot.domain.durations import format_duration
from bot.domain.gates import gate_statuses
from bot.domain.models import GateId, Window
from bot.domain.windows import to_slack_date
from bot.escape import escape
from bot.ids import RunAction


def go_blocks(window: Window) -> list[dict[str, Any]]:
    gates = " ".join(
        f"{g.value} {s.value}"
        for g, s in gate_statuses(window.state).items()
        if g in (GateId.G1, GateId.G2, GateId.G3)
    )
    value = str(window.id)
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*G4 · Go* for {window.label}: {escape(window.system)} → *{window.target}*, "
                    f"{to_slack_date(window.start)} ({format_duration(window.length)}).\n"
                    f"Gates: {gates}. A person must give the go; the bot checks health once more "
                    "and asks you to confirm the backup."
                ),
            },
        },
        {
            "type": "actions",
            "block_id": f"go_{window.id}",
            "elements": [
                button("Go…", RunAction.GO, value, "primary"),
                sure_button(
                    "Postpone…",
                    RunAction.POSTPONE,
                    value,
                    confirm="Move the window to a new start? It goes back to G1 for a fresh "
                    "approval; nothing runs now.",
                ),
                button("Cancel window", RunAction.CANCEL, value, "danger"),
            ],
        },
    ]
