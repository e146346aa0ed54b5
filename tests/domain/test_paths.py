"""Upgrade paths as the docs prescribe them (facts §1 "Supported upgrade paths", §2 packages)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.catalog import Catalog, Release
from bot.domain.errors import DowngradeRefused, MixedVersionCluster, NoUpgradePath, UnplacedBuild
from bot.domain.package_names import PackageKind, parse_package
from bot.domain.paths import (
    NATS_MIGRATION,
    NATS_MIGRATION_CHECKS,
    VERIFY_CLUSTER_PORTS,
    VERIFY_GRPC_CONNECTION,
    PlanStep,
    UpgradePlan,
    cluster_release,
    plan_upgrade,
)
from bot.domain.versions import ReleaseKind, Version, parse_version
from bot.releases import load_catalog, load_known_issues

CATALOG = load_catalog()
ISSUES = load_known_issues()
VCP, NATS = [VERIFY_CLUSTER_PORTS], [NATS_MIGRATION_CHECKS, NATS_MIGRATION]
# The step into 10.6 from a 10.5 MR (or an FR before 10.5.10) also runs VerifyGRPCConnection
# first (dataminer/DataMiner_Tools/VerifyGRPCConnection.dmupgrade.md).
GRPC = [VERIFY_GRPC_CONNECTION]
NATS_GRPC = [*NATS, *GRPC]


def full(name: str) -> str:
    return f"DataMiner {name} Full Upgrade.dmupgrade"


def plan(frm: str, to: str, agents: int = 3, **kwargs: Any) -> UpgradePlan:
    versions = {f"dma-{i:02}": frm for i in range(1, agents + 1)}
    return plan_upgrade(CATALOG, versions, CATALOG.resolve(to), **kwargs)


Step = tuple[str, str, list[str]]

# (current as the agents report it, target as typed, [(to_label, package, prerequisites)])
PATHS: list[tuple[str, str, list[Step]]] = [
    (  # the documented example 9.6.0 -> 10.3.0, to the latest 10.3 CU
        "9.6.0",
        "10.3",
        [
            ("10.0.0 CU19", full("10.0.0.0(CU19)-11025"), []),
            ("10.2.0 CU21", full("10.2.0.0(CU21)-*"), VCP),
            ("10.3.0 CU22", full("10.3.0.0(CU22)-*"), []),
        ],
    ),
    (
        "9.6.0",
        "10.3.0",
        [
            ("10.0.0 CU19", full("10.0.0.0(CU19)-11025"), []),
            ("10.2.0 CU21", full("10.2.0.0(CU21)-*"), VCP),
            ("10.3.0", full("10.3.0.0(CU0)-*"), []),
        ],
    ),
    ("9.6.0", "10.0.0 CU19", [("10.0.0 CU19", full("10.0.0.0(CU19)-11025"), [])]),
    (
        "9.6.0",
        "10.1",
        [
            ("10.0.0 CU19", full("10.0.0.0(CU19)-11025"), []),
            ("10.1.0 CU21", full("10.1.0.0(CU21)-*"), []),
        ],
    ),
    (
        "9.6.0",
        "10.6",
        [
            ("10.0.0 CU19", full("10.0.0.0(CU19)-11025"), []),
            ("10.2.0 CU21", full("10.2.0.0(CU21)-*"), VCP),
            ("10.3.0 CU22", full("10.3.0.0(CU22)-*"), []),
            ("10.4.0 CU21", full("10.4.0.0(CU21)-*"), []),
            ("10.5.0 CU18", full("10.5.0.0(CU18)-*"), []),
            ("10.6.0 CU6", full("10.6.0.0(CU6)-*"), NATS_GRPC),
        ],
    ),
    (  # a 9.6 feature release the catalog does not list follows the same rule
        "9.6.5.0-9000",
        "10.2",
        [
            ("10.0.0 CU19", full("10.0.0.0(CU19)-11025"), []),
            ("10.2.0 CU21", full("10.2.0.0(CU21)-*"), VCP),
        ],
    ),
    ("10.0.0 CU5", "10.0.0 CU19", [("10.0.0 CU19", full("10.0.0.0(CU19)-11025"), [])]),
    ("10.0.0 CU5", "10.0.0 CU10", [("10.0.0 CU10", full("10.0.0.0(CU10)-*"), [])]),
    (  # D27: the CU19 rule is "as the next major version"; within 10.0 no intermediate CU
        "10.0.0 CU5",
        "10.0.0 CU20",
        [("10.0.0 CU20", full("10.0.0.0(CU20)-*"), [])],
    ),
    (
        "10.0.0 CU5",
        "10.2",
        [
            ("10.0.0 CU19", full("10.0.0.0(CU19)-11025"), []),
            ("10.2.0 CU21", full("10.2.0.0(CU21)-*"), VCP),
        ],
    ),
    ("10.0.0 CU19", "10.2.0 CU4", [("10.2.0 CU4", full("10.2.0.0(CU4)-11897"), VCP)]),
    ("10.0.0.0-11025", "10.2.7", [("10.2.7", full("10.2.7.0(CU0)-11922"), VCP)]),
    ("10.0.0 CU20", "10.1", [("10.1.0 CU21", full("10.1.0.0(CU21)-*"), [])]),
    (
        "10.0.0 CU19",
        "10.4",
        [
            ("10.2.0 CU21", full("10.2.0.0(CU21)-*"), VCP),
            ("10.3.0 CU22", full("10.3.0.0(CU22)-*"), []),
            ("10.4.0 CU21", full("10.4.0.0(CU21)-*"), []),
        ],
    ),
    (  # starting on 10.1, 10.1 is not skipped (it is not an intermediate) and no VerifyClusterPorts
        "10.1.0 CU9",
        "10.3",
        [
            ("10.2.0 CU21", full("10.2.0.0(CU21)-*"), []),
            ("10.3.0 CU22", full("10.3.0.0(CU22)-*"), []),
        ],
    ),
    (
        "10.1.7.0-10523",
        "10.3",
        [
            ("10.2.0 CU21", full("10.2.0.0(CU21)-*"), []),
            ("10.3.0 CU22", full("10.3.0.0(CU22)-*"), []),
        ],
    ),
    (
        "10.2.0.0-11897-CU4",
        "10.4",
        [
            ("10.3.0 CU22", full("10.3.0.0(CU22)-*"), []),
            ("10.4.0 CU21", full("10.4.0.0(CU21)-*"), []),
        ],
    ),
    ("10.2.0.0-11897-CU4", "10.3.0 CU5", [("10.3.0 CU5", full("10.3.0.0(CU5)-*"), [])]),
    (
        "10.3.0 CU5",
        "10.6",
        [
            ("10.4.0 CU21", full("10.4.0.0(CU21)-*"), []),
            ("10.5.0 CU18", full("10.5.0.0(CU18)-*"), []),
            ("10.6.0 CU6", full("10.6.0.0(CU6)-*"), NATS_GRPC),
        ],
    ),
    (  # an unknown build of 10.3.0 could be any 10.3.0 CU: the path is the same from all of them
        "10.3.0.0-13012",
        "10.6.9",
        [
            ("10.4.0 CU21", full("10.4.0.0(CU21)-*"), []),
            ("10.5.0 CU18", full("10.5.0.0(CU18)-*"), []),
            ("10.6.9", full("10.6.9.0(CU0)-*"), NATS_GRPC),
        ],
    ),
    ("10.4.12", "10.5", [("10.5.0 CU18", full("10.5.0.0(CU18)-*"), [])]),
    ("10.4.9.0-14794", "10.5.0", [("10.5.0", full("10.5.0.0(CU0)-*"), [])]),
    (
        "10.4.12",
        "10.6",
        [
            ("10.5.0 CU18", full("10.5.0.0(CU18)-*"), []),
            ("10.6.0 CU6", full("10.6.0.0(CU6)-*"), NATS_GRPC),
        ],
    ),
    ("10.4.0 CU6", "10.4.0 CU8", [("10.4.0 CU8", full("10.4.0.0(CU8)-*"), [])]),
    ("10.4.0.0-14511", "10.4.10", [("10.4.10", full("10.4.10.0(CU0)-*"), [])]),
    ("10.4.2", "10.5.0 CU3", [("10.5.0 CU3", full("10.5.0.0(CU3)-*"), [])]),
    (  # below 10.5.0 CU2 the migration is impossible: first the latest 10.5 CU
        "10.5.0 CU1",
        "10.6",
        [
            ("10.5.0 CU18", full("10.5.0.0(CU18)-*"), []),
            ("10.6.0 CU6", full("10.6.0.0(CU6)-*"), NATS_GRPC),
        ],
    ),
    (  # D36/D37 (BrokerGateway_Migration.md): "Avoid migrating … lower than 10.5.0 [CU11]"
        "10.5.0 CU2",
        "10.6",
        [
            ("10.5.0 CU18", full("10.5.0.0(CU18)-*"), []),
            ("10.6.0 CU6", full("10.6.0.0(CU6)-*"), NATS_GRPC),
        ],
    ),
    (  # the FR side: migrate on 10.5.12 CU2, the latest 10.5 FR
        "10.5.3",
        "10.6.4",
        [
            ("10.5.12 CU2", full("10.5.12.0(CU2)-*"), GRPC),
            ("10.6.4", full("10.6.4.0(CU0)-*"), NATS),
        ],
    ),
    (
        "10.5.5",
        "10.6.9",
        [
            ("10.5.12 CU2", full("10.5.12.0(CU2)-*"), GRPC),
            ("10.6.9", full("10.6.9.0(CU0)-*"), NATS),
        ],
    ),
    (
        "10.5.12 CU1",
        "10.6.0 CU6",
        [
            ("10.5.12 CU2", full("10.5.12.0(CU2)-*"), []),
            ("10.6.0 CU6", full("10.6.0.0(CU6)-*"), NATS),
        ],
    ),
    ("10.5.0 CU11", "10.6", [("10.6.0 CU6", full("10.6.0.0(CU6)-*"), NATS_GRPC)]),
    ("10.5.12 CU2", "10.6.9", [("10.6.9", full("10.6.9.0(CU0)-*"), NATS)]),
    ("10.5.0 CU18", "10.6.1", [("10.6.1", full("10.6.1.0(CU0)-16647"), NATS_GRPC)]),
    ("10.5.9", "10.5.10", [("10.5.10", full("10.5.10.0(CU0)-*"), [VERIFY_GRPC_CONNECTION])]),
    ("10.5.0 CU10", "10.5.8", [("10.5.8", full("10.5.8.0(CU0)-*"), [])]),
    ("10.6.2", "10.6.9", [("10.6.9", full("10.6.9.0(CU0)-*"), [])]),
    ("10.6.0.0-16000-CU1", "10.6", [("10.6.0 CU6", full("10.6.0.0(CU6)-*"), [])]),
]


@pytest.mark.parametrize(("frm", "to", "expected"), PATHS, ids=[f"{f}->{t}" for f, t, _ in PATHS])
def test_documented_paths(frm: str, to: str, expected: list[Step]) -> None:
    result = plan(frm, to)
    got = [(s.to_label, s.package, s.prerequisite_packages) for s in result.steps]
    assert got == expected
    assert [s.number for s in result.steps] == list(range(1, len(expected) + 1))
    assert result.steps[0].from_label == result.current.label
    assert all(a.to_label == b.from_label for a, b in itertools.pairwise(result.steps))
    assert result.steps[-1].release == result.target
    assert all(s.package_kind == "full" for s in result.steps)


def _notes(result: UpgradePlan, number: int) -> str:
    return " ".join(result.steps[number - 1].notes)


class TestWhyEachStepExists:
    def test_the_9_6_path_explains_cu19_ports_and_skipping_10_1(self) -> None:
        result = plan("9.6.0", "10.3")
        assert "10.0.0 CU19 is required before leaving 9.6.0" in _notes(result, 1)
        assert "open ports 9090 (NAS), 4222 and 6222 (NATS) and 8222" in _notes(result, 1)
        assert "Skips 10.1" in _notes(result, 2)
        assert "Latest CU of intermediate main release 10.2" in _notes(result, 2)
        assert f"Run {VERIFY_CLUSTER_PORTS} on the whole cluster first" in _notes(result, 2)
        assert "Target of the upgrade." in _notes(result, 3)

    def test_the_brokergateway_stop_and_migration(self) -> None:
        result = plan("10.3.0 CU5", "10.6")
        assert "Stops on 10.5 for the BrokerGateway migration" in _notes(result, 2)
        assert f"run `{NATS_MIGRATION_CHECKS}` on the whole cluster, then `{NATS_MIGRATION}`" in (
            _notes(result, 3)
        )
        assert "online together for 15 minutes" in _notes(result, 3)
        assert "ASP.NET Core 10 Hosting Bundle" in _notes(result, 3)
        assert "VerifyBrokerGatewayMigration.dll" in _notes(result, 3)

    def test_every_note_names_its_documented_source(self) -> None:
        """Issue #12 item 6: each note links docs.dataminer.services (the build note is ours)."""
        result = plan("9.6.0", "10.6")
        for step in result.steps:
            for note in step.notes:
                assert "Source: https://docs.dataminer.services/" in note or (
                    "no build number" in note or note == "Target of the upgrade."
                )
        assert "BrokerGateway_Migration.html" in _notes(result, 6)

    def test_the_fr_skip_is_said_on_the_step_that_leaves_the_line(self) -> None:
        direct = plan("10.4.12", "10.5")
        assert "From feature release 10.4.12" in _notes(direct, 1)
        assert "without main release 10.4.0" in _notes(direct, 1)
        via = plan("10.5.3", "10.6.4")
        assert "From feature release" not in _notes(via, 1)
        assert "From feature release 10.5.12 CU2" in _notes(via, 2)

    def test_same_line_steps_say_what_kind_of_move_they_are(self) -> None:
        assert "intermediate CUs are not needed" in _notes(plan("10.4.0 CU6", "10.4.0 CU8"), 1)
        assert "same 10.6 cycle" in _notes(plan("10.6.2", "10.6.9"), 1)
        assert "feature-release track" in _notes(plan("10.5.0 CU10", "10.5.8"), 1)

    def test_unknown_builds_are_flagged_on_the_step(self) -> None:
        result = plan("10.3.0 CU5", "10.4")
        assert "no build number for 10.4.0 CU21" in _notes(result, 1)
        known = plan("10.0.0 CU5", "10.0.0 CU19")
        assert "no build number" not in _notes(known, 1)


