"""Block Kit for the night: the progress message, a halted run, the before/after comparison."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.agents.models import UpgradeRun
from bot.blocks import MAX_BLOCKS, context_block, section, sure_button
from bot.domain.models import Window
from bot.escape import escape
from bot.ids import RunAction
from storage import UpgradeStep

Blocks = list[dict[str, Any]]
_STAGE_ICONS = {
    "pending": "○",
    "uploading": "⤴",
    "installing": "⚙",
    "starting": "⏻",
    "done": "✅",
    "failed": "❌",
    "aborted": "⏹",
}


def progress_text(window: Window, step: UpgradeStep, total: int, run: UpgradeRun) -> str:
    state = "failed" if run.failed else ("done" if run.finished else "running")
    return f"{window.label}: step {step.position}/{total} ({step.package}) {state}."


def progress_blocks(window: Window, step: UpgradeStep, total: int, run: UpgradeRun) -> Blocks:
    lines = [
        f"{_STAGE_ICONS.get(str(a.stage), '·')} `{a.agent}` {a.stage} {a.percent}%"
        + (f" — {a.message}" if a.message else "")
        for a in run.agents[:40]
    ]
    return [
        section(
            f"*Upgrade of {window.label}*: step {step.position}/{total} · `{step.package}`"
            f" · run `{run.run_id}`"
        ),
        section("\n".join(lines) or "(no agents reported yet)"),
        context_block(
            "Edited as the upgrade moves; all agents in the cluster, failover pairs simultaneously."
        ),
    ]


def halt_blocks(
    window: Window,
    step: UpgradeStep,
    run: UpgradeRun | None,
    agents: Sequence[tuple[str, str, str]],
) -> Blocks:
    failed = [a.agent for a in run.agents if str(a.stage) == "failed"] if run else []
    where = ", ".join(failed) or "the cluster"
    cluster = "\n".join(f"• `{n}` {s}, {v}" for n, s, v in agents) or "(the cluster did not answer)"
    logs = (
        f"`{run.log_path}` on {where}"
        if run and run.log_path
        else r"`C:\Skyline DataMiner\Upgrades\Packages\&lt;package&gt;\progress.log` on each agent"
    )
    value = f"{window.id}:{step.position}:{step.attempt}"
    return [
        section(
            f"❌ *Step {step.position} failed* on {where}: `{step.package}`\n"
            f"{escape(step.error or (run.error if run else '') or 'no reason given')}"
        ),
        section(f"*Cluster now*\n{cluster}"),
        section(
            f"*Logs*: {logs}; SLLogCollector gathers every upgrade log and prerequisite result."
        ),
        section(
            "*Nothing continues without a person.* Retry the step once the cause is "
            "fixed, or abort and follow the rollback plan (restore the VM snapshot / "
            "backup taken before the window)."
        ),
        {
            "type": "actions",
            "block_id": f"halt_{step.id}",
            "elements": [
                sure_button(
                    "Retry step",
                    RunAction.RETRY,
                    value,
                    "primary",
                    f"Trigger step {step.position} (`{step.package}`) again on every agent?",
                ),
                sure_button(
                    "Abort",
                    RunAction.ABORT,
                    value,
                    "danger",
                    "Mark the window failed and follow the rollback plan?",
                ),
            ],
        },
    ][:MAX_BLOCKS]


def manual_blocks(
    window: Window, step: UpgradeStep, instructions: Sequence[str], done_by: str | None
) -> Blocks:
    """A step a person runs in Cube (no upgradebot routes on this DMS)."""
    if done_by:
        return [
            section(
                f"✅ Step {step.position} (`{step.package}`) done in Cube, confirmed "
                f"by <@{done_by}>; every agent reported the expected version."
            )
        ]
    steps = "\n".join(f"{n}. {line}" for n, line in enumerate(instructions, 1))
    value = f"{window.id}:{step.position}:{step.attempt}"
    return [
        section(
            f"✋ *Step {step.position} by hand*: `{step.package}`. This DMS has no "
            "upgradebot routes, so a person runs the step in DataMiner Cube:"
        ),
        section(steps or "(no instructions)"),
        context_block(
            "The bot watches the agents' states and versions meanwhile; when you confirm, "
            "it checks that every agent is Running on the step's version."
        ),
        {
            "type": "actions",
            "block_id": f"manual_{step.id}",
            "elements": [
                sure_button(
                    "Done in Cube",
                    RunAction.MANUAL_DONE,
                    value,
                    "primary",
                    f"Cube reported step {step.position} completed on every agent?",
                ),
            ],
        },
    ][:MAX_BLOCKS]


def watch_blocks(window: Window, step: UpgradeStep, lines: Sequence[str]) -> Blocks:
    return [
        section(
            f"*Upgrade of {window.label}*: step {step.position} (`{step.package}`) is "
            "being run by hand in Cube; the agents now:"
        ),
        section("\n".join(f"• {line}" for line in lines[:40]) or "(no agents)"),
    ]
