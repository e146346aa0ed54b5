"""Duration estimates (facts §7; MOP "Time estimate")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.estimates import (
    PRECHECK_HIGH,
    PRECHECK_LOW,
    EstimatePart,
    estimate_duration,
)
from bot.domain.paths import UpgradePlan, plan_upgrade
from bot.releases import load_catalog

CATALOG = load_catalog()
MIN = timedelta(minutes=1)


def plan(frm: str, to: str) -> UpgradePlan:
    return plan_upgrade(CATALOG, {"dma-01": frm, "dma-02": frm}, CATALOG.resolve(to))


def test_one_cu_step_with_the_defaults() -> None:
    estimate = estimate_duration(plan("10.4.0 CU6", "10.4.0 CU8"), 2, startup=15 * MIN)
    assert estimate.parts == [
        EstimatePart(label="Step 1: 10.4.0 CU8 (full package)", low=30 * MIN, high=42.5 * MIN),
        EstimatePart(label="Step 1: verify 2 agent(s)", low=2 * MIN, high=3 * MIN),
    ]
    assert (estimate.low, estimate.high) == (32 * MIN, 45.5 * MIN)
    assert (estimate.precheck_low, estimate.precheck_high) == (PRECHECK_LOW, PRECHECK_HIGH)
    assert PRECHECK_LOW == 30 * MIN
    assert timedelta(hours=2) == PRECHECK_HIGH


def test_prerequisite_packages_reboots_and_hotfixes_count() -> None:
    estimate = estimate_duration(
        plan("9.6.0", "10.3"),
        agent_count=4,
        startup=20 * MIN,
        hotfix_count=2,
        upload=timedelta(0),
        install=8 * MIN,
    )
    labels = [p.label for p in estimate.parts]
    assert labels == [
        "Step 1: 10.0.0 CU19 (full package)",
        "Step 1: verify 4 agent(s)",
        "Step 2: prerequisite VerifyClusterPorts.dmupgrade",
        "Step 2: 10.2.0 CU21 (full package)",
        "Step 2: possible reboot, the upgrade installs .NET Framework 4.8",
        "Step 2: verify 4 agent(s)",
        "Step 3: 10.3.0 CU22 (full package)",
        "Step 3: verify 4 agent(s)",
        "Hotfix 1",
        "Hotfix 2",
    ]
    prereq = estimate.parts[2]
    assert (prereq.low, prereq.high) == (5 * MIN, 7.5 * MIN)
    reboot = estimate.parts[4]
    assert (reboot.low, reboot.high) == (timedelta(0), 25 * MIN)
    package = estimate.parts[0]
    assert (package.low, package.high) == (28 * MIN, 42 * MIN)
    assert estimate.low == 5 * 28 * MIN + 3 * 4 * MIN + 5 * MIN
    assert estimate.high == 5 * 42 * MIN + 3 * 6 * MIN + 7.5 * MIN + 25 * MIN


def test_a_reboot_is_counted_once_per_raise_of_the_vcpp_minimum() -> None:
    estimate = estimate_duration(plan("10.4.0 CU21", "10.6"), 1, startup=10 * MIN)
    reboots = [p.label for p in estimate.parts if "reboot" in p.label]
    assert reboots == ["Step 1: possible reboot to install Visual C++ 2015-2022 (14.44.35211.0+)"]
    prereqs = [p.label for p in estimate.parts if "prerequisite" in p.label]
    assert prereqs == [
        "Step 2: prerequisite NATSMigration - Prerequisite only.dmupgrade",
        "Step 2: prerequisite VerifyGRPCConnection.dmupgrade",
    ]


def test_the_brokergateway_migration_counts_its_wait_and_its_run() -> None:
    """D74, BrokerGateway_Migration.md: every agent "online and functioning together for at least
    15 minutes" before migrating; NATSMigration's ResetCluster has a 10-minute timeout."""
    estimate = estimate_duration(plan("10.5.0 CU18", "10.6"), 2, startup=10 * MIN)
    migration = [p for p in estimate.parts if "BrokerGateway migration" in p.label]
    assert [(p.label, p.low, p.high) for p in migration] == [
        (
            "Step 1: BrokerGateway migration (NATSMigration.dmupgrade, after 15 min of stability)",
            20 * MIN,
            30 * MIN,
        )
    ]


def test_installing_dotnet_framework_4_8_may_reboot_once() -> None:
    """D70, RN 31120 (General_Feature_Release_10.1.11.md): the 10.1.11/10.2.0 packages install
    .NET Framework 4.8 and the DMA "will automatically be rebooted"."""
    estimate = estimate_duration(plan("10.0.0 CU19", "10.4"), 1, startup=10 * MIN)
    reboots = [p for p in estimate.parts if ".NET Framework 4.8" in p.label]
    assert [(p.label, p.low, p.high) for p in reboots] == [
        ("Step 1: possible reboot, the upgrade installs .NET Framework 4.8", 0 * MIN, 15 * MIN)
    ]
    assert not any(
        ".NET" in p.label for p in estimate_duration(plan("10.3.0", "10.4"), 1, 10 * MIN).parts
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"agent_count": 0, "startup": MIN},
        {"agent_count": 1, "startup": MIN, "hotfix_count": -1},
        {"agent_count": 1, "startup": -MIN},
        {"agent_count": 1, "startup": MIN, "upload": -MIN},
        {"agent_count": 1, "startup": MIN, "install": -MIN},
    ],
)
def test_impossible_inputs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        estimate_duration(plan("10.4.0 CU6", "10.4.0 CU8"), **kwargs)  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(0, 120),
    st.integers(0, 3),
    st.sampled_from([("9.6.0", "10.6"), ("10.5.0 CU1", "10.6.9"), ("10.6.2", "10.6.9")]),
)
def test_high_is_never_below_low_and_the_parts_add_up(
    agents: int, startup: int, hotfixes: int, path: tuple[str, str]
) -> None:
    estimate = estimate_duration(plan(*path), agents, startup * MIN, hotfixes)
    assert estimate.low <= estimate.high
    assert estimate.low == sum((p.low for p in estimate.parts), timedelta(0))
    assert estimate.high == sum((p.high for p in estimate.parts), timedelta(0))
    assert all(p.low <= p.high for p in estimate.parts)