class TestPackages:
    def test_within_one_main_release_full_is_preferred_but_cu_is_allowed(self) -> None:
        default = plan("10.4.0 CU6", "10.4.0 CU8")
        assert default.steps[0].package_kind == "full"
        assert "BPA executor" in _notes(default, 1)
        cu = plan("10.4.0 CU6", "10.4.0 CU8", allow_cu_packages=True)
        assert cu.steps[0].package_kind == "cu"
        # D45: Skyline's grammar has only Full|Web upgrades; the delta is a .dmupdate
        # (dataminer/Administrator_guide/DataMiner_Agents/DataMiner_packages.md)
        assert cu.steps[0].package == "DataMiner 10.4.0.0(CU8)-*.dmupdate"
        assert "take it from Dojo" in _notes(cu, 1)

    def test_before_10_4_the_full_package_note_does_not_mention_the_bpa_executor(self) -> None:
        result = plan("10.0.0 CU5", "10.0.0 CU19")
        assert "smaller update package would also do" in _notes(result, 1)

    def test_cu_packages_are_never_used_across_main_releases(self) -> None:
        result = plan("10.3.0 CU5", "10.6", allow_cu_packages=True)
        assert [s.package_kind for s in result.steps] == ["full", "full", "full"]
        fr = plan("10.6.2", "10.6.9", allow_cu_packages=True)
        assert fr.steps[0].package_kind == "full"


