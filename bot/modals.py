"""The two modals: propose a window, and the reason for a rejection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.ids import Block, Input, View


def _input(
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
            _input(
                Block.SYSTEM,
                "System",
                {
                    "type": "static_select",
                    "action_id": Input.SYSTEM.value,
                    "options": options,
                    **({"initial_option": options[0]} if len(options) == 1 else {}),
                },
            ),
            _input(
                Block.TARGET,
                "Target version",
                {
                    "type": "plain_text_input",
                    "action_id": Input.TARGET.value,
                    "placeholder": {"type": "plain_text", "text": "10.5 or 10.5.0 CU3 or 10.6.4"},
                },
                hint="10.5 means the latest CU of main release 10.5.",
            ),
            _input(
                Block.START_DATE,
                "Start date",
                {
                    "type": "datepicker",
                    "action_id": Input.START_DATE.value,
                },
            ),
            _input(
                Block.START_TIME,
                f"Start time ({timezone})",
                {
                    "type": "timepicker",
                    "action_id": Input.START_TIME.value,
                },
            ),
            _input(
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


def reject_modal(window_id: int, label: str, channel: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": View.REJECT.value,
        "private_metadata": json.dumps({"window_id": window_id, "channel": channel}),
        "title": {"type": "plain_text", "text": f"Reject {label}"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            _input(
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


def waive_modal(
    window_id: int, item: str, title: str, channel: str, thread_ts: str
) -> dict[str, Any]:
    from bot.ids import GateView

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
            _input(
                Block.REASON,
                "Why is it safe to go on without it?",
                {
                    "type": "plain_text_input",
                    "action_id": Input.REASON.value,
                    "multiline": True,
                    "max_length": 500,
                },
            ),
        ],
    }


def hotfix_modal(window_id: int, label: str, candidates: list[str], channel: str) -> dict[str, Any]:
    """Which hotfix packages from the store to install after the last step (none is an answer)."""
    from bot.ids import GateView

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
            _input(
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
        "private_metadata": json.dumps({"window_id": window_id, "channel": channel}),
        "title": {"type": "plain_text", "text": f"Hotfixes for {label}"[:24]},
        "submit": {"type": "plain_text", "text": "Confirm"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": blocks,
    }
