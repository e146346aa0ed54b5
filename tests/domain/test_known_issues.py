"""Known issues: the data file and matching its ranges against a path (facts §3, §6, §7)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.errors import ConfigError
from bot.domain.known_issues import KnownIssues, Transition
from bot.domain.versions import ReleaseKind, parse_version
from bot.releases import load_known_issues

ISSUES = load_known_issues()


def step(frm: str, to: str, number: int = 1, kind: str = "full") -> Transition:
    return Transition(number, parse_version(frm), parse_version(to), f"{frm} → {to}", kind)


def ids(frm: str, to: str, agents: int = 5, kind: str = "full") -> list[str]:
    return [m.id for m in ISSUES.match([step(frm, to, kind=kind)], agents)]


def test_the_shipped_list_covers_the_upgrade_issues_of_the_facts() -> None:
    assert [i.id for i in ISSUES.issues] == [
        "KI-prerequisites-10.4-to-10.5.0-cu3",
        "KI-upgrade-to-10.5.1-stuck",
        "KI-default-upgrade-options-slnet",
        "KI-snmpv3-not-migrated",
        "KI-verifyclusterports-small-cluster",
        "KI-verifygrpcconnection",
        "KI-update-center-cu-package",
        "KI-slnetipc-progress",
        "KI-failover-agents-offline",
        "KI-failover-vip",
        "KI-failover-offline-not-synced",
        "KI-failover-elements-folder-deleted",
        "KI-failover-config-after-brokergateway",
        # release-audit D69a (issue #12)
        "KI-ldap-users-cannot-log-in",
        "KI-dcomconfig-flagged-as-virus",
        "KI-clusterendpoint-slnet-leak",
        "KI-gqi-dxm-newtonsoft",
        "KI-idp-discovery",
        "KI-elements-not-loading-multiple-es",
        "KI-failover-hostnames",
        "KI-nats-server-config-not-in-backup",
        "KI-srm-scheduler-unresponsive",
        "KI-deadlock-service-loading",
    ]
    for issue in ISSUES.issues:
        assert issue.source.startswith("dataminer/Troubleshooting/Known_issues/KI_")
        assert issue.url == "https://docs.dataminer.services/" + issue.source[:-3] + ".html"
        assert issue.advice.endswith(".") and issue.title


@pytest.mark.parametrize(
    ("frm", "to", "expected", "absent"),
    [
        ("10.4.2", "10.5.0 CU3", "KI-prerequisites-10.4-to-10.5.0-cu3", None),
        ("10.4.0 CU10", "10.5.6", "KI-prerequisites-10.4-to-10.5.0-cu3", None),
        ("10.4.4", "10.5.7", "KI-prerequisites-10.4-to-10.5.0-cu3", None),
        ("10.4.5", "10.5.7", None, "KI-prerequisites-10.4-to-10.5.0-cu3"),
        ("10.4.2", "10.5.0 CU5", None, "KI-prerequisites-10.4-to-10.5.0-cu3"),
        ("10.4.12", "10.5.1", "KI-upgrade-to-10.5.1-stuck", None),
        ("10.5.1", "10.5.2", "KI-upgrade-to-10.5.1-stuck", None),
        ("10.4.12", "10.5.2 CU1", None, "KI-upgrade-to-10.5.1-stuck"),
        ("10.4.0 CU21", "10.5.0 CU3", "KI-default-upgrade-options-slnet", None),
        ("10.4.0 CU21", "10.4.5", "KI-default-upgrade-options-slnet", None),
        ("10.4.0 CU21", "10.5.0 CU4", None, "KI-default-upgrade-options-slnet"),
        ("10.4.0 CU6", "10.4.9", "KI-snmpv3-not-migrated", None),
        ("10.4.0 CU20", "10.4.12", "KI-snmpv3-not-migrated", None),
        ("10.4.0 CU5", "10.4.9", None, "KI-snmpv3-not-migrated"),
        ("10.4.8", "10.4.9", None, "KI-snmpv3-not-migrated"),
        ("10.5.0 CU18", "10.6.0 CU6", "KI-verifygrpcconnection", None),
        ("10.5.8", "10.5.10", "KI-verifygrpcconnection", None),
        ("10.5.0 CU10", "10.5.0 CU18", None, "KI-verifygrpcconnection"),
        ("10.4.0 CU13", "10.5.0 CU18", "KI-slnetipc-progress", None),
        ("10.4.0 CU14", "10.5.0 CU18", None, "KI-slnetipc-progress"),
        ("10.3.0 CU9", "10.3.0 CU10", "KI-failover-agents-offline", None),
        ("10.3.11", "10.4.1", "KI-failover-agents-offline", None),
        ("10.3.11", "10.4.2", None, "KI-failover-agents-offline"),
        ("10.3.0 CU10", "10.4.0", None, "KI-failover-agents-offline"),
        ("10.3.0 CU19", "10.3.0 CU20", "KI-failover-vip", None),
        ("10.4.10", "10.5.1", "KI-failover-vip", None),
        ("10.4.10", "10.5.0 CU1", None, "KI-failover-vip"),
        ("10.5.0 CU5", "10.5.0 CU9", "KI-failover-elements-folder-deleted", None),
        ("10.5.0 CU5", "10.5.0 CU10", None, "KI-failover-elements-folder-deleted"),
        ("10.5.0 CU18", "10.6.0 CU4", "KI-failover-config-after-brokergateway", None),
        ("10.5.0 CU18", "10.6.0 CU5", None, "KI-failover-config-after-brokergateway"),
    ],
)
def test_ranges_match_as_the_docs_write_them(
    frm: str, to: str, expected: str | None, absent: str | None
) -> None:
    found = ids(frm, to)
    if expected:
        assert expected in found
    if absent:
        assert absent not in found


def test_the_small_cluster_condition() -> None:
    assert "KI-verifyclusterports-small-cluster" in ids("10.3.0 CU5", "10.4.0 CU21", agents=2)
    assert "KI-verifyclusterports-small-cluster" not in ids("10.3.0 CU5", "10.4.0 CU21", agents=3)
    assert "KI-verifyclusterports-small-cluster" not in ids("10.0.0 CU5", "10.0.0 CU19", agents=2)
    # D64: the issue is specific to two-node systems; one agent has no peer to verify
    assert "KI-verifyclusterports-small-cluster" not in ids("10.3.0 CU5", "10.4.0 CU21", agents=1)


def test_the_package_kind_condition() -> None:
    assert "KI-update-center-cu-package" in ids("10.4.0 CU6", "10.4.0 CU8", kind="cu")
    assert "KI-update-center-cu-package" not in ids("10.4.0 CU6", "10.4.0 CU8", kind="full")
    assert "KI-update-center-cu-package" not in ids("10.3.0 CU6", "10.3.0 CU8", kind="cu")


def test_a_match_lists_every_step_and_reads_as_a_sentence() -> None:
    path = [step("10.3.0 CU5", "10.4.0 CU21", 1), step("10.4.0 CU21", "10.5.0 CU18", 2)]
    matches = {m.id: m for m in ISSUES.match(path, 2)}
    ports = matches["KI-verifyclusterports-small-cluster"]
    assert ports.steps == [1, 2] and ports.scope == "all" and ports.resolved_in == []
    assert ports.message == (
        "Known issue “VerifyClusterPorts fails falsely on a two-agent cluster” concerns step 1 "
        "(10.3.0 CU5 → 10.4.0 CU21), step 2 (10.4.0 CU21 → 10.5.0 CU18). "
        + ports.advice
        + " Source: https://docs.dataminer.services/dataminer/Troubleshooting/Known_issues/"
        "KI_Upgrade_fails_VerifyClusterPorts_prerequisite.html"
    )
    folder = matches["KI-failover-elements-folder-deleted"]
    assert folder.scope == "failover" and folder.steps == [1]
    assert folder.message.startswith("If the system has Failover pairs: known issue")
    assert "Resolved in 10.5.0 CU10/10.6.1. Source: https://docs.dataminer.services/" in (
        folder.message
    )


def test_matching_is_remembered_but_callers_get_their_own_list() -> None:
    path = [step("10.4.2", "10.5.0 CU3")]
    first = ISSUES.match(path, 3)
    first.clear()
    assert ISSUES.match(path, 3) != []


def _one(**fields: Any) -> dict[str, Any]:
    issue = {"id": "KI-x", "title": "X", "advice": "Do y.", "source": "KI_x.md"}
    issue.update(fields)
    return {"issues": [issue]}


def test_a_small_list_with_explicit_tracks() -> None:
    issues = KnownIssues.from_mapping(
        _one(
            affected=[{"from": "10.4.0", "track": "main"}],
            upgrading_from=[{"before": "10.4.5", "track": "feature"}],
            resolved_in=[10.5],
        )
    )
    issue = issues.issues[0]
    assert issue.affected[0].kind is ReleaseKind.MAIN
    assert issue.upgrading_from[0].kind is ReleaseKind.FEATURE
    assert issue.resolved_in == ("10.5",)
    assert issues.match([step("10.4.3", "10.5.0 CU1")], 4)[0].steps == [1]
    assert issues.match([step("10.4.0", "10.5.0 CU1")], 4) == []
    assert issues.match([step("10.4.3", "10.4.4")], 4) == []
    any_track = KnownIssues.from_mapping(_one(affected=[{"from": "10.4.0", "track": "any"}]))
    assert any_track.issues[0].affected[0].kind is None


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"issues": {"id": "x"}}, "`issues` must be a list"),
        ({"issues": ["x"]}, "issues[0] must be a mapping"),
        (_one(), "give `affected` or `upgrading_from`"),
        (_one(affected=[{"from": "banana"}]), "a range is wrong"),
        (_one(affected=[{"from": "10.4.0", "to": "10.4.2", "before": "10.4.3"}]), "not both"),
        (_one(affected=[{"from": "10.5.0", "to": "10.4.0"}]), "is empty"),
        (_one(affected=[{"to": 10.4}]), "affected.0.to"),
        (_one(affected=[{"form": "10.4.0"}]), "affected.0.form"),
        (_one(affected=[{"from": "10.4.0"}], colour="red"), "colour"),
        (_one(affected=[{"from": "10.4.0"}], scope="cluster"), "scope"),
        ({"issues": [{"id": "KI-x"}]}, "issues[0] (`KI-x`): title"),
    ],
)
def test_file_errors_name_the_source_and_entry(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        KnownIssues.from_mapping(data, source="issues.yml")
    assert caught.value.message.startswith("issues.yml: ")
    assert fragment in caught.value.message


def test_duplicate_ids_are_refused() -> None:
    entry = _one(affected=[{"from": "10.4.0"}])["issues"][0]
    with pytest.raises(ConfigError, match="`KI-x` is used twice"):
        KnownIssues.from_mapping({"issues": [entry, entry]})
