"""Block Kit for the proposal (the parent message every step refreshes), its decision line, and
the window lines of `/upgrade list` and `/upgrade status`. Pure functions of stored data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import (
    MAX_BLOCKS,
    MAX_TEXT,
    Blocks,
    button,
    clip,
    confirm_dialog,
    context_block,
    section,
)
from bot.domain.durations import format_duration
from bot.domain.estimates import DurationEstimate
from bot.domain.gates import gate_statuses, owed
from bot.domain.models import GATE_TITLES, Acknowledgement, GateStatus, Window, WindowState
from bot.domain.proposal import ProposalDetails
from bot.domain.requirements import describe_requirements
from bot.domain.windows import format_local, to_slack_date
from bot.escape import escape
from bot.ids import Action, Block
from bot.messages import decision_words
from checks.checklist import MANUAL_ITEMS

_GATE_ICONS = {GateStatus.OPEN: "○", GateStatus.PASSED: "✅", GateStatus.REFUSED: "⛔"}


def window_span(window: Window, tz: ZoneInfo) -> str:
    """Each reader sees their own zone; the fallback names the config's zone."""
    start = to_slack_date(window.start, "{date_short_pretty} {time}")
    end = to_slack_date(window.end, "{time}")
    return f"{start} – {end} ({format_duration(window.length)}; {format_local(window.start, tz)})"


def proposal_text(window: Window, details: ProposalDetails, tz: ZoneInfo) -> str:
    """The notification and screen-reader fallback for the proposal message."""
    return (
        f"Upgrade proposal {window.label}: {escape(window.system)} → {window.target}, "
        f"{format_local(window.start, tz)} for {format_duration(window.length)} "
        f"({len(details.plan.steps)} step(s)). State: {window.state.value}."
    )


def proposal(
    window: Window,
    details: ProposalDetails,
    tz: ZoneInfo,
    actor: str | None = None,
    halted_at: int | None = None,
) -> Blocks:
    blocks: Blocks = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": f"Upgrade {window.label}: {window.system} → {window.target}"[:150],
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*System*\n{escape(window.system)}"},
                {"type": "mrkdwn", "text": f"*Target*\n{window.target}"},
                {"type": "mrkdwn", "text": f"*Window*\n{window_span(window, tz)}"},
                {"type": "mrkdwn", "text": f"*Proposed by*\n<@{window.proposer}>"},
                {"type": "mrkdwn", "text": f"*Estimate*\n{_estimate(details)}"},
                {"type": "mrkdwn", "text": f"*Gates*\n{gates_line(window.state)}"},
            ],
        },
        section("*Agents*\n" + _agents(details)),
        *_sections("*Upgrade path*", _path_steps(details)),
        context_block(*_estimate_parts(details)),
    ]
    if details.warnings:
        blocks += _sections("*Warnings*", [f"⚠️ {w}" for w in details.warnings])
    blocks.append({"type": "divider"})
    blocks.append(decision_block(window, actor, halted_at))
    return blocks[:MAX_BLOCKS]


def gates_line(state: WindowState) -> str:
    statuses = gate_statuses(state)
    return " ".join(f"{_GATE_ICONS[status]}{gate.value}" for gate, status in statuses.items())


def _estimate(details: ProposalDetails) -> str:
    return estimate_span(details.estimate)


def estimate_span(estimate: DurationEstimate) -> str:
    """How an estimate reads wherever it is shown: ``1h10m – 1h49m``."""
    return f"{format_duration(estimate.low)} – {format_duration(estimate.high)}"


def _estimate_parts(details: ProposalDetails) -> list[str]:
    parts = [
        f"{part.label}: {format_duration(part.low)}–{format_duration(part.high)}"
        for part in details.estimate.parts
    ]
    source = f" ({details.startup_source})" if details.startup_source else ""
    return [f"Estimate{source}: " + "; ".join(parts)] if parts else ["No estimate parts."]


def _agents(details: ProposalDetails) -> str:
    lines = []
    for agent in details.agents[:40]:
        pair = f", failover pair with {agent.failover_partner}" if agent.failover_partner else ""
        lines.append(f"• `{agent.name}` {agent.version} ({agent.state}{pair})")
    if len(details.agents) > 40:
        lines.append(f"…and {len(details.agents) - 40} more")
    return "\n".join(lines) or "(no agents reported)"


def _path_steps(details: ProposalDetails) -> list[str]:
    """One text per step: its package, what runs first, why it is there and what it needs, each
    with the docs page that says so (issue #12)."""
    texts = []
    for step in details.plan.steps:
        lines = [
            f"{step.number}. {step.from_label} → *{step.to_label}*: `{step.package}` "
            f"({step.package_kind})"
        ]
        lines.extend(f"      first: `{pre}`" for pre in step.prerequisite_packages)
        lines.extend(f"      _{note}_" for note in step.notes)
        lines.append(f"      {describe_requirements(step.requirements)}")
        texts.append("\n".join(lines))
    return texts or ["(no steps)"]


