"""Block Kit for the gates in a window's thread: the details checklist, the pre-check summary,
reminders. Pure functions of stored data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks import MAX_BLOCKS, button, context_block, section
from bot.domain.models import Window
from bot.escape import escape
from bot.ids import GateAction
from checks.checklist import Item, ItemStatus

Blocks = list[dict[str, Any]]
_ITEM_ICONS = {
    ItemStatus.OK: "✅",
    ItemStatus.WARN: "⚠️",
    ItemStatus.OPEN: "○",
    ItemStatus.WAIVED: "↷",
    ItemStatus.BLOCKED: "❌",
}


def details_text(window: Window, items: Sequence[Item]) -> str:
    settled = sum(1 for i in items if i.is_settled)
    return f"Details checklist (G2) of {window.label}: {settled}/{len(items)} settled."


def details_blocks(window: Window, items: Sequence[Item]) -> Blocks:
    settled = sum(1 for i in items if i.is_settled)
    blocks: Blocks = [
        section(
            f"*G2 · Details established* for {window.label}: {settled}/{len(items)} "
            "settled. Every item must be green or waived with a reason."
        )
    ]
    for item in items:
        line = f"{_ITEM_ICONS[item.status]} *{item.title}*"
        if item.summary:
            line += f"\n{item.summary}"
        if item.status is ItemStatus.WAIVED:
            line += f"\n_Waived by <@{item.by}>: {escape(item.reason or '')}_"
        elif item.status is ItemStatus.OK and item.by:
            line += f"\n_Confirmed by <@{item.by}>_"
        blocks.append(section(line))
        if (
            item.status in (ItemStatus.OPEN, ItemStatus.BLOCKED)
            and window.state.value == "approved"
        ):
            value = f"{window.id}:{item.key}"
            elements = [button("Waive…", GateAction.DETAIL_WAIVE, value)]
            if not item.automatic:
                elements.insert(0, button("Confirm", GateAction.DETAIL_CONFIRM, value, "primary"))
            blocks.append({"type": "actions", "block_id": f"item_{item.key}", "elements": elements})
    if settled == len(items) and items:
        blocks.append(context_block("G2 closed: the details are established."))
    return blocks[:MAX_BLOCKS]
