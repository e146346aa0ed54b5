"""The rows of the release audit (shared/domain/release-audit.md, checked against
SkylineCommunications/dataminer-docs at f85ae8d6) that were wrong or missing, one test each,
named by row and citing the page that says so (issue #12)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.catalog import Catalog, stale_catalog_sentence
from bot.domain.errors import (
    DowngradeRefused,
    NewerThanCatalog,
    NoUpgradePath,
    UnknownVersion,
    UnplacedBuild,
)
from bot.domain.known_issues import Transition
from bot.domain.migration import post_migration_actions
from bot.domain.paths import NATS_MIGRATION, NATS_MIGRATION_CHECKS, UpgradePlan, plan_upgrade
from bot.domain.prerequisite_checks import default_checks
from bot.domain.requirements import describe_requirements, requirements_for
from bot.domain.versions import parse_version
from bot.releases import load_catalog, load_known_issues

CATALOG = load_catalog()
ISSUES = load_known_issues()


def plan(frm: str, to: str, agents: int = 3, **kwargs: object) -> UpgradePlan:
    versions = {f"dma-{i}": frm for i in range(agents)}
    return plan_upgrade(CATALOG, versions, CATALOG.resolve(to), ISSUES, **kwargs)  # type: ignore[arg-type]


def issue_ids(frm: str, to: str, agents: int = 3) -> list[str]:
    step = Transition(1, parse_version(frm), parse_version(to), f"{frm} → {to}", "full")
    return [m.id for m in ISSUES.match([step], agents)]


class TestCatalogRows:
    @pytest.mark.parametrize(
        ("line", "latest", "source"),
        [
            ((10, 0), "10.0.0 CU21", "General_Main_Release_10.0.0_CU21.md"),  # D2
            ((10, 1), "10.1.0 CU21", "General_Main_Release_10.1.0_CU21.md"),  # D5
            ((10, 3), "10.3.0 CU22", "General_Main_Release_10.3.0_CU22.md"),  # D7
            ((10, 4), "10.4.0 CU21", "General_Main_Release_10.4.0_CU21.md"),  # D8
            ((10, 5), "10.5.0 CU18", "General_Main_Release_10.5.0_CU18.md"),  # D9 (CU19 preview)
        ],
    )
    def test_the_latest_cu_of_each_main_release(
        self, line: tuple[int, int], latest: str, source: str
    ) -> None:
        release = CATALOG.latest_cu(line)
        assert release is not None and release.label == latest
        assert CATALOG.resolve(f"{line[0]}.{line[1]}").label == latest

    def test_d3_d4_the_10_0_feature_releases_run_to_10_0_13(self) -> None:
        """General_Feature_Release_10.0/General_Feature_Release_10.0.{2..13}.md"""
        labels = [r.label for r in CATALOG.releases if r.number[:2] == (10, 0) and r.number[2]]
        assert labels == [f"10.0.{n}" for n in range(2, 14)]

    def test_d11_the_feature_release_cus(self) -> None:
        """release-notes/General/General_Feature_Release_10.*/*_CU*.md"""
        frcus = {r.label for r in CATALOG.releases if r.number[2] and r.version.cu}
        assert frcus == {
            "10.2.9 CU1", "10.2.11 CU1", "10.2.12 CU1", "10.2.12 CU2", "10.3.2 CU1",
            "10.3.3 CU1", "10.3.9 CU1", "10.3.9 CU2", "10.3.10 CU1", "10.4.6 CU1",
            "10.5.2 CU1", "10.5.7 CU1", "10.5.8 CU1", "10.5.12 CU1", "10.5.12 CU2",
            "10.6.2 CU1", "10.6.3 CU1",
        }  # fmt: skip

    def test_d10_previews_are_flagged_from_their_page_titles(self) -> None:
        previews = {r.label for r in CATALOG.releases if r.preview}
        assert previews == {"10.5.0 CU19", "10.6.0 CU7", "10.6.10", "10.7.0"}

    def test_d15_d17_builds_cite_the_page_that_gives_them(self) -> None:
        """SRM_2.0.2.md gives 10.4.9.0 – 14794; 12948 (10.3.0 CU3) is found in no docs page."""
        assert CATALOG.resolve("10.4.9").build == 14794
        assert CATALOG.resolve("10.3.0 CU3").build is None

    def test_d18_a_build_documented_as_10_4_0_cu18_is_cu18(self) -> None:
        """KI_SLScripting_issue_non_English_system.md: 10.4.0 [CU18] build 16295."""
        assert CATALOG.identify("10.4.0.0-16295").label == "10.4.0 CU18"

    def test_the_shipped_catalog_records_its_docs(self) -> None:
        assert CATALOG.source is not None
        assert CATALOG.source.commit.startswith("f85ae8d6")
        assert CATALOG.docs_date == date(2026, 8, 21)


class TestNeverADowngrade:
    def test_p19_10_4_0_build_16295_to_cu15_is_a_downgrade(self) -> None:
        """D18/P19: build 16295 is 10.4.0 CU18, so 10.4.0 CU15 is below it."""
        with pytest.raises(DowngradeRefused):
            plan("10.4.0.0-16295", "10.4.0 CU15")

    @pytest.mark.parametrize("target", ["10.4.0 CU15", "10.4.0 CU21", "10.4"])
    def test_an_unplaced_build_is_refused_for_a_target_it_could_already_be(
        self, target: str
    ) -> None:
        with pytest.raises(UnplacedBuild) as caught:
            plan("10.4.0.0-16299", target)
        text = str(caught.value)
        assert "cannot tell which CU of 10.4.0" in text and "add the build" in text
        assert text.count(". ") == 0  # one sentence

    def test_an_unplaced_build_gets_a_plan_above_everything_it_could_be(self) -> None:
        result = plan("10.4.0.0-16299", "10.5")
        assert [s.to_label for s in result.steps] == ["10.5.0 CU18"]
        assert sum("does not know build 16299" in w for w in result.warnings) == 1

    def test_an_unplaced_build_whose_path_depends_on_its_cu_is_refused(self) -> None:
        """From 10.0.0 below CU19 the path needs 10.0.0 CU19 first, which a later CU is above."""
        with pytest.raises(UnplacedBuild, match=r"10\.0\.0 CU19"):
            plan("10.0.0.0-10999", "10.2")

    def test_p9_a_10_3_0_cu_from_10_3_12_is_a_downgrade_not_unknown(self) -> None:
        """D22/P9: Update Center page: a 10.3.0 version is never proposed to 10.3.12."""
        with pytest.raises(DowngradeRefused):
            plan("10.3.12", "10.3.0 CU22")


class TestPathRows:
    def test_p1_multi_major_paths_stop_on_10_3_0_cu22(self) -> None:
        """D7/D24: Preparing_to_upgrade_a_DataMiner_Agent.md (latest CU of each major)."""
        labels = [s.to_label for s in plan("9.6.0", "10.5").steps]
        assert labels == ["10.0.0 CU19", "10.2.0 CU21", "10.3.0 CU22", "10.4.0 CU21", "10.5.0 CU18"]

    def test_p23_10_5_2_cu1_the_documented_fix_can_be_targeted(self) -> None:
        """D11/D61: General_Feature_Release_10.5.2_CU1.md; KI_Upgrade_to_1051_stuck.md."""
        assert [s.to_label for s in plan("10.4.12", "10.5.2 CU1").steps] == ["10.5.2 CU1"]

    def test_d27_the_cu19_rule_only_across_majors(self) -> None:
        """Prep: "upgrade to DataMiner 10.0.0 [CU19] as the next major version"."""
        assert [s.to_label for s in plan("10.0.0 CU5", "10.0.0 CU21").steps] == ["10.0.0 CU21"]

    @pytest.mark.parametrize(
        ("frm", "host"), [("10.5.0 CU3", "10.5.0 CU18"), ("10.5.6", "10.5.12 CU2")]
    )
    def test_p10_p11_the_migration_runs_where_the_renewed_guide_says(
        self, frm: str, host: str
    ) -> None:
        """D36-D38, BrokerGateway_Migration.md: "Avoid migrating … lower than 10.5.0 [CU11]/
        10.5.12 [CU2]"; the prerequisite-only package, then NATSMigration.dmupgrade."""
        result = plan(frm, "10.6")
        assert result.steps[0].to_label == host
        assert result.steps[1].prerequisite_packages[:2] == [NATS_MIGRATION_CHECKS, NATS_MIGRATION]

    def test_d42_verifygrpcconnection_before_the_first_step_that_checks_it(self) -> None:
        """VerifyGRPCConnection.dmupgrade.md: the check is in packages from 10.5.10/10.6.0."""
        assert (
            "VerifyGRPCConnection.dmupgrade"
            in plan("10.5.8", "10.5.10").steps[0].prerequisite_packages
        )
        assert plan("10.5.10", "10.5.11").steps[0].prerequisite_packages == []

    def test_d20_a_target_out_of_support_is_said(self) -> None:
        """Software_support_life_cycles.md: 10.3 "Supported until" 27 Feb 2026."""
        result = plan("10.2.0 CU21", "10.3", today=date(2026, 12, 1))
        assert any("out of support since 2026-02-27" in w for w in result.warnings)
        late = plan("10.2.0 CU21", "10.3", today=date(2027, 3, 1))
        assert any("past its end of limited support (2027-02-26)" in w for w in late.warnings)
        assert not any(
            "support" in w for w in plan("10.4.0 CU21", "10.5", today=date(2026, 12, 1)).warnings
        )


class TestRequirementRows:
    def test_d53_before_10_3_9_both_vcpp_2010_and_2015_are_required(self) -> None:
        """DataMiner_Compute_Requirements.md: "In earlier DataMiner versions, both Microsoft
        Visual C++ 2010 and Microsoft Visual C++ 2015 or newer are required"."""
        needed = requirements_for(parse_version("10.2.0 CU4"))
        assert needed.vcpp_2010 and needed.vcpp_minimum == "14.0"
        assert "Source: https://docs.dataminer.services/dataminer/Reference/" in (
            describe_requirements(needed)
        )


class TestKnownIssueRows:
    @pytest.mark.parametrize(
        ("frm", "to", "issue"),
        [
            ("10.4.0 CU3", "10.4.0 CU8", "KI-ldap-users-cannot-log-in"),  # P31
            ("10.4.8", "10.5.1", "KI-ldap-users-cannot-log-in"),  # P28
            ("10.4.0 CU10", "10.4.0 CU14", "KI-dcomconfig-flagged-as-virus"),  # P32
            ("10.5.3", "10.5.8", "KI-clusterendpoint-slnet-leak"),  # P30
            ("10.5.0", "10.5.0 CU14", "KI-gqi-dxm-newtonsoft"),  # P27
            ("10.3.0 CU22", "10.4.0 CU21", "KI-idp-discovery"),
            ("10.3.9", "10.4.1", "KI-elements-not-loading-multiple-es"),
            ("10.2.0 CU5", "10.3.0 CU10", "KI-failover-hostnames"),
            ("10.3.0 CU5", "10.4.0 CU21", "KI-nats-server-config-not-in-backup"),
            ("10.5.5", "10.5.6", "KI-srm-scheduler-unresponsive"),
            ("10.3.0 CU5", "10.3.0 CU12", "KI-deadlock-service-loading"),
        ],
    )
    def test_d69a_the_missing_known_issues_now_match(self, frm: str, to: str, issue: str) -> None:
        """Known_issues.md and each KI page named in the issue's `source`."""
        assert issue in issue_ids(frm, to)

    @pytest.mark.parametrize(
        ("frm", "to", "issue"),
        [
            ("10.4.0 CU3", "10.4.0 CU12", "KI-ldap-users-cannot-log-in"),
            ("10.5.3", "10.5.8 CU1", "KI-clusterendpoint-slnet-leak"),
            ("10.5.0 CU1", "10.5.0 CU14", "KI-gqi-dxm-newtonsoft"),
            ("10.5.0", "10.5.0 CU15", "KI-gqi-dxm-newtonsoft"),
            ("10.4.0", "10.4.0 CU21", "KI-idp-discovery"),
            ("10.4.12", "10.5.0 CU4", "KI-failover-config-after-brokergateway"),  # D69
        ],
    )
    def test_the_fixed_or_unconcerned_versions_do_not(self, frm: str, to: str, issue: str) -> None:
        assert issue not in issue_ids(frm, to)

    def test_d64_verifyclusterports_only_on_two_agent_systems(self) -> None:
        """KI_Upgrade_fails_VerifyClusterPorts_prerequisite.md: two DMAs or one Failover pair."""
        assert "KI-verifyclusterports-small-cluster" in issue_ids("10.3.0 CU5", "10.4.0 CU21", 2)
        assert "KI-verifyclusterports-small-cluster" not in issue_ids(
            "10.3.0 CU5", "10.4.0 CU21", 1
        )

    def test_d65_the_grpc_advice_names_the_documented_workaround(self) -> None:
        issue = next(i for i in ISSUES.issues if i.id == "KI-verifygrpcconnection")
        assert "EnableDotNetRemoting.dmupgrade" in issue.advice and "443" in issue.advice


class TestStaleCatalog:
    def test_item_7_a_catalog_older_than_90_days_says_which_docs_it_knows(self) -> None:
        fresh = stale_catalog_sentence(CATALOG, date(2026, 9, 1))
        stale = stale_catalog_sentence(CATALOG, date(2026, 12, 1))
        assert fresh is None
        assert stale is not None and "Skyline's docs of 2026-08-21 (102 days ago)" in stale
        assert "10.6.0 CU6" in stale and "10.6.9" in stale

    def test_a_catalog_without_a_docs_date_is_stale(self) -> None:
        bare = Catalog.from_mapping({"releases": [{"version": "10.5.0"}]})
        sentence = stale_catalog_sentence(bare, date(2026, 12, 1))
        assert sentence is not None and "docs of an unknown date" in sentence

    @pytest.mark.parametrize("target", ["10.9", "10.6.11", "10.6.0 CU9"])
    def test_a_target_newer_than_the_catalog_says_so(self, target: str) -> None:
        with pytest.raises(NewerThanCatalog) as caught:
            CATALOG.resolve(target)
        assert "it was built from Skyline's docs of 2026-08-21" in str(caught.value)
        assert isinstance(caught.value, UnknownVersion)

    def test_a_gap_inside_the_catalog_is_plainly_unknown(self) -> None:
        with pytest.raises(UnknownVersion) as caught:
            CATALOG.resolve("10.5.0.0-15230")
        assert not isinstance(caught.value, NewerThanCatalog)


class TestPostMigration:
    def test_d40_the_guides_post_migration_actions_when_the_plan_migrates(self) -> None:
        """BrokerGateway_Migration.md "Post-migration actions": DMZ, Data Aggregator and
        Dashboard Gateway need reconfiguration."""
        actions = post_migration_actions(plan("10.5.0 CU18", "10.6"))
        assert [a.split(":")[0] for a in actions] == [
            "DMZ",
            "Data Aggregator",
            "Dashboard Gateway",
            "Source",
        ]
        assert actions[-1].endswith("dataminer/DataMiner_Tools/BrokerGateway_Migration.html")
        assert post_migration_actions(plan("10.4.0 CU21", "10.5")) == []


def test_d39_the_migration_asks_for_asp_net_core_10_on_every_agent() -> None:
    """BrokerGateway_Migration.md: "ensure that the ASP.NET Core Runtime 10 Hosting Bundle is
    installed on each DataMiner Agent" before the automatic migration."""
    step = plan("10.5.0 CU18", "10.6").steps[0]
    assert 10 in step.requirements.aspnet_core
    assert step.requirements.needed_by["aspnet_core:10"] == (
        "step 1: the BrokerGateway migration before 10.6.0 CU6"
    )


class TestStatedRelease:
    """Issue #12 item 2: an unplaced build is made known by the catalog or by a config setting
    naming the system's current CU."""

    def test_the_configured_cu_lets_a_same_release_target_be_planned(self) -> None:
        result = plan("10.4.0.0-16299", "10.4.0 CU21", stated="10.4.0 CU19")
        assert result.current.label == "10.4.0 CU19 (build 16299, per the config)"
        assert [s.to_label for s in result.steps] == ["10.4.0 CU21"]
        assert any("current_release names" in w for w in result.warnings)

    def test_a_configured_cu_at_or_above_the_target_is_still_a_downgrade(self) -> None:
        with pytest.raises(DowngradeRefused):
            plan("10.4.0.0-16299", "10.4.0 CU15", stated="10.4.0 CU19")

    def test_a_configured_cu_of_another_release_is_refused(self) -> None:
        with pytest.raises(NoUpgradePath, match=r"is not a release of 10\.4\.0"):
            plan("10.4.0.0-16299", "10.5", stated="10.5.0 CU3")

    def test_a_placed_build_ignores_the_setting(self) -> None:
        result = plan("10.4.0.0-16295", "10.5", stated="10.4.0 CU2")
        assert result.current.label == "10.4.0 CU18"

    def test_a_configured_cu_the_catalog_lacks_is_used_as_said(self) -> None:
        result = plan("10.4.0.0-16299", "10.5", stated="10.4.0 CU25")
        assert result.current.version == parse_version("10.4.0 CU25")


class TestPrerequisiteChecks:
    """D58, Preparing_to_upgrade_a_DataMiner_Agent.md "Prerequisite checks"."""

    @pytest.mark.parametrize(
        ("frm", "to", "checks"),
        [
            (
                "10.3.0 CU22",
                "10.4.0 CU21",
                "Validate Connectors, Verify Elastic Storage Type, Verify No Legacy Reports "
                "Dashboards, Verify No Obsolete API Deployed",
            ),
            (
                "10.5.0 CU18",
                "10.6.0 CU6",
                "Verify No Legacy Correlation, Verify gRPC Connection, Verify OS Version, "
                "Verify No Annotations, Verify BrokerGateway Migration",
            ),
            ("10.4.12", "10.5.3", "Verify No Amazon Keyspaces, Verify No Legacy Correlation"),
        ],
    )
    def test_a_step_names_the_checks_that_first_run_on_it(
        self, frm: str, to: str, checks: str
    ) -> None:
        notes = " ".join(plan(frm, to).steps[0].notes)
        assert f"runs these prerequisite checks by default: {checks};" in notes

    def test_a_step_that_adds_no_check_says_nothing_of_them(self) -> None:
        assert not any(
            "prerequisite checks" in n for n in plan("10.4.0 CU6", "10.4.0 CU8").steps[0].notes
        )

    def test_d39_the_hand_checked_migration_prerequisites_are_named(self) -> None:
        notes = " ".join(plan("10.5.0 CU18", "10.6").steps[0].notes)
        for needed in (
            "TLS 1.2",
            "Schannel",
            "DataMinerMessageBroker.API.dll",
            "NATSForceManualConfig",
        ):
            assert needed in notes

    def test_an_unplaced_build_counts_as_its_first_release(self) -> None:
        assert default_checks(parse_version("10.4.0.0-99999")) == default_checks(
            parse_version("10.4.0")
        )
