"""The pre-check as a whole: every check guarded, worst first, a tally, a digest that pins what
was acknowledged, and sentences for what changed between two runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

import checks
from bot.agents.models import AgentState, AlarmSummary, Severity
from bot.domain.paths import UpgradePlan
from checks import (
    GIB,
    PRECHECKS,
    CheckResult,
    CheckSettings,
    CheckStatus,
    ClusterSnapshot,
    KeyCheck,
    describe_changes,
    evidence_digest,
    has_blocking,
    run_checks,
    summary_line,
    worst_first,
)
from checks.common import to_size
from tests.checks import NOW, PLAN, QUIET_PLAN, alarm, healthy, lab_cluster, settings
from tests.domain.test_domain_imports import border_violations

KEY_CHECKS = [KeyCheck(name="Lab runs", kind="agent_running", agent="dma-lab-01")]


def result(key: str, status: CheckStatus, summary: str = "s", **facts: str) -> CheckResult:
    return CheckResult(key=key, title=key.title(), status=status, summary=summary, facts=facts)


def test_a_healthy_lab_passes_every_check_in_reading_order() -> None:
    results = run_checks(healthy(), QUIET_PLAN, settings(key_checks=KEY_CHECKS))
    assert [r.key for r in results] == [key for key, _, _ in PRECHECKS]
    assert {r.key: r.status for r in results} == dict.fromkeys(
        (key for key, _, _ in PRECHECKS), CheckStatus.PASS
    )
    assert summary_line(results) == "10 passed"
    assert not has_blocking(results)


def test_each_check_reports_under_the_key_and_title_the_table_gives_it() -> None:
    for key, title, check in PRECHECKS:
        got = check(healthy(), PLAN, settings())
        assert (got.key, got.title) == (key, title)


def test_a_check_that_raises_becomes_an_error_naming_it_and_the_others_still_run() -> None:
    def exploding(
        snapshot: ClusterSnapshot, plan: UpgradePlan | None, s: CheckSettings
    ) -> CheckResult:
        raise ZeroDivisionError("division by zero")

    table = [PRECHECKS[0], ("broken", "Broken thing", exploding), PRECHECKS[1]]
    results = run_checks(healthy(), PLAN, settings(), checks=table)
    assert [r.key for r in results] == ["agents_running", "broken", "alarms"]
    broken = results[1]
    assert broken.status is CheckStatus.ERROR
    assert broken.summary.startswith("The Broken thing check broke and could not decide")
    assert broken.details == ["ZeroDivisionError: division by zero"]
    assert has_blocking(results)


def test_a_snapshot_with_every_read_failed_gives_errors_never_a_pass_or_a_crash() -> None:
    snapshot = ClusterSnapshot(
        system="lab",
        taken_at=NOW,
        errors={"cluster": "c.", "alarms": "a.", "requirements": "r.", "backups": "b."},
    )
    results = run_checks(snapshot, PLAN, settings(key_checks=KEY_CHECKS))
    statuses = {r.key: r.status for r in results}
    assert statuses.pop("known_issues") is CheckStatus.WARN  # the plan alone answers it
    assert statuses.pop("cluster_stable") is CheckStatus.PASS  # not needed without a migration
    assert set(statuses.values()) == {CheckStatus.ERROR}
    assert summary_line(results) == "8 could not run, 1 warning, 1 passed"


def test_worst_first_puts_errors_then_failures_then_warnings_keeping_run_order() -> None:
    results = [
        result("a", CheckStatus.PASS),
        result("b", CheckStatus.WARN),
        result("c", CheckStatus.FAIL),
        result("d", CheckStatus.ERROR),
        result("e", CheckStatus.FAIL),
    ]
    assert [r.key for r in worst_first(results)] == ["d", "c", "e", "b", "a"]


@pytest.mark.parametrize(
    ("statuses", "line"),
    [
        ([], "no checks"),
        (["pass"] * 6 + ["fail", "fail", "warn"], "2 failed, 1 warning, 6 passed"),
        (["warn", "warn", "error"], "1 could not run, 2 warnings"),
    ],
)
def test_summary_line(statuses: list[str], line: str) -> None:
    assert summary_line([result(str(i), CheckStatus(s)) for i, s in enumerate(statuses)]) == line


def test_fail_and_error_block_a_gate_and_warn_does_not() -> None:
    assert [s.value for s in CheckStatus if s.blocks] == ["fail", "error"]
    assert not has_blocking([result("a", CheckStatus.WARN), result("b", CheckStatus.PASS)])


def test_the_digest_ignores_the_order_of_results_and_facts_but_not_what_they_say() -> None:
    results = run_checks(healthy(), PLAN, settings())
    digest = evidence_digest(results)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert evidence_digest(list(reversed(results))) == digest
    assert evidence_digest(worst_first(results)) == digest
    changed = [results[0].model_copy(update={"summary": "All 3 agents are Running!"})]
    assert evidence_digest(changed + results[1:]) != digest
    spoiled = [*results[:-1], results[-1].model_copy(update={"status": CheckStatus.FAIL})]
    assert evidence_digest(spoiled) != digest
    more = [*results[:1], results[1].model_copy(update={"details": ["one more line"]})]
    assert evidence_digest(more + results[2:]) != digest
    refacted = [results[0].model_copy(update={"facts": {}}), *results[1:]]
    assert evidence_digest(refacted) == digest


def test_the_same_snapshot_gives_the_same_digest() -> None:
    first = evidence_digest(run_checks(healthy(), PLAN, settings()))
    assert evidence_digest(run_checks(healthy(), PLAN, settings())) == first


def test_changes_between_two_runs_read_as_sentences() -> None:
    before = run_checks(healthy(), QUIET_PLAN, settings())
    later = healthy(
        cluster=lab_cluster(dma_lab_02=AgentState.DISCONNECTED),
        alarms=AlarmSummary.from_alarms([alarm(Severity.CRITICAL, "Core Router 01")]),
    )
    after = run_checks(later, QUIET_PLAN, settings())
    sentences = describe_changes(before, after)
    assert "Agents: dma-lab-02 was running, now disconnected." in sentences
    assert (
        "Alarms: was pass (0 critical, 0 major active (1 minor, 1 warning)), now fail "
        "(1 critical, 0 major active: Core Router 01 / Input Bitrate = 0 Mbps on dma-lab-01 "
        "since 2026-12-01 20:00 UTC)." in sentences
    )
    assert (
        "Failover pairs: dma-lab-02 + dma-lab-03 was healthy, now dma-lab-02 is Disconnected."
        in sentences
    )


def test_nothing_changed_gives_no_sentences() -> None:
    results = run_checks(healthy(), PLAN, settings())
    assert describe_changes(results, run_checks(healthy(), PLAN, settings())) == []


def test_a_summary_change_without_a_status_change_is_still_said() -> None:
    before = [result("alarms", CheckStatus.PASS, "0 critical, 0 major active.")]
    after = [result("alarms", CheckStatus.PASS, "0 critical, 0 major active (2 minor).")]
    assert describe_changes(before, after) == [
        "Alarms: still pass; was 0 critical, 0 major active, now 0 critical, 0 major active "
        "(2 minor)."
    ]


def test_checks_and_subjects_that_appear_or_disappear_are_said() -> None:
    before = [result("agents", CheckStatus.PASS, a="running"), result("old", CheckStatus.WARN)]
    after = [result("agents", CheckStatus.PASS, b="running"), result("new", CheckStatus.FAIL)]
    assert describe_changes(before, after) == [
        "Agents: b is new, running.",
        "Agents: a is gone (was running).",
        "New: new, fail (s).",
        "Old: no longer checked (was warn).",
    ]


def test_the_snapshot_round_trips_through_json() -> None:
    snapshot = healthy(errors={"backups": "late."}, backups=None)
    text = snapshot.model_dump_json()
    assert ClusterSnapshot.model_validate_json(text) == snapshot


def test_settings_need_an_aware_now_and_ordered_thresholds() -> None:
    with pytest.raises(ValidationError, match="aware"):
        CheckSettings(now=datetime(2026, 12, 1, 22, 0))
    with pytest.raises(ValidationError, match="disk_fail_bytes"):
        CheckSettings(now=NOW, disk_warn_bytes=1, disk_fail_bytes=2)
    assert CheckSettings(now=NOW).backup_max_age == timedelta(days=7)


def test_times_in_another_zone_are_judged_and_shown_in_utc() -> None:
    from zoneinfo import ZoneInfo

    brussels = NOW.astimezone(ZoneInfo("Europe/Brussels"))
    backups = dict.fromkeys(
        ["dma-lab-01", "dma-lab-02", "dma-lab-03"], brussels - timedelta(days=1)
    )
    results = run_checks(healthy(backups=backups), PLAN, CheckSettings(now=brussels))
    backup = next(r for r in results if r.key == "backups")
    assert backup.status is CheckStatus.PASS
    assert backup.details[0] == "dma-lab-01: newest backup 2026-11-30 22:00 UTC, 24 h ago."


@pytest.mark.parametrize(
    "module", sorted(Path(checks.__file__).parent.glob("*.py")), ids=lambda p: p.name
)
def test_checks_modules_import_nothing_impure_and_read_no_clock(module: Path) -> None:
    assert border_violations(module.read_text(encoding="utf-8")) == []


def test_a_check_that_turns_into_an_error_is_one_sentence_not_a_list_of_losses() -> None:
    before = run_checks(healthy(), QUIET_PLAN, settings())
    unread = healthy(requirements=None, errors={"requirements": "dma-lab-02 timed out."})
    sentences = describe_changes(before, run_checks(unread, QUIET_PLAN, settings()))
    assert sentences == [
        "Minimum requirements: was pass (Every agent meets the requirements of every step "
        "(3 agents, 2 steps)), now error (Could not check: dma-lab-02 timed out).",
        "Free disk: was pass (Room for 5.6 GB of packages on every agent (least free: "
        "dma-lab-01)), now error (Could not check: dma-lab-02 timed out).",
    ]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (2048, "2.0 KB"),
        (5 * 1024**2, "5.0 MB"),
        (10 * GIB, "10.0 GB"),
    ],
)
def test_sizes_read_as_windows_writes_them(size: int, text: str) -> None:
    assert to_size(size) == text
