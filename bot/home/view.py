"""The App Home tab as Block Kit: pure functions of the windows and what the reader owes.

Three parts, in the order a person looks for them: what *you* owe now (gate, window, deadline,
a button to the thread where the acknowledgement is given), the upcoming windows of every
system with their gate line and start, then the last finished ones. Times are Slack date tokens,
so every reader sees them in their own time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.blocks import MAX_TEXT, clip, context_block, section
from bot.domain.models import GATE_TITLES, GateId, Window
from bot.domain.windows import to_slack_date
from bot.flows.propose.blocks import gates_line
from bot.ids import HomeAction

HOME_BLOCK_LIMIT = 100  # Slack's limit for a Home tab
SHOWN_UPCOMING = 15
SHOWN_FINISHED = 5


@dataclass(frozen=True)
class Owed:
    """An acknowledgement the reader may give now."""

    window: Window
    gate: GateId
    link: str | None  # the proposal's thread


def home_view(
    reader: str,
    owed: Sequence[Owed],
    upcoming: Sequence[Window],
    finished: Sequence[Window],
    links: dict[int, str],
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Upgrade windows"}},
        *owed_blocks(reader, owed),
        {"type": "divider"},
        section("*Coming up*"),
        *window_blocks(upcoming[:SHOWN_UPCOMING], links, "No window is planned.", starts=True),
    ]
    if len(upcoming) > SHOWN_UPCOMING:
        more = len(upcoming) - SHOWN_UPCOMING
        blocks.append(context_block(f"…and {more} more: `/upgrade list`"))
    blocks += [
        {"type": "divider"},
        section("*Recently finished*"),
        *window_blocks(finished[:SHOWN_FINISHED], links, "Nothing finished yet.", starts=False),
        context_block("`/upgrade help` lists every command. Times are shown in your time zone."),
    ]
    return {"type": "home", "callback_id": "upgradebot_home", "blocks": blocks[:HOME_BLOCK_LIMIT]}


def owed_blocks(reader: str, owed: Sequence[Owed]) -> list[dict[str, Any]]:
    if not owed:
        return [section(f"*Nothing is waiting for you, <@{reader}>.* ✅")]
    blocks = [section(f"*Waiting for you ({len(owed)})*")]
    for item in owed[:20]:
        window = item.window
        deadline = (
            f"before {to_slack_date(window.start)}"
            if item.gate is not GateId.G5
            else "the upgrade ran; verify it"
        )
        text = (
            f"*{item.gate.value} {GATE_TITLES[item.gate]}* for *{window.label}* "
            f"{window.system} → {window.target}\n{deadline}"
        )
        block = section(text)
        if item.link:
            block["accessory"] = {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open the thread"},
                "action_id": HomeAction.OPEN_THREAD.value,
                "value": str(window.id),
                "url": item.link,
                "style": "primary",
            }
        blocks.append(block)
    return blocks


def window_blocks(
    windows: Sequence[Window], links: dict[int, str], empty: str, *, starts: bool
) -> list[dict[str, Any]]:
    if not windows:
        return [context_block(empty)]
    lines = []
    for window in windows:
        label = f"<{links[window.id]}|{window.label}>" if window.id in links else window.label
        when = to_slack_date(window.start)
        lines.append(
            f"*{label}* {window.system} → {window.target} · {'starts' if starts else 'was'} "
            f"{when} · _{window.state.value}_ {gates_line(window.state)}"
        )
    return [section(clip(chunk)) for chunk in _chunks(lines)]


def _chunks(lines: list[str]) -> list[str]:
    """Lines joined into as few sections as Slack's 3,000 characters allow."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= MAX_TEXT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks
