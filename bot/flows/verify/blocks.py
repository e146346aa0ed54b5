"""Block Kit for G5: the before/after comparison, with Verified / Problem… until a person
decides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.blocks import MAX_BLOCKS, Blocks, context_block, section, sure_button
from bot.domain.models import Window
from bot.ids import RunAction


def comparison_blocks(
    window: Window,
    before: dict[str, Any],
    after: dict[str, Any],
    results: Sequence[Any],
    verified_by: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Blocks:
    """``labels`` names raw agent versions as the catalog knows them (10.5.0 CU18)."""
    named = dict(labels or {})
    versions_before = before.get("versions", {})
    lines = []
    for agent, version in sorted(after.get("versions", {}).items()):
        state = after.get("states", {}).get(agent, "?")
        was = versions_before.get(agent, "?")
        lines.append(
            f"• `{agent}` {named.get(was, was)} → *{named.get(version, version)}* "
            f"(`{version}`, {state})"
        )
    severities = sorted(set(before.get("alarm_counts", {})) | set(after.get("alarm_counts", {})))
    was, now = before.get("alarm_counts", {}), after.get("alarm_counts", {})
    alarms = (
        ", ".join(f"{s}: {was.get(s, 0)} → {now.get(s, 0)}" for s in severities)
        or "none before, none after"
    )
    icons = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "❓"}
    checks = "\n".join(f"{icons.get(r.status, '·')} {r.title}: {r.summary}" for r in results)
    blocks: Blocks = [
        section(f"*G5 · Verification* of {window.label} (target {window.target})"),
        section("*Agents (before → after)*\n" + ("\n".join(lines) or "(none)")),
        section(f"*Active alarms by severity (day before → now)*\n{alarms}"),
        section(f"*Checks*\n{checks}"),
    ]
    if verified_by:
        blocks.append(context_block(verified_by))
    else:
        value = str(window.id)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"verify_{window.id}",
                "elements": [
                    sure_button(
                        "Verified",
                        RunAction.VERIFIED,
                        value,
                        "primary",
                        "Close the window as done: key functionalities checked by a person?",
                    ),
                    sure_button("Problem…", RunAction.PROBLEM, value, "danger"),
                ],
            }
        )
    return blocks[:MAX_BLOCKS]