class TestWarnings:
    def test_an_unplaced_build_is_said_once_with_the_cus_it_could_be(self) -> None:
        result = plan("10.3.0.0-13012", "10.4")
        assert not result.current.exact
        said = [w for w in result.warnings if "does not know build 13012 of 10.3.0" in w]
        assert len(said) == 1
        assert "10.3.0 to 10.3.0 CU22" in said[0]

    def test_a_cu_the_catalog_does_not_list_is_planned_from_that_cu(self) -> None:
        result = plan("10.4.0.0-16999-CU22", "10.5")
        assert result.current.version == parse_version("10.4.0 CU22")
        assert any("does not list 10.4.0 CU22 yet" in w for w in result.warnings)

    def test_crossing_into_10_6_warns_about_the_migration(self) -> None:
        result = plan("10.3.0 CU5", "10.6")
        assert "migrate the cluster to BrokerGateway on 10.5.0 CU18 before step 3" in " ".join(
            result.warnings
        )
        assert not any("recommends" in w for w in result.warnings)

    @pytest.mark.parametrize(
        ("frm", "host"),
        [("10.5.0 CU5", "10.5.0 CU18"), ("10.5.0 CU10", "10.5.0 CU18"), ("10.5.8", "10.5.12 CU2")],
    )
    def test_below_the_guides_10_5_the_path_stops_there_first(self, frm: str, host: str) -> None:
        """D36/D37, BrokerGateway_Migration.md: "Avoid migrating DataMiner Systems using a
        DataMiner version lower than 10.5.0 [CU11]/10.5.12 [CU2]"."""
        result = plan(frm, "10.6")
        assert result.steps[0].to_label == host
        assert "Stops on 10.5 for the BrokerGateway migration" in _notes(result, 1)
        text = " ".join(result.warnings)
        assert f"migrate the cluster to BrokerGateway on {host} before step 2" in text

    def test_multi_major_jumps_warn_against_the_update_center(self) -> None:
        assert any("Update Center" in w for w in plan("10.4.0 CU5", "10.6").warnings)
        assert not any("Update Center" in w for w in plan("10.5.0 CU5", "10.6").warnings)


