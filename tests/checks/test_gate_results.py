"""The results the shell adds to a run (estimate, upload, G5), the one table of which checks each
run uses, and the G2 checklist's rules: all pure, judged here without Slack or a database."""

from __future__ import annotations

from datetime import timedelta

from bot.agents.models import UploadReport, UploadResult
from bot.domain.models import Acknowledgement, GateId
from checks import PRECHECKS, RUNS, CheckResult, CheckStatus, RunKind, by_hand
from checks.checklist import AUTOMATIC_KEYS, MANUAL_ITEMS, ItemStatus, checklist, is_complete
from checks.estimate import estimate_result
from checks.upload import upload_by_hand, upload_result
from checks.verify import alarms_result, versions_result
from tests.checks import NOW, healthy

MIN = timedelta(minutes=1)


def ack(decision: str, user: str = "U0OLGA", reason: str | None = None) -> Acknowledgement:
    return Acknowledgement(
        id=1, window_id=1, gate=GateId.G2, user=user, decision=decision, at=NOW, reason=reason
    )


def passed(key: str, status: CheckStatus = CheckStatus.PASS) -> CheckResult:
    return CheckResult(key=key, title=key.title(), status=status, summary=f"{key} said so.")


def test_every_run_names_only_checks_that_exist_and_the_precheck_runs_them_all() -> None:
    known = {key for key, _, _ in PRECHECKS}
    for spec in RUNS.values():
        assert set(spec.checks or ()) <= known
    assert [k for k, _, _ in RUNS[RunKind.PRECHECK].chosen()] == [k for k, _, _ in PRECHECKS]
    assert RUNS[RunKind.PRECHECK].keys[-1] == "upload"
    assert [k for k, _, _ in RUNS[RunKind.QUICK].chosen()] == [
        "agents_running",
        "alarms",
        "failover",
        "cluster_stable",
    ]


def test_the_checklist_automatic_items_are_the_details_run() -> None:
    assert RUNS[RunKind.DETAILS].keys == AUTOMATIC_KEYS
    assert AUTOMATIC_KEYS[-1] == "estimate_fits"


def test_an_unanswered_checklist_is_open_and_not_complete() -> None:
    items = checklist([passed(k) for k in AUTOMATIC_KEYS], [])
    assert [i.key for i in items] == [*AUTOMATIC_KEYS, *MANUAL_ITEMS]
    assert {i.status for i in items if i.automatic} == {ItemStatus.OK}
    assert {i.status for i in items if not i.automatic} == {ItemStatus.OPEN}
    assert not is_complete(items)
    assert not is_complete([])


def test_confirmed_waived_and_warned_items_settle_and_a_failure_blocks_until_waived() -> None:
    results = [passed(k) for k in AUTOMATIC_KEYS[:-2]] + [
        passed("known_issues", CheckStatus.WARN),
        passed("estimate_fits", CheckStatus.FAIL),
    ]
    acks = [ack(f"confirm:{key}") for key in MANUAL_ITEMS]
    items = {i.key: i for i in checklist(results, acks)}
    assert items["known_issues"].status is ItemStatus.WARN
    assert items["estimate_fits"].status is ItemStatus.BLOCKED
    assert not is_complete(list(items.values()))

    waived = checklist(results, [*acks, ack("waive:estimate_fits", "U0ALEX", "Two hours spare.")])
    item = {i.key: i for i in waived}["estimate_fits"]
    assert (item.status, item.by, item.reason) == (ItemStatus.WAIVED, "U0ALEX", "Two hours spare.")
    assert is_complete(waived)


def test_acknowledgements_of_other_gates_do_not_settle_items() -> None:
    other = Acknowledgement(
        id=2, window_id=1, gate=GateId.G3, user="U0OLGA", decision="confirm:backup", at=NOW
    )
    items = {i.key: i for i in checklist([], [other])}
    assert items["backup"].status is ItemStatus.OPEN


def test_the_estimate_fits_or_says_how_to_settle_it() -> None:
    fits = estimate_result(90 * MIN, 120 * MIN)
    assert (fits.status, fits.summary) == (
        CheckStatus.PASS,
        "Estimate up to 1h30m in a window of 2h.",
    )
    too_long = estimate_result(121 * MIN, 120 * MIN)
    assert too_long.status is CheckStatus.FAIL
    assert "lengthen the window or waive" in too_long.summary


def test_the_upload_report_fails_the_cluster_when_one_agent_fails() -> None:
    ok = UploadResult(agent="dma-lab-01", package="p.dmupgrade", ok=True, message="ok")
    bad = UploadResult(
        agent="dma-lab-02",
        package="p.dmupgrade",
        ok=False,
        message="prerequisites failed",
        prerequisite_failures=[".NET 4.8 missing"],
    )
    assert upload_result(UploadReport(packages=["p.dmupgrade"], results=[ok]), None).status is (
        CheckStatus.PASS
    )
    failed = upload_result(UploadReport(packages=["p.dmupgrade"], results=[ok, bad]), None)
    assert failed.status is CheckStatus.FAIL
    assert failed.facts == {"dma-lab-01": "ok", "dma-lab-02": "failed"}
    assert failed.details == ["dma-lab-02: p.dmupgrade: prerequisites failed (.NET 4.8 missing)"]
    assert upload_result(None, "The upload did not finish in time.").status is CheckStatus.ERROR
    by_person = upload_by_hand(["In Cube, open the Manage tab."])
    assert by_person.status is CheckStatus.WARN
    assert by_person.details == ["In Cube, open the Manage tab."]


def test_g5_wants_every_agent_on_the_target_and_alarms_not_worse() -> None:
    on = versions_result("10.5.0 CU3", {"a": "10.5.0 CU3", "b": "10.5.0 CU3"})
    assert on.status is CheckStatus.PASS
    off = versions_result("10.5.0 CU3", {"a": "10.5.0 CU3", "b": "10.4.0 CU21"})
    assert (off.status, off.summary) == (CheckStatus.FAIL, "b runs 10.4.0 CU21")
    assert versions_result("10.5.0 CU3", {}).status is CheckStatus.FAIL  # nothing read: not ok
    assert alarms_result({"critical": 1}, {"critical": 1, "minor": 9}).status is CheckStatus.PASS
    worse = alarms_result({"major": 0}, {"major": 2})
    assert (worse.status, worse.summary) == (
        CheckStatus.FAIL,
        "More severe alarms than the day before: major: 0 → 2",
    )


def test_a_part_the_adapter_leaves_to_a_person_turns_its_error_into_a_warning() -> None:
    snapshot = healthy().model_copy(update={"manual": {"backups": "Look in Cube.\nThen here."}})
    error = CheckResult(key="backups", title="Backups", status=CheckStatus.ERROR, summary="x")
    warned = by_hand(error, snapshot)
    assert (warned.status, warned.details) == (CheckStatus.WARN, ["Look in Cube.", "Then here."])
    other = error.model_copy(update={"key": "alarms"})
    assert by_hand(other, snapshot) == other
