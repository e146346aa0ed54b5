"""The change record: built from a real SQLite file, rendered as markdown and JSON."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import UnknownWindow
from bot.domain.estimates import estimate_duration
from bot.domain.models import GateId, Window, WindowState
from bot.domain.paths import plan_upgrade
from bot.domain.proposal import AgentLine, ProposalDetails
from bot.record import SCHEMA_VERSION, ChangeRecord, build_record, to_json, to_markdown
from bot.releases import load_catalog
from storage import (
    Database,
    append_audit,
    create_window,
    open_database,
    record_ack,
    record_check_run,
    set_message_ref,
    transition,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)  # 22:00 CET
TS = "1764061200.000100"
PROPOSER, APPROVER, OPERATOR = "U0OLGA", "U0ANNA", "U0ALEX"
PRECHECK_DIGEST = "ab" * 32
VERIFY_DIGEST = "cd" * 32
S = WindowState


def proposal_plan() -> dict[str, object]:
    """What /upgrade propose stores as the window's plan, from the real catalog."""
    catalog = load_catalog()
    names = ("dma-lab-01", "dma-lab-02")
    plan = plan_upgrade(catalog, dict.fromkeys(names, "10.3.0.0-13012"), catalog.resolve("10.5"))
    details = ProposalDetails(
        agents=[
            AgentLine(name=n, version="10.3.0 CU0", raw_version="10.3.0.0-13012", state="running")
            for n in names
        ],
        plan=plan,
        estimate=estimate_duration(plan, len(names), timedelta(minutes=10)),
        warnings=["Failover pair (dma-lab-02): upgrade simultaneously."],
    )
    return details.model_dump(mode="json")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "x.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_database(db_path)
    yield database
    database.close()


def propose(db: Database, start: datetime = START) -> Window:
    window = create_window(
        db,
        system="lab",
        target="10.5.0 CU18",
        start=start,
        end=start + timedelta(hours=4),
        proposer=PROPOSER,
        created_at=T0,
        plan=proposal_plan(),
        channel="C0OPS",
        slack_action="command@trigger-1",
    )
    set_message_ref(db, window.id, channel="C0OPS", ts=TS, at=T0 + timedelta(seconds=1))
    return window


def move(
    db: Database,
    window: Window,
    source: S,
    to: S,
    minutes: int,
    *,
    action: str,
    actor: str = OPERATOR,
    gate: GateId | None = None,
    digest: str | None = None,
    reason: str | None = None,
) -> None:
    """One transition ``minutes`` after T0; a gate's decision is named like the action."""
    at = T0 + timedelta(minutes=minutes)
    transition(
        db,
        window.id,
        expected=source,
        to=to,
        actor=actor,
        action=action,
        at=at,
        gate=gate,
        decision=action if gate else None,
        digest=digest,
        reason=reason,
    )


def carry_to_done(db: Database) -> Window:
    """A whole night: every gate acknowledged, a pre-check, two triggered steps, verification."""
    window = propose(db)
    move(db, window, S.PROPOSED, S.APPROVED, 60, actor=APPROVER, action="approve", gate=GateId.G1)
    record_ack(
        db,
        window_id=window.id,
        gate=GateId.G2,
        user=OPERATOR,
        decision="waive",
        at=T0 + timedelta(minutes=70),
        reason="hotfixes: none needed",
    )
    move(db, window, S.APPROVED, S.PLANNED, 80, action="close_details", gate=GateId.G2)
    precheck = [
        {
            "key": "agents_running",
            "title": "All agents Running",
            "status": "pass",
            "summary": "2 of 2 agents Running",
            "details": [],
            "facts": {},
        },
        {
            "key": "alarms",
            "title": "No critical or major alarms",
            "status": "warn",
            "summary": "1 minor alarm",
            "details": [],
            "facts": {},
        },
    ]
    record_check_run(
        db,
        window_id=window.id,
        kind="precheck",
        at=T0 + timedelta(minutes=90),
        digest=PRECHECK_DIGEST,
        results=precheck,
    )
    move(
        db,
        window,
        S.PLANNED,
        S.READY,
        100,
        action="accept_precheck",
        gate=GateId.G3,
        digest=PRECHECK_DIGEST,
    )
    move(db, window, S.READY, S.EXECUTING, 110, action="go", gate=GateId.G4, digest=PRECHECK_DIGEST)
    for number, (run_id, package) in enumerate(
        [
            ("sim-run-7", "DataMiner 10.4.0.0(CU21)-0 Full Upgrade.dmupgrade"),
            ("sim-run-8", "DataMiner 10.5.0.0(CU18)-0 Full Upgrade.dmupgrade"),
        ],
        start=1,
    ):
        for offset, action in ((0, "step_triggered"), (5, "step_finished")):
            append_audit(
                db,
                actor="upgradebot",
                action=action,
                window_id=window.id,
                at=T0 + timedelta(minutes=110 + 10 * number + offset),
                detail={"step": number, "package": package, "run_id": run_id},
            )
    move(db, window, S.EXECUTING, S.VERIFYING, 140, actor="upgradebot", action="execution_finished")
    record_check_run(
        db,
        window_id=window.id,
        kind="verify",
        at=T0 + timedelta(minutes=145),
        digest=VERIFY_DIGEST,
        results=[
            {
                "key": "versions",
                "title": "Target version",
                "status": "pass",
                "summary": "2 of 2 agents on 10.5.0 CU18",
            }
        ],
    )
    move(
        db, window, S.VERIFYING, S.DONE, 150, action="verify", gate=GateId.G5, digest=VERIFY_DIGEST
    )
    return window