class TestRefusals:
    def test_a_mixed_cluster_is_reported_not_guessed(self) -> None:
        agents = {"dma-01": "10.3.0 CU5", "dma-02": "10.3.0 CU6 "}
        with pytest.raises(MixedVersionCluster) as caught:
            plan_upgrade(CATALOG, agents, CATALOG.resolve("10.4"))
        assert caught.value.versions == {"dma-01": "10.3.0 CU5", "dma-02": "10.3.0 CU6"}
        assert "dma-01 on 10.3.0 CU5, dma-02 on 10.3.0 CU6" in str(caught.value)

    def test_two_unknown_builds_are_mixed_too(self) -> None:
        agents = {"a": "10.3.0.0-13012", "b": "10.3.0.0-13013"}
        with pytest.raises(MixedVersionCluster):
            cluster_release(CATALOG, agents)

    def test_one_version_in_different_spellings_is_not_mixed(self) -> None:
        agents = {"a": "10.2.0.0-11897-CU4", "b": "10.2.0 CU4", "c": " 10.2.0.0-11897 "}
        assert cluster_release(CATALOG, agents) == CATALOG.resolve("10.2.0 CU4")

    @pytest.mark.parametrize(
        ("frm", "to"),
        [
            ("10.5.0 CU5", "10.4"),
            ("10.5.0 CU3", "10.5.0 CU3"),
            ("10.3.12", "10.3.0 CU20"),
            ("10.6.9", "10.6"),
        ],
    )
    def test_downgrades_and_equal_versions_are_refused(self, frm: str, to: str) -> None:
        with pytest.raises(DowngradeRefused) as caught:
            plan(frm, to)
        assert caught.value.target == CATALOG.resolve(to).label

    def test_a_preview_is_never_a_target(self) -> None:
        with pytest.raises(NoUpgradePath, match=r"10\.7\.0 is a preview"):
            plan("10.6.0 CU6", "10.7.0")

    def test_from_9_6_a_10_0_target_below_cu19_has_no_path(self) -> None:
        with pytest.raises(NoUpgradePath, match=r"next step must be 10\.0\.0 CU19"):
            plan("9.6.0", "10.0.0 CU10")

    def test_no_agents_no_plan(self) -> None:
        with pytest.raises(NoUpgradePath, match="No agent reported"):
            plan_upgrade(CATALOG, {}, CATALOG.resolve("10.5"))


def _catalog(*versions: str) -> Catalog:
    return Catalog.from_mapping({"releases": [{"version": v} for v in versions]})


class TestIncompleteCatalogs:
    def test_a_missing_main_release_is_never_skipped(self) -> None:
        catalog = _catalog("10.2.0", "10.4.0", "10.4.0 CU3")
        with pytest.raises(NoUpgradePath, match=r"lists nothing for main release 10\.3"):
            plan_upgrade(catalog, {"a": "10.2.0"}, catalog.resolve("10.4"))

    def test_an_intermediate_main_release_with_only_previews_has_no_path(self) -> None:
        catalog = Catalog.from_mapping(
            {
                "releases": [
                    {"version": "10.2.0"},
                    {"version": "10.3.0", "preview": True},
                    {"version": "10.4.0"},
                ]
            }
        )
        with pytest.raises(NoUpgradePath, match=r"has no released CU of main release 10\.3"):
            plan_upgrade(catalog, {"a": "10.2.0"}, catalog.resolve("10.4.0"))

    def test_without_10_0_0_cu19_there_is_no_way_out_of_9_6(self) -> None:
        catalog = _catalog("9.6.0", "10.0.0", "10.0.0 CU20")
        with pytest.raises(NoUpgradePath, match=r"10\.0\.0 CU19"):
            plan_upgrade(catalog, {"a": "9.6.0"}, catalog.resolve("10.0.0 CU20"))

    def test_an_intermediate_10_5_below_cu11_cannot_host_the_migration(self) -> None:
        catalog = _catalog("10.4.0", "10.5.0", "10.5.0 CU10", "10.6.0")
        with pytest.raises(NoUpgradePath, match="BrokerGateway"):
            plan_upgrade(catalog, {"a": "10.4.0"}, catalog.resolve("10.6.0"))

    @pytest.mark.parametrize("current", ["10.5.0", "10.5.2"])
    def test_a_current_10_5_with_no_ready_10_5_to_reach_has_no_path(self, current: str) -> None:
        catalog = _catalog("10.5.0", "10.5.0 CU10", "10.5.1", "10.5.2", "10.5.12", "10.6.0")
        with pytest.raises(NoUpgradePath, match=r"10\.5\.0 CU11/10\.5\.12 CU2"):
            plan_upgrade(catalog, {"a": current}, catalog.resolve("10.6.0"))

    def test_a_current_fr_on_10_5_with_no_later_fr_listed_has_no_path(self) -> None:
        catalog = _catalog("10.5.0", "10.5.0 CU11", "10.5.2", "10.6.0")
        plan_upgrade(catalog, {"a": "10.5.0"}, catalog.resolve("10.6.0"))  # MR side is fine
        with pytest.raises(NoUpgradePath):
            plan_upgrade(catalog, {"a": "10.5.2"}, catalog.resolve("10.6.0"))


