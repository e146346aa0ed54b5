"""The one package grammar (issue #12, item 5): Skyline's Full|Web pattern
(DmUpgradeStorage ``Models/PackageToUpload.cs``), the documented .dmupdate delta
(``dataminer/Administrator_guide/DataMiner_Agents/DataMiner_packages.md``), prerequisite-only
packages and NATSMigration.dmupgrade (``dataminer/DataMiner_Tools/BrokerGateway_Migration.md``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.package_names import (
    PackageKind,
    PackageName,
    hotfix_description,
    hotfix_refusal,
    is_hotfix,
    is_upgrade_package,
    parse_package,
    upgrade_package_name,
)
from bot.domain.requirements import Requirements, describe_requirements, requirements_for
from bot.domain.sources import docs_url
from bot.domain.versions import parse_version


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "DataMiner 10.5.6.0-15384 Full Upgrade.dmupgrade",
            PackageName(kind=PackageKind.FULL, version="10.5.6.0-15384"),
        ),
        (
            "DataMiner 10.4.0.0(CU21)-16001 Full Upgrade (rc).dmupgrade",
            PackageName(kind=PackageKind.FULL, version="10.4.0.0-16001-CU21"),
        ),
        (
            "DataMiner 10.4.0.0-15634 Web Upgrade (internal).dmupgrade",
            PackageName(kind=PackageKind.WEB),
        ),
        (
            "DataMiner 10.4.0.0(CU8)-15100.dmupdate",
            PackageName(kind=PackageKind.UPDATE, version="10.4.0.0-15100-CU8"),
        ),
        ("NATSMigration.dmupgrade", PackageName(kind=PackageKind.MIGRATION)),
        (
            "NATSMigration - Prerequisite only.dmupgrade",
            PackageName(kind=PackageKind.PREREQUISITE, check="NATSMigration"),
        ),
        (
            "VerifyGRPCConnection.dmupgrade",
            PackageName(kind=PackageKind.PREREQUISITE, check="VerifyGRPCConnection"),
        ),
        ("Hotfix RN41234.dmupgrade", PackageName(kind=PackageKind.OTHER)),
        # the name the planner used to invent reads as what it is: not a version change
        (
            "DataMiner 10.4.0.0(CU10)-15230 CU Upgrade.dmupgrade",
            PackageName(kind=PackageKind.OTHER),
        ),
        ("DataMiner 10.5.0.0-15230 Full Upgrade.zip", PackageName(kind=PackageKind.NOT_AN_UPGRADE)),
        (".dmupgrade", PackageName(kind=PackageKind.NOT_AN_UPGRADE)),
    ],
)
def test_every_documented_format_is_classified(name: str, expected: PackageName) -> None:
    assert parse_package(name) == expected
    assert is_upgrade_package(name) is (expected.kind is not PackageKind.NOT_AN_UPGRADE)


def test_what_each_kind_does_to_an_agent() -> None:
    restarting = {k for k in PackageKind if k.restarts_dataminer}
    assert restarting == {PackageKind.FULL, PackageKind.UPDATE, PackageKind.OTHER}
    assert {k for k in PackageKind if k.changes_version} == {PackageKind.FULL, PackageKind.UPDATE}


@given(
    st.tuples(st.integers(9, 10), st.integers(0, 9), st.integers(0, 13)),
    st.integers(0, 30),
    st.one_of(st.none(), st.integers(1, 9_999_999)),
    st.sampled_from(["full", "cu"]),
)
def test_a_planned_name_reads_back_as_its_release(
    number: tuple[int, int, int], cu: int, build: int | None, step: str
) -> None:
    name = upgrade_package_name(number, cu, build, step)  # type: ignore[arg-type]
    parsed = parse_package(name.replace("-*", "-1"))
    assert parsed.kind is (PackageKind.FULL if step == "full" else PackageKind.UPDATE)
    assert parsed.version is not None
    version = parse_version(parsed.version)
    assert (version.major, version.minor, version.feature, version.cu) == (*number, cu)
    assert version.build == (build or 1)


def test_sources_link_the_published_page() -> None:
    assert docs_url("dataminer/Reference/Software_support_life_cycles.md") == (
        "https://docs.dataminer.services/dataminer/Reference/Software_support_life_cycles.html"
    )
    assert docs_url("https://example.org/x") == "https://example.org/x"


def test_a_step_that_needs_nothing_says_so() -> None:
    assert describe_requirements(Requirements()).startswith("Needs nothing listed.")


def test_a_step_on_10_6_names_every_need_and_its_page() -> None:
    line = describe_requirements(requirements_for(parse_version("10.6.0 CU6")))
    assert line.startswith(
        "Needs .NET Framework 4.8, ASP.NET Core 8.0 Hosting Bundle, ASP.NET Core 10.0 Hosting "
        "Bundle, Visual C++ 2015-2022 14.44.35211.0 or later, Windows Server 2016+ (or Windows "
        "10+). Source: https://docs.dataminer.services/dataminer/Reference/"
    )


@pytest.mark.parametrize(
    ("name", "hotfix"),
    [
        ("Hotfix RN41234.dmupgrade", True),
        ("DataMiner 10.4.0.0-15634 Web Upgrade (internal).dmupgrade", True),
        ("Skyline SRM.dmapp", True),
        ("DataMiner 10.6.0.0(CU6)-0 Full Upgrade.dmupgrade", False),
        ("DataMiner 10.4.0.0(CU8)-15100.dmupdate", False),
        ("NATSMigration.dmupgrade", False),
        ("VerifyClusterPorts.dmupgrade", False),
        (".dmapp", False),
        ("notes.txt", False),
    ],
)
def test_the_hotfix_picker_offers_only_what_installs_after_the_path(
    name: str, hotfix: bool
) -> None:
    assert is_hotfix(name) is hotfix


TARGET = (10, 5, 0, 18)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("DataMiner 10.6.0.0(CU6)-16500 Full Upgrade.dmupgrade", "full upgrade"),
        ("DataMiner 10.5.0.0(CU18)-15420.dmupdate", "update package"),
        ("VerifyClusterPorts.dmupgrade", "path itself"),
        ("NATSMigration.dmupgrade", "path itself"),
        ("notes.txt", "not a package"),
        ("Hotfix 10.4.0 CU21 SLNet leak.dmupgrade", "another version"),
        ("Hotfix 10.5.0 CU17 SLNet leak.dmupgrade", "another version"),
    ],
)
def test_what_is_not_a_hotfix_for_the_target_says_why(name: str, why: str) -> None:
    refusal = hotfix_refusal(name, TARGET)
    assert refusal is not None and why in refusal and name in refusal


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("Hotfix SLNet leak.dmupgrade", "Hotfix"),
        ("Hotfix 10.5.0 CU18 SLNet leak.dmupgrade", "Hotfix"),
        ("Hotfix 10.5.0.0 SLNet.dmupgrade", "Hotfix"),
        ("DataMiner 10.5.0.0(CU18)-15420 Web Upgrade.dmupgrade", "Web upgrade"),
        ("Dashboards.dmapp", "App package"),
    ],
)
def test_a_hotfix_for_the_target_is_accepted_and_described(name: str, what: str) -> None:
    assert hotfix_refusal(name, TARGET) is None
    assert hotfix_description(name).startswith(what)


def test_a_target_whose_cu_is_unknown_is_matched_on_its_number() -> None:
    assert hotfix_refusal("Hotfix 10.5.0 CU3 x.dmupgrade", (10, 5, 0, None)) is None