def test_the_window_shows_in_the_config_zone_and_in_utc_with_a_permalink(db: Database) -> None:
    window = propose(db)
    record = build_record(db, window.id, tz=BRUSSELS, workspace_url="https://acme.slack.com/")
    markdown = to_markdown(record)
    assert "# Change record #1: lab → 10.5.0 CU18" in markdown
    assert "**Start:** 2026-12-02 22:00 CET (2026-12-02 21:00 UTC)" in markdown
    assert "**End:** 2026-12-03 02:00 CET (2026-12-03 01:00 UTC)" in markdown
    assert f"**Proposed by:** {PROPOSER}" in markdown
    assert "https://acme.slack.com/archives/C0OPS/p1764061200000100" in markdown
    data = json.loads(to_json(record))
    assert data["window"]["start_local"] == "2026-12-02T22:00:00+01:00"
    assert data["window"]["start_utc"] == "2026-12-02T21:00:00Z"
    assert data["window"]["state"] == "proposed"


def test_a_summer_window_shows_daylight_saving_time(db: Database) -> None:
    window = propose(db, start=datetime(2027, 7, 1, 20, 0, tzinfo=UTC))
    record = build_record(db, window.id, tz=BRUSSELS)
    assert "**Start:** 2027-07-01 22:00 CEST (2027-07-01 20:00 UTC)" in to_markdown(record)
    assert record.window.start_local.isoformat() == "2027-07-01T22:00:00+02:00"


def test_without_a_workspace_the_thread_is_a_slack_deep_link(db: Database) -> None:
    window = propose(db)
    record = build_record(db, window.id, tz=BRUSSELS)
    assert record.thread_url == f"slack://channel?id=C0OPS&message={TS}"