class TestKnownIssuesOnThePlan:
    def test_10_4_2_to_10_5_0_cu3_warns_about_the_prerequisites(self) -> None:
        result = plan("10.4.2", "10.5.0 CU3", known_issues=ISSUES)
        ids = [m.id for m in result.known_issues]
        assert "KI-prerequisites-10.4-to-10.5.0-cu3" in ids
        match = result.known_issues[ids.index("KI-prerequisites-10.4-to-10.5.0-cu3")]
        assert match.steps == [1] and match.transitions == ["10.4.2 → 10.5.0 CU3"]
        assert match.message in result.warnings
        assert "Go through 10.5.0 CU0–CU2 first" in match.message

    def test_the_latest_cus_avoid_that_issue(self) -> None:
        result = plan("10.4.2", "10.5", known_issues=ISSUES)
        assert "KI-prerequisites-10.4-to-10.5.0-cu3" not in [m.id for m in result.known_issues]

    def test_small_clusters_get_the_verifyclusterports_warning(self) -> None:
        two = plan("10.3.0 CU5", "10.4", agents=2, known_issues=ISSUES)
        five = plan("10.3.0 CU5", "10.4", agents=5, known_issues=ISSUES)
        assert "KI-verifyclusterports-small-cluster" in [m.id for m in two.known_issues]
        assert "KI-verifyclusterports-small-cluster" not in [m.id for m in five.known_issues]

    def test_without_a_list_there_are_no_matches(self) -> None:
        assert plan("10.4.2", "10.5.0 CU3").known_issues == []


