"""Block Kit for the gates in a window's thread: the details checklist, the pre-check summary,
reminders. Pure functions of stored data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks import MAX_BLOCKS, _context, _section, _text, button, confirm_dialog
from bot.domain.models import Window
from bot.ids import GateAction
from checks import CheckResult, CheckStatus, summary_line
from checks.checklist import Item, ItemStatus

Blocks = list[dict[str, Any]]
_STATUS_ICONS = {
    CheckStatus.PASS: "✅",
    CheckStatus.WARN: "⚠️",
    CheckStatus.FAIL: "❌",
    CheckStatus.ERROR: "❓",
}
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
        _section(
            f"*G2 · Details established* for {window.label}: {settled}/{len(items)} "
            "settled. Every item must be green or waived with a reason."
        )
    ]
    for item in items:
        line = f"{_ITEM_ICONS[item.status]} *{item.title}*"
        if item.summary:
            line += f"\n{item.summary}"
        if item.status is ItemStatus.WAIVED:
            line += f"\n_Waived by <@{item.by}>: {item.reason}_"
        elif item.status is ItemStatus.OK and item.by:
            line += f"\n_Confirmed by <@{item.by}>_"
        blocks.append(_section(line))
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
        blocks.append(_context("G2 closed: the details are established."))
    return blocks[:MAX_BLOCKS]


def precheck_text(window: Window, results: Sequence[CheckResult]) -> str:
    return f"Pre-check of {window.label}: {summary_line(results)}."


def precheck_blocks(
    window: Window,
    run_id: int,
    results: Sequence[CheckResult],
    accepted_by: str | None,
    changes: Sequence[str] = (),
) -> Blocks:
    blocks: Blocks = [
        _section(f"*G3 · Day-before pre-check* of {window.label}: {summary_line(results)}")
    ]
    if changes:
        blocks.append(
            _section(
                "*Changed since the accepted run:*\n" + "\n".join(f"• {c}" for c in changes[:15])
            )
        )
    for result in results[:30]:
        line = f"{_STATUS_ICONS[result.status]} *{result.title}*: {result.summary}"
        if result.details and result.status is not CheckStatus.PASS:
            line += "\n" + "\n".join(f"    {d}" for d in result.details[:8])
        blocks.append(_section(_text(line)))
    if accepted_by:
        blocks.append(_context(f"✅ Accepted by <@{accepted_by}>"))
    else:
        value = f"{window.id}:{run_id}"
        blocks.append(
            {
                "type": "actions",
                "block_id": f"precheck_{run_id}",
                "elements": [
                    button(
                        "Accept pre-check",
                        GateAction.PRECHECK_ACCEPT,
                        value,
                        "primary",
                        confirm_dialog(
                            "Accept these results?",
                            "Your acknowledgement is bound to exactly these results.",
                            "Accept",
                        ),
                    ),
                    button("Re-run", GateAction.PRECHECK_RERUN, value),
                ],
            }
        )
    return blocks[:MAX_BLOCKS]


def mention(entries: Sequence[str]) -> str:
    return " ".join(f"<!subteam^{e}>" if e.startswith("S") else f"<@{e}>" for e in entries)