def test_the_plan_lists_steps_packages_prerequisites_estimate_and_warnings(db: Database) -> None:
    window = propose(db)
    record = build_record(db, window.id, tz=BRUSSELS)
    stored = ProposalDetails.model_validate(window.plan)
    assert [s.package for s in record.plan.steps] == [s.package for s in stored.plan.steps]
    markdown = to_markdown(record)
    for step in stored.plan.steps:
        assert f"`{step.package}`" in markdown
        for prerequisite in step.prerequisite_packages:
            assert f"prerequisite: `{prerequisite}`" in markdown
    low = int(stored.estimate.low.total_seconds() // 60)
    assert record.plan.estimate_low_minutes == low
    assert "**Estimate:** " in markdown
    assert "⚠️ Failover pair (dma-lab-02)" in markdown
    assert "dma-lab-01 (10.3.0 CU0, running)" in markdown


def test_a_bare_plan_still_gives_a_record(db: Database) -> None:
    window = create_window(
        db,
        system="lab",
        target="10.5.0 CU3",
        start=START,
        end=START + timedelta(hours=2),
        proposer=PROPOSER,
        created_at=T0,
        plan={"steps": ["10.5.0.0-15230"]},
        channel=None,
    )
    record = build_record(db, window.id, tz=BRUSSELS)
    assert record.plan.steps == [] and record.thread_url is None
    assert "**Thread:** not posted to Slack" in to_markdown(record)


def test_every_gate_shows_who_when_the_decision_reason_and_evidence(db: Database) -> None:
    window = carry_to_done(db)
    record = build_record(db, window.id, tz=BRUSSELS)
    assert [(g.gate, g.status) for g in record.gates] == [(gate, "passed") for gate in GateId]
    markdown = to_markdown(record)
    assert "**G1 Window approved:** passed" in markdown
    assert f"approve by {APPROVER} at 2026-11-25 11:00 CET (2026-11-25 10:00 UTC)" in markdown
    assert f"waive by {OPERATOR}" in markdown and "reason: hotfixes: none needed" in markdown
    assert f"accept_precheck by {OPERATOR}" in markdown
    assert f"evidence `{PRECHECK_DIGEST}`" in markdown
    assert f"verify by {OPERATOR}" in markdown and f"evidence `{VERIFY_DIGEST}`" in markdown
    g4 = json.loads(to_json(record))["gates"][3]
    assert g4["gate"] == "G4" and g4["acknowledgements"][0]["digest"] == PRECHECK_DIGEST


def test_check_runs_show_kind_time_digest_and_each_result(db: Database) -> None:
    window = carry_to_done(db)
    record = build_record(db, window.id, tz=BRUSSELS)
    assert [(r.kind, r.digest) for r in record.check_runs] == [
        ("precheck", PRECHECK_DIGEST),
        ("verify", VERIFY_DIGEST),
    ]
    markdown = to_markdown(record)
    assert "**precheck** (run 1) at 2026-11-25 11:30 CET (2026-11-25 10:30 UTC) · " in markdown
    assert "PASS All agents Running: 2 of 2 agents Running" in markdown
    assert "WARN No critical or major alarms: 1 minor alarm" in markdown
    assert "PASS Target version: 2 of 2 agents on 10.5.0 CU18" in markdown


def test_upgrade_run_ids_come_from_the_audit(db: Database) -> None:
    window = carry_to_done(db)
    record = build_record(db, window.id, tz=BRUSSELS)
    runs = [(r.run_id, r.step, r.last_action, r.actions) for r in record.upgrade_runs]
    assert runs == [
        ("sim-run-7", 1, "step_finished", ["step_triggered", "step_finished"]),
        ("sim-run-8", 2, "step_finished", ["step_triggered", "step_finished"]),
    ]
    assert "run `sim-run-7`: step 1 `DataMiner 10.4.0.0(CU21)-0" in to_markdown(record)


def test_the_timeline_is_every_audit_entry_of_the_window_with_its_states(db: Database) -> None:
    other = propose(db, start=START + timedelta(days=3))
    window = carry_to_done(db)
    record = build_record(db, window.id, tz=BRUSSELS)
    actions = [e.action for e in record.timeline]
    assert actions[:3] == ["proposed", "posted", "approve"]
    assert actions[-1] == "verify" and len(actions) == 15
    assert all(e.id not in {1, 2} for e in record.timeline)  # window #1's entries stay out
    markdown = to_markdown(record)
    assert f"· {APPROVER} · approve (proposed → approved)" in markdown
    assert f"· {OPERATOR} · verify (verifying → done)" in markdown
    assert "The audit chain verifies (17 entries)" in markdown
    assert other.id == 1


def test_refused_and_unreached_gates_of_finished_windows(db: Database) -> None:
    rejected = propose(db)
    move(
        db,
        rejected,
        S.PROPOSED,
        S.REJECTED,
        30,
        actor=APPROVER,
        action="reject",
        gate=GateId.G1,
        reason="clashes with the broadcast",
    )
    record = build_record(db, rejected.id, tz=BRUSSELS)
    assert [g.status for g in record.gates] == ["refused"] + ["not reached"] * 4
    markdown = to_markdown(record)
    assert "**Reason:** clashes with the broadcast" in markdown
    assert "reason: clashes with the broadcast" in markdown


def test_the_json_has_a_schema_version_and_round_trips(db: Database) -> None:
    window = carry_to_done(db)
    record = build_record(db, window.id, tz=BRUSSELS, workspace_url="acme")
    data = json.loads(to_json(record))
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["thread_url"] == "https://acme.slack.com/archives/C0OPS/p1764061200000100"
    assert data["audit_chain"] == {
        "ok": True,
        "entries": 15,
        "first_bad_id": None,
        "summary": "the audit chain verifies (15 entries)",
    }
    assert ChangeRecord.model_validate_json(to_json(record)) == record


def test_a_tampered_chain_is_reported_broken(db: Database, db_path: Path) -> None:
    window = carry_to_done(db)
    db.close()
    raw = sqlite3.connect(db_path)
    raw.execute("DROP TRIGGER audit_log_no_update")
    raw.execute("UPDATE audit_log SET actor = 'U0MALLORY' WHERE id = 3")
    raw.commit()
    raw.close()
    reopened = open_database(db_path)
    try:
        record = build_record(reopened, window.id, tz=BRUSSELS)
    finally:
        reopened.close()
    assert (record.audit_chain.ok, record.audit_chain.first_bad_id) == (False, 3)
    assert "The audit chain is BROKEN at entry #3" in to_markdown(record)
    assert json.loads(to_json(record))["audit_chain"]["ok"] is False


def test_an_unknown_window_is_an_input_error(db: Database) -> None:
    with pytest.raises(UnknownWindow, match="no window `#99`"):
        build_record(db, 99, tz=BRUSSELS)