def _sections(title: str, parts: Sequence[str]) -> Blocks:
    """``parts`` under ``title`` in as few sections as Slack's 3,000 characters allow."""
    chunks: list[str] = [title]
    for part in parts:
        if len(chunks[-1]) + 1 + len(part) > MAX_TEXT:
            chunks.append(part)
        else:
            chunks[-1] += "\n" + part
    return [section(chunk) for chunk in chunks]


def decision_block(
    window: Window, actor: str | None = None, halted_at: int | None = None
) -> dict[str, Any]:
    """Buttons while the window waits for G1; afterwards, who decided and when."""
    if window.state is WindowState.PROPOSED:
        return {
            "type": "actions",
            "block_id": Block.DECISION,
            "elements": [
                _button("Approve", Action.APPROVE, window, "primary"),
                _button("Reject", Action.REJECT, window, "danger"),
            ],
        }
    return context_block(decision_line(window, actor, halted_at))


def decision_line(window: Window, actor: str | None = None, halted_at: int | None = None) -> str:
    """The sentence that replaces the buttons; ``actor`` names who ended a window, and
    ``halted_at`` the step a running upgrade stopped at (the truth, not "upgrading now")."""
    when = (
        to_slack_date(window.decided_at, "{date_short_pretty} {time}") if window.decided_at else ""
    )
    who = f"<@{window.decided_by}>" if window.decided_by else "someone"
    reason = f": {escape(window.reason)}" if window.reason else ""
    if window.state is WindowState.REJECTED:
        return f"⛔ Rejected by {who} at {when}{reason}"
    if window.state is WindowState.CANCELLED:
        by = f" by <@{actor}>" if actor else ""
        return f"🚫 Cancelled{by}{reason}"
    if window.state is WindowState.EXPIRED:
        return f"⌛ Expired{reason}"
    approved = f"✅ Approved by {who} at {when}"
    if window.state is WindowState.EXECUTING and halted_at is not None:
        halted = f" · ⛔ halted at step {halted_at}: waiting for Retry or Abort in the thread"
        return approved + halted
    progress = {
        WindowState.EXECUTING: " · 🚀 upgrading now",
        WindowState.VERIFYING: " · 🔎 upgraded; verification waits for an operator",
        WindowState.DONE: " · ✅ done: upgraded and verified",
        WindowState.FAILED: f" · ❌ failed{reason}",
    }
    return approved + progress.get(window.state, "")


def _button(label: str, action: Action, window: Window, style: str) -> dict[str, Any]:
    confirm = None
    if action is Action.APPROVE:
        confirm = confirm_dialog(
            f"Approve {window.label}?",
            f"You sign off the window for *{escape(window.system)}* → *{window.target}*.",
            "Approve",
        )
    return button(label, action, f"{window.id}:{window.revision}", style, confirm)


def window_line(window: Window, tz: ZoneInfo) -> str:
    return (
        f"*{window.label}* {escape(window.system)} → {window.target}, {window_span(window, tz)}, "
        f"_{window.state.value}_ {gates_line(window.state)}"
    )


def window_list(title: str, windows: Sequence[Window], tz: ZoneInfo, empty: str) -> str:
    if not windows:
        return empty
    lines = [window_line(w, tz) for w in windows[:30]]
    if len(windows) > 30:
        lines.append(f"…and {len(windows) - 30} more.")
    return clip(f"*{title}*\n" + "\n".join(lines))


def status(
    window: Window,
    acks: Sequence[Acknowledgement],
    tz: ZoneInfo,
    estimate: DurationEstimate | None = None,
    refused: str | None = None,
) -> str:
    statuses = gate_statuses(window.state)
    lines = [window_line(window, tz)]
    if estimate is not None:
        lines.append(f"Estimate: {estimate_span(estimate)}")
    for gate, gate_status in statuses.items():
        done = [a for a in acks if a.gate is gate]
        who = ", ".join(
            f"{decision_words(a.decision, MANUAL_ITEMS)} by <@{a.user}> at "
            f"{to_slack_date(a.at, '{date_short_pretty} {time}')}"
            for a in done
        )
        shown = who or gate_status.value
        lines.append(f"{_GATE_ICONS[gate_status]} {gate.value} {GATE_TITLES[gate]}: {shown}")
    waiting = owed(window.state)
    if waiting is not None:
        gate, role = waiting
        lines.append(f"Owed: {gate.value} {GATE_TITLES[gate]}, by one of the {role}.")
    if window.message_ts is None and refused is not None:
        lines.append(
            f"⚠️ Slack refuses to post the proposal ({escape(refused)}): check the system's "
            "channel in the config and that the app may post there."
        )
    elif window.message_ts is None and window.state is WindowState.PROPOSED:
        lines.append(
            "⚠️ The proposal is not in Slack yet; the bot keeps posting it until Slack takes it."
        )
    return clip("\n".join(lines))