class TestSerialisation:
    def test_a_plan_survives_json(self) -> None:
        result = plan("9.6.0", "10.6", known_issues=ISSUES)
        text = json.dumps(result.model_dump(mode="json"))
        restored = UpgradePlan.model_validate(json.loads(text))
        assert restored == result
        assert restored.steps[1].release.version.kind is ReleaseKind.MAIN

    def test_planning_twice_gives_equal_plans(self) -> None:
        assert plan("10.3.0 CU5", "10.6") == plan("10.3.0 CU5", "10.6")


RELEASED = [r for r in CATALOG.releases if not r.preview]


def _pairs() -> st.SearchStrategy[tuple[Release, Release]]:
    def ordered(pair: tuple[Release, Release]) -> tuple[Release, Release]:
        a, b = sorted(pair, key=lambda r: r.version)
        return a, b

    both = st.tuples(st.sampled_from(RELEASED), st.sampled_from(RELEASED))
    return both.filter(lambda p: p[0].version != p[1].version).map(ordered)


CU19 = parse_version("10.0.0 CU19")


@settings(max_examples=400, deadline=None)
@given(_pairs())
def test_path_properties(pair: tuple[Release, Release]) -> None:
    """A path only goes up, ends at the target, and never skips a required intermediate."""
    current, target = pair
    start, goal = current.version, target.version
    try:
        result = plan_upgrade(CATALOG, {"a": current.label, "b": current.label}, target)
    except NoUpgradePath:
        assert start.line < (10, 0) and goal.line == (10, 0) and goal < CU19
        return
    versions = [start, *(s.release.version for s in result.steps)]
    assert all(a < b for a, b in itertools.pairwise(versions))
    assert result.steps[-1].release == target
    assert all(not s.release.preview for s in result.steps)
    step_lines = {s.release.version.line for s in result.steps}
    for line in CATALOG.main_lines():
        if not start.line < line < goal.line:
            continue
        if line == (10, 1) and start.line < (10, 1):
            assert line not in step_lines
        else:
            assert line in step_lines
            stop = next(s.release for s in result.steps if s.release.version.line == line)
            assert stop in (CATALOG.latest_cu(line), CATALOG.resolve("10.0.0 CU19"))
    if current.kind is ReleaseKind.FEATURE:
        assert not any(
            s.release.version.line == start.line and s.release.kind is ReleaseKind.MAIN
            for s in result.steps
        )
    if start < CU19 and goal > CU19 and (start.line < (10, 0) or goal.line > (10, 0)):
        assert result.steps[0].release.version == CU19
    if start.line <= (10, 5) and goal.line >= (10, 6):
        crossing = next(s for s in result.steps if s.release.version.line >= (10, 6))
        assert NATS_MIGRATION in crossing.prerequisite_packages
        base = versions[result.steps.index(crossing)]
        assert base.line == (10, 5)
        ready = parse_version("10.5.0 CU11" if base.kind is ReleaseKind.MAIN else "10.5.12 CU2")
        assert base >= ready
        assert crossing.prerequisite_packages[:2] == [NATS_MIGRATION_CHECKS, NATS_MIGRATION]
    for step, before in zip(result.steps, versions[:-1], strict=True):
        needs_vcp = before.line == (10, 0) and step.release.version.line >= (10, 2)
        assert (VERIFY_CLUSTER_PORTS in step.prerequisite_packages) == needs_vcp
        assert step.package_kind == "full" and step.notes


