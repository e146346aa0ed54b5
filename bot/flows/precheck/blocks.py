"""Block Kit for G3: the day-before pre-check results, with Accept / Re-run while they are the
way forward."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks import MAX_BLOCKS, Blocks, button, clip, confirm_dialog, context_block, section
from bot.domain.models import Window, WindowState
from bot.ids import GateAction
from checks import CheckResult, CheckStatus, summary_line

_STATUS_ICONS = {
    CheckStatus.PASS: "✅",
    CheckStatus.WARN: "⚠️",
    CheckStatus.FAIL: "❌",
    CheckStatus.ERROR: "❓",
}


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
        section(f"*G3 · Day-before pre-check* of {window.label}: {summary_line(results)}")
    ]
    if changes:
        blocks.append(
            section(
                "*Changed since the accepted run:*\n" + "\n".join(f"• {c}" for c in changes[:15])
            )
        )
    for result in results[:30]:
        line = f"{_STATUS_ICONS[result.status]} *{result.title}*: {result.summary}"
        if result.details and result.status is not CheckStatus.PASS:
            line += "\n" + "\n".join(f"    {d}" for d in result.details[:8])
        blocks.append(section(clip(line)))
    if accepted_by:
        blocks.append(context_block(f"✅ Accepted by <@{accepted_by}>"))
    elif window.state is WindowState.READY:
        blocks.append(context_block("G3 stands: these results match the accepted pre-check."))
    elif window.state not in (WindowState.APPROVED, WindowState.PLANNED):
        blocks.append(context_block(f"{window.label} is {window.state.value}: nothing to accept."))
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
