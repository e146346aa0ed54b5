"""The change record of one window: everything an auditor asks for, from storage alone.

:func:`build_record` reads the window, its plan, acknowledgements, check runs and audit entries,
and walks the audit chain; :func:`to_markdown` and :func:`to_json` render the same record. The
record's order puts what a reviewer reads first (state, chain, gates) ahead of the long parts
(check results, timeline), so a cut for Slack's message limit loses the least.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from bot.domain.durations import format_duration
from bot.domain.errors import UnknownWindow
from bot.domain.gates import gate_statuses
from bot.domain.models import GATE_TITLES, AuditEntry, GateId, GateStatus, Window, WindowState
from bot.record.models import (
    SCHEMA_VERSION,
    AckPart,
    AgentPart,
    ChainPart,
    ChangeRecord,
    CheckRunPart,
    GatePart,
    PlanPart,
    StepPart,
    TimelinePart,
    UpgradeRunPart,
    WindowPart,
)
from storage import (
    Database,
    get_window,
    list_acks,
    list_audit,
    list_check_runs,
    verify_audit_chain,
)

NOT_REACHED = "not reached"  # a gate of a finished window that was never passed nor refused

# The state a window enters when a gate is passed, and the move that refuses one.
_PASSED_INTO = {
    GateId.G1: WindowState.APPROVED,
    GateId.G2: WindowState.PLANNED,
    GateId.G3: WindowState.READY,
    GateId.G4: WindowState.EXECUTING,
    GateId.G5: WindowState.DONE,
}
_REFUSED_BY = {
    GateId.G1: (WindowState.PROPOSED, WindowState.REJECTED),
    GateId.G5: (WindowState.VERIFYING, WindowState.FAILED),
}
_DURATION = TypeAdapter(timedelta)

__all__ = [
    "SCHEMA_VERSION",
    "ChangeRecord",
    "build_record",
    "to_json",
    "to_markdown",
    "to_thread_url",
]


def build_record(
    db: Database, window_id: int, *, tz: ZoneInfo, workspace_url: str | None = None
) -> ChangeRecord:
    """The record of ``window_id``; raises :class:`UnknownWindow` when there is none."""
    window = get_window(db, window_id)
    if window is None:
        raise UnknownWindow(f"#{window_id}")
    audit = list_audit(db, window_id)
    acks = list_acks(db, window_id)
    return ChangeRecord(
        time_zone=tz.key,
        window=_window_part(window, tz),
        thread_url=to_thread_url(window.channel, window.message_ts, workspace_url),
        audit_chain=_chain_part(db),
        plan=_plan_part(window.plan),
        gates=[
            GatePart(
                gate=gate,
                title=GATE_TITLES[gate],
                status=_gate_status(gate, window.state, audit),
                acknowledgements=[
                    AckPart.model_validate(a.model_dump()) for a in acks if a.gate is gate
                ],
            )
            for gate in GateId
        ],
        check_runs=[
            CheckRunPart.model_validate(r.model_dump()) for r in list_check_runs(db, window_id)
        ],
        upgrade_runs=_upgrade_runs(audit),
        timeline=[TimelinePart.model_validate(e.model_dump()) for e in audit],
    )


def to_thread_url(channel: str | None, ts: str | None, workspace_url: str | None) -> str | None:
    """A Slack permalink to the proposal (the thread's parent), or a ``slack://`` deep link."""
    if not (channel and ts):
        return None
    if not workspace_url:
        return f"slack://channel?id={channel}&message={ts}"
    base = workspace_url.strip().rstrip("/")
    if "://" not in base:
        base = f"https://{base}.slack.com"
    return f"{base}/archives/{channel}/p{ts.replace('.', '')}"


def to_json(record: ChangeRecord) -> str:
    return record.model_dump_json(indent=2)


def _window_part(window: Window, tz: ZoneInfo) -> WindowPart:
    return WindowPart(
        **window.model_dump(exclude={"start", "end", "plan", "revision"}),
        start_local=window.start.astimezone(tz),
        start_utc=window.start.astimezone(UTC),
        end_local=window.end.astimezone(tz),
        end_utc=window.end.astimezone(UTC),
    )


def _chain_part(db: Database) -> ChainPart:
    report = verify_audit_chain(db)
    if report.ok:
        noun = "entry" if report.entries == 1 else "entries"
        summary = f"the audit chain verifies ({report.entries} {noun})"
    else:
        summary = f"the audit chain is BROKEN at entry #{report.first_bad_id}"
    return ChainPart(
        ok=report.ok, entries=report.entries, first_bad_id=report.first_bad_id, summary=summary
    )


def _plan_part(stored: Mapping[str, Any]) -> PlanPart:
    """What the proposal planned, read leniently: a record is still useful with a bare plan."""
    path = stored.get("plan") or {}
    estimate = stored.get("estimate") or {}
    try:
        return PlanPart(
            current=(path.get("current") or {}).get("label"),
            target=(path.get("target") or {}).get("label"),
            agents=[AgentPart.model_validate(a) for a in stored.get("agents") or []],
            steps=[StepPart.model_validate(s) for s in path.get("steps") or []],
            estimate_low_minutes=_minutes(estimate.get("low")),
            estimate_high_minutes=_minutes(estimate.get("high")),
            warnings=[str(w) for w in stored.get("warnings") or []],
        )
    except (AttributeError, TypeError, ValidationError):
        return PlanPart(warnings=["The stored plan could not be read."])


def _minutes(value: object) -> int | None:
    if value is None:
        return None
    return int(_DURATION.validate_python(value).total_seconds() // 60)


def _as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _gate_status(gate: GateId, state: WindowState, audit: Sequence[AuditEntry]) -> str:
    """The domain's view for a live window; for a finished one, what the audit shows."""
    status = gate_statuses(state)[gate]
    if status is not GateStatus.OPEN or state.is_open:
        return status.value
    moves = {(e.before_state, e.after_state) for e in audit if e.before_state != e.after_state}
    if any(after == _PASSED_INTO[gate].value for _, after in moves):
        return GateStatus.PASSED.value
    refusal = _REFUSED_BY.get(gate)
    if refusal is not None and (refusal[0].value, refusal[1].value) in moves:
        return GateStatus.REFUSED.value
    return NOT_REACHED


def _upgrade_runs(audit: Sequence[AuditEntry]) -> list[UpgradeRunPart]:
    """Every run id the audit names (``detail.run_id``), in the order they first appear."""
    runs: dict[str, list[AuditEntry]] = {}
    for entry in audit:
        run_id = entry.detail.get("run_id")
        if run_id is not None and run_id != "":
            runs.setdefault(str(run_id), []).append(entry)
    parts = []
    for run_id, entries in runs.items():
        step = next((_as_int(e.detail["step"]) for e in entries if "step" in e.detail), None)
        package = next((e.detail["package"] for e in entries if e.detail.get("package")), None)
        parts.append(
            UpgradeRunPart(
                run_id=run_id,
                step=step,
                package=None if package is None else str(package),
                started_at=entries[0].at,
                last_action=entries[-1].action,
                last_at=entries[-1].at,
                actions=[e.action for e in entries],
            )
        )
    return parts


# -- markdown -------------------------------------------------------------------------------


def to_markdown(record: ChangeRecord) -> str:
    tz = ZoneInfo(record.time_zone)
    sections = [
        _summary_lines(record, tz),
        _gate_lines(record.gates, tz),
        _plan_lines(record.plan),
        _check_lines(record.check_runs, tz),
        ["## Upgrade runs", *(_run_line(run, tz) for run in record.upgrade_runs)]
        if record.upgrade_runs
        else ["## Upgrade runs", "- none"],
        ["## Timeline", *(_timeline_line(entry, tz) for entry in record.timeline)],
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _summary_lines(record: ChangeRecord, tz: ZoneInfo) -> list[str]:
    w = record.window
    return [
        f"# Change record #{w.id}: {w.system} → {w.target}",
        "",
        f"- **State:** {w.state}",
        f"- **Start:** {_when(w.start_utc, tz)}",
        f"- **End:** {_when(w.end_utc, tz)}",
        f"- **Proposed by:** {w.proposer} at {_when(w.created_at, tz)}",
        f"- **Reason:** {_one_line(w.reason) if w.reason else '—'}",
        f"- **Thread:** {record.thread_url or 'not posted to Slack'}",
        f"- **Audit:** {_sentence(record.audit_chain.summary)}. The chain covers the whole "
        f"log (every window); this window's {len(record.timeline)} entries are in the timeline.",
    ]


def _gate_lines(gates: Sequence[GatePart], tz: ZoneInfo) -> list[str]:
    lines = ["## Gates"]
    for gate in gates:
        lines.append(f"- **{gate.gate.value} {gate.title}:** {gate.status}")
        lines.extend(f"  - {_ack_line(ack, tz)}" for ack in gate.acknowledgements)
    return lines


def _check_lines(runs: Sequence[CheckRunPart], tz: ZoneInfo) -> list[str]:
    lines = ["## Check runs"]
    for run in runs:
        lines.append(f"- **{run.kind}** (run {run.id}) at {_when(run.at, tz)} · `{run.digest}`")
        lines.extend(
            f"  - {r.status.upper() or '?'} {_one_line(r.title)}: {_one_line(r.summary)}"
            for r in run.results
        )
    if not runs:
        lines.append("- none yet")
    return lines


def _plan_lines(plan: PlanPart) -> list[str]:
    path = f": {plan.current} → {plan.target}" if plan.current and plan.target else ""
    lines = [f"## Plan{path}"]
    if plan.agents:
        lines.append(
            "- **Agents:** " + ", ".join(f"{a.name} ({a.version}, {a.state})" for a in plan.agents)
        )
    for step in plan.steps:
        lines.append(
            f"- **Step {step.number}:** {step.from_label} → {step.to_label}: `{step.package}`"
        )
        lines.extend(f"  - prerequisite: `{name}`" for name in step.prerequisite_packages)
    if plan.estimate_low_minutes is not None and plan.estimate_high_minutes is not None:
        low, high = plan.estimate_low_minutes, plan.estimate_high_minutes
        shown = [format_duration(timedelta(minutes=m)) for m in (low, high)]
        lines.append(f"- **Estimate:** {shown[0]} – {shown[1]}")
    lines.extend(f"- ⚠️ {_one_line(warning)}" for warning in plan.warnings)
    return lines


def _ack_line(ack: AckPart, tz: ZoneInfo) -> str:
    parts = [f"{ack.decision} by {ack.user} at {_when(ack.at, tz)}"]
    if ack.digest:
        parts.append(f"evidence `{ack.digest}`")
    if ack.reason:
        parts.append(f"reason: {_one_line(ack.reason)}")
    return " · ".join(parts)


def _run_line(run: UpgradeRunPart, tz: ZoneInfo) -> str:
    step = f"step {run.step}" if run.step is not None else "step ?"
    package = f" `{run.package}`" if run.package else ""
    return (
        f"- run `{run.run_id}`: {step}{package}, from {_when(run.started_at, tz)}; "
        f"last: {run.last_action} at {_when(run.last_at, tz)}"
    )


def _timeline_line(entry: TimelinePart, tz: ZoneInfo) -> str:
    move = ""
    if entry.before_state or entry.after_state:
        move = f" ({entry.before_state or '—'} → {entry.after_state or '—'})"
    return f"- #{entry.id} {_when(entry.at, tz)} · {entry.actor} · {entry.action}{move}"


def _when(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    return f"{local} ({moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
