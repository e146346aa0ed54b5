"""Which packages the path needs, and whether the store has them unchanged."""

from __future__ import annotations

from bot.domain.paths import NATS_MIGRATION, VERIFY_CLUSTER_PORTS
from checks import CheckStatus, PackageState, check_packages, needed_packages
from tests.checks import (
    FIRST_SEEN,
    OTHER_SHA,
    PLAN,
    SHA,
    STORE,
    healthy,
    package_ok,
    settings,
)

FIRST, SECOND = needed_packages(PLAN)
HOTFIX = "DataMiner 10.5.0.0 Hotfix 12345.dmupgrade"


def test_needed_packages_follow_the_steps_with_prerequisites_first_then_hotfixes() -> None:
    first, second = PLAN.steps
    step = second.model_copy(update={"prerequisite_packages": [NATS_MIGRATION]})
    again = first.model_copy(
        update={"number": 3, "prerequisite_packages": [VERIFY_CLUSTER_PORTS, NATS_MIGRATION]}
    )
    plan = PLAN.model_copy(update={"steps": [first, step, again]})
    assert needed_packages(plan, [HOTFIX, first.package]) == [
        first.package,
        NATS_MIGRATION,
        second.package,
        VERIFY_CLUSTER_PORTS,
        HOTFIX,
    ]


def test_every_package_present_and_unchanged_passes() -> None:
    result = check_packages(healthy(), PLAN, settings())
    assert result.status is CheckStatus.PASS
    assert result.summary == (
        "Every package is in the store, unchanged since first seen (2 packages)."
    )
    assert result.details[0] == (
        f"{FIRST.replace('*', '15999')}: 1,500,000,000 bytes (1.4 GB), SHA-256 {SHA}."
    )
    assert result.facts == {FIRST: "ok", SECOND: "ok"}


def test_a_missing_package_fails_naming_the_file_and_the_store() -> None:
    missing = PackageState(name=SECOND, present=False, directory=STORE)
    result = check_packages(healthy(packages=[package_ok(FIRST), missing]), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert result.summary == f"Missing: {SECOND} (not in {STORE})."
    assert result.facts[SECOND] == "missing"


def test_a_package_changed_since_first_seen_is_refused() -> None:
    changed = package_ok(SECOND).model_copy(
        update={"changed_since_first_seen": True, "sha256": OTHER_SHA, "size": 1_400_000_000}
    )
    result = check_packages(healthy(packages=[package_ok(FIRST), changed]), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    file = SECOND.replace("*", "15999")
    assert result.summary.startswith(f"Refused: {file} changed since first seen on 2026-11-20 (")
    assert f"then 1,500,000,000 bytes (1.4 GB), SHA-256 {SHA}" in result.summary
    assert f"now 1,400,000,000 bytes (1.3 GB), SHA-256 {OTHER_SHA}" in result.summary
    assert result.facts[SECOND] == "changed"
    assert FIRST_SEEN.date().isoformat() in result.details[0]


def test_several_files_matching_one_name_fail() -> None:
    ambiguous = PackageState(
        name=SECOND, present=False, directory=STORE, candidates=["a.dmupgrade", "b.dmupgrade"]
    )
    result = check_packages(healthy(packages=[package_ok(FIRST), ambiguous]), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert "a.dmupgrade, b.dmupgrade; keep exactly one" in result.summary


def test_a_hotfix_that_was_not_scanned_fails_and_several_problems_are_counted() -> None:
    missing = PackageState(name=SECOND, present=False)
    result = check_packages(
        healthy(packages=[package_ok(FIRST), missing]), PLAN, settings(hotfixes=[HOTFIX])
    )
    assert result.status is CheckStatus.FAIL
    assert result.summary == "2 of 3 packages are missing or refused."
    assert result.details[:2] == [
        f"Missing: {SECOND} (not in the package store).",
        f"Not looked for in the store: {HOTFIX}.",
    ]


def test_packages_unscanned_or_without_a_plan_is_an_error() -> None:
    snapshot = healthy(packages=None, errors={"packages": "The package store was not scanned."})
    result = check_packages(snapshot, PLAN, settings())
    assert (result.status, result.details) == (
        CheckStatus.ERROR,
        ["The package store was not scanned."],
    )
    assert check_packages(healthy(), None, settings()).status is CheckStatus.ERROR