def _installs(step: PlanStep) -> Version:
    """The version a step's package installs, read back with the one package grammar."""
    name = step.package.replace("-*", "-1")  # a build the catalog lacks is a glob
    parsed = parse_package(name)
    assert parsed.kind is (PackageKind.FULL if step.package_kind == "full" else PackageKind.UPDATE)
    assert parsed.version is not None
    return parse_version(parsed.version).model_copy(update={"build": None})


@settings(max_examples=400, deadline=None)
@given(_pairs())
def test_no_step_goes_down_and_every_package_reads_back_as_its_step(
    pair: tuple[Release, Release],
) -> None:
    """Issue #12: no plan's step goes down in version; each step's package parses back to it."""
    current, target = pair
    try:
        result = plan_upgrade(CATALOG, {"a": current.label}, target, allow_cu_packages=True)
    except NoUpgradePath:
        return
    versions = [current.version, *(s.release.version for s in result.steps)]
    assert all(a < b for a, b in itertools.pairwise(versions))
    for step in result.steps:
        assert _installs(step) == step.release.version
        assert catalog_release(step) == step.release


def catalog_release(step: PlanStep) -> Release:
    return CATALOG.identify(parse_package(step.package.replace("-*", "-1")).version or "")


NUMBERS = sorted({r.number for r in CATALOG.releases if r.number >= (10, 0, 0)})
KNOWN_BUILDS = {b for r in CATALOG.releases for b in r.builds}


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(NUMBERS),
    st.integers(min_value=9000, max_value=20000).filter(lambda b: b not in KNOWN_BUILDS),
    st.sampled_from(RELEASED),
)
def test_an_unplaced_build_is_never_planned_into_what_it_could_already_be(
    number: tuple[int, int, int], build: int, target: Release
) -> None:
    """Issue #12 item 2: an unknown build could be any release of its number, so a plan from it
    only contains releases above every one of them; otherwise it is refused in one sentence."""
    raw = f"{number[0]}.{number[1]}.{number[2]}.0-{build}"
    try:
        result = plan_upgrade(CATALOG, {"a": raw, "b": raw}, target)
    except (UnplacedBuild, DowngradeRefused, NoUpgradePath) as refused:
        assert str(refused).count(". ") <= 1 or isinstance(refused, NoUpgradePath)
        return
    assert all(s.release.number > number for s in result.steps)
    assert sum("does not know build" in w for w in result.warnings) == 1
