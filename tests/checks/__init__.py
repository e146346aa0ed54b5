"""Builders shared by the check tests: a healthy three-agent lab (dma-lab-02 and dma-lab-03 a
Failover pair) about to go from 10.3.0 to the latest 10.5, as a snapshot built straight from
the adapter's models. Each test spoils exactly the part it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.agents.models import (
    AgentInfo,
    AgentRequirements,
    AgentState,
    Alarm,
    AlarmSummary,
    Cluster,
    InstalledSoftware,
    Severity,
)
from bot.domain.paths import UpgradePlan, plan_upgrade
from bot.releases import load_catalog, load_known_issues
from checks import CheckSettings, ClusterSnapshot, PackageState, needed_packages

NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
FIRST_SEEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
NAMES = ("dma-lab-01", "dma-lab-02", "dma-lab-03")
CATALOG = load_catalog()
PLAN: UpgradePlan = plan_upgrade(
    CATALOG,
    dict.fromkeys(NAMES, "10.3.0.0-13012"),
    CATALOG.resolve("10.5"),
    load_known_issues(),
)
QUIET_PLAN = PLAN.model_copy(update={"known_issues": []})
SHA = "ab" * 32
OTHER_SHA = "cd" * 32
STORE = "/srv/upgradebot/packages"


def agent(
    name: str,
    state: AgentState = AgentState.RUNNING,
    partner: str | None = None,
    online: bool | None = None,
) -> AgentInfo:
    number = int(name[-2:])
    return AgentInfo(
        id=100 + number,
        name=name,
        address=f"10.11.0.{10 + number}",
        version="10.3.0.0-13012",
        state=state,
        failover_partner=partner,
        is_online=online,
    )


def lab_cluster(**states: AgentState) -> Cluster:
    """The lab; ``dma_lab_02=AgentState.DISCONNECTED`` puts one agent in another state."""

    def state(name: str) -> AgentState:
        return states.get(name.replace("-", "_"), AgentState.RUNNING)

    return Cluster(
        name="lab",
        agents=[
            agent("dma-lab-01", state("dma-lab-01")),
            agent("dma-lab-02", state("dma-lab-02"), partner="dma-lab-03", online=True),
            agent("dma-lab-03", state("dma-lab-03"), partner="dma-lab-02", online=False),
        ],
    )


def alarm(
    severity: Severity,
    element: str = "Encoder A",
    parameter: str = "Input Bitrate",
    agent_name: str = "dma-lab-01",
    value: str = "0 Mbps",
    hours_ago: int = 2,
) -> Alarm:
    return Alarm(
        id=f"101/{element}/{parameter}",
        agent=agent_name,
        element=element,
        parameter=parameter,
        severity=severity,
        value=value,
        since=NOW - timedelta(hours=hours_ago),
    )


def software(name: str = "dma-lab-01", **overrides: Any) -> AgentRequirements:
    """A server that meets everything up to 10.5.0 CU18 with 120 GB free."""
    values: dict[str, Any] = {
        "dotnet_framework": "4.8",
        "aspnet_core": ["8.0.11", "10.0.1"],
        "vcpp": "14.44.35211.0",
        "os": "Windows Server 2022",
        "free_disk_bytes": 120 * 1024**3,
    }
    values.update(overrides)
    return AgentRequirements(agent=name, installed=InstalledSoftware(**values))


def package_ok(name: str, size: int = 1_500_000_000) -> PackageState:
    file = name.replace("*", "15999")
    return PackageState(
        name=name,
        present=True,
        size=size,
        sha256=SHA,
        first_seen_sha256=SHA,
        first_seen_size=size,
        first_seen=FIRST_SEEN,
        file=file,
        directory=STORE,
    )


def healthy(**overrides: Any) -> ClusterSnapshot:
    """A snapshot every check passes (bar known issues and key checks, which depend on the
    plan and the settings)."""
    values: dict[str, Any] = {
        "system": "lab",
        "taken_at": NOW,
        "cluster": lab_cluster(),
        "alarms": AlarmSummary.from_alarms(
            [alarm(Severity.MINOR, "Core Router 01"), alarm(Severity.WARNING, "UPS Room B")]
        ),
        "requirements": [software(name) for name in NAMES],
        "backups": dict.fromkeys(NAMES, NOW - timedelta(hours=20)),
        "packages": [package_ok(name) for name in needed_packages(PLAN)],
    }
    values.update(overrides)
    return ClusterSnapshot(**values)


def settings(**overrides: Any) -> CheckSettings:
    return CheckSettings(now=NOW, **overrides)
