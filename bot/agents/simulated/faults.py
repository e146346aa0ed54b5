"""The simulated DMS's rules, as pure functions over plain data: what its Agents are, which faults
can be injected, which alarms are active, what a package's prerequisite checks say, what
"Upload only" reports and when the last backup ran. ``adapter`` holds the state and time.

``SimFaults`` is deliberately mutable: tests and the sandbox change it while the simulator runs,
and the simulator reads it on every call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from bot.agents.models import (
    AgentState,
    Alarm,
    InstalledSoftware,
    PackageFile,
    PackageKind,
    Severity,
    UploadResult,
    prerequisite_check,
)

# A 10.3 system as installed in 2024: .NET Framework 4.8 with the ASP.NET Core 6 and 8 Hosting
# Bundles, the VC++ 2015+ runtime of that time, Windows Server 2019 and 120 GB free.
DEFAULT_INSTALLED = InstalledSoftware(
    dotnet_framework="4.8",
    aspnet_core=["6.0.36", "8.0.11"],
    vcpp="14.40.33816.0",
    os="Windows Server 2019",
    free_disk_bytes=120_000_000_000,
)


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class SimAgent:
    """One simulated DMA. ``failover_of`` makes it the offline backup of that Agent.
    ``installed`` given as a mapping fills in the rest from the default 10.3 server."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    failover_of: str | None = None
    state: AgentState = AgentState.RUNNING
    installed: InstalledSoftware = DEFAULT_INSTALLED

    @field_validator("installed", mode="before")
    @classmethod
    def _fill_installed(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {**DEFAULT_INSTALLED.model_dump(), **value}
        return value


def check_layout(agents: Sequence[SimAgent]) -> None:
    """Raises ValueError unless names are unique and each Failover pair is two distinct Agents
    that are in no other pair."""
    names = [agent.name for agent in agents]
    if not names:
        raise ValueError("a DMS needs at least one agent")
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise ValueError(f"agent names must be unique; repeated: {', '.join(duplicates)}")
    paired: set[str] = set()
    for agent in agents:
        if agent.failover_of is None:
            continue
        if agent.failover_of not in names or agent.failover_of == agent.name:
            raise ValueError(f"{agent.name}: failover_of must name another agent of this DMS")
        if {agent.name, agent.failover_of} & paired:
            raise ValueError(f"{agent.name}: an agent can be in only one Failover pair")
        paired |= {agent.name, agent.failover_of}


class SimAlarm(BaseModel):
    """An alarm to raise on the simulated DMS; ``since`` defaults to when the simulator started."""

    model_config = ConfigDict(extra="forbid")

    agent: str
    element: str
    parameter: str
    severity: Severity = Severity.MAJOR
    value: str = ""
    since: datetime | None = None


# (element, parameter, severity, value, hours active): a quiet but not silent production DMS.
_BACKGROUND_ALARMS = [
    ("Core Router 01", "Interface Errors", Severity.MINOR, "37", 5),
    ("Encoder 03", "Input Bitrate", Severity.MINOR, "2.1 Mbps", 30),
    ("UPS Room B", "Battery Temperature", Severity.WARNING, "31 °C", 2),
    ("Storage Array", "Disk Usage", Severity.WARNING, "81 %", 70),
    ("Satellite Rx 2", "Eb/No", Severity.WARNING, "6.4 dB", 12),
]
_CRITICAL_ALARM = ("Core Router 01", "Fan Status", Severity.CRITICAL, "Failed")


class SimFaults(BaseModel):
    """Faults of the simulated DMS, read on every call.

    - ``unreachable``: these Agents do not answer (see ``bot.agents.base`` for how that shows).
    - ``slow``: extra seconds on every call that touches the Agent; beyond the simulator's
      ``timeout_seconds`` the call fails with ``AdapterTimeout``.
    - ``failing_prerequisite``: Agent -> check name (``VerifyClusterPorts``) that fails there,
      during "Upload only" and at the start of an upgrade.
    - ``critical_alarm`` / ``add_alarm``: alarms on top of the background ones.
    - ``fail_upgrade``: Agent -> which upgrade run from now fails on it while installing
      (1 = the next run that includes it, 2 = the one after). Counts down as runs start.
    - ``old_backup``: every Agent's newest backup is 30 days old; ``no_backup``: these have none.
    """

    model_config = ConfigDict(extra="forbid")

    unreachable: set[str] = Field(default_factory=set)
    slow: dict[str, float] = Field(default_factory=dict)
    failing_prerequisite: dict[str, str] = Field(default_factory=dict)
    critical_alarm: bool = False
    alarms: list[SimAlarm] = Field(default_factory=list)
    fail_upgrade: dict[str, int] = Field(default_factory=dict)
    old_backup: bool = False
    no_backup: set[str] = Field(default_factory=set)

    def add_alarm(
        self,
        agent: str,
        element: str,
        parameter: str,
        severity: Severity = Severity.MAJOR,
        value: str = "",
        since: datetime | None = None,
    ) -> None:
        self.alarms.append(
            SimAlarm(
                agent=agent,
                element=element,
                parameter=parameter,
                severity=severity,
                value=value,
                since=since,
            )
        )

    def take_upgrade_failures(self, agents: Iterable[str]) -> set[str]:
        """Counts one run down for these Agents; returns those on which this run fails."""
        failing: set[str] = set()
        for agent in agents:
            left = self.fail_upgrade.get(agent)
            if left is None:
                continue
            if left <= 1:
                failing.add(agent)
                del self.fail_upgrade[agent]
            else:
                self.fail_upgrade[agent] = left - 1
        return failing


def active_alarms(
    faults: SimFaults, agents: list[tuple[int, str]], started_at: datetime
) -> list[Alarm]:
    """Background alarms spread over the Agents (id, name), plus the injected ones."""
    if not agents:
        return []
    ids = dict((name, dma_id) for dma_id, name in agents)
    rows: list[tuple[str, str, str, Severity, str, datetime]] = []
    for i, (element, parameter, severity, value, hours) in enumerate(_BACKGROUND_ALARMS):
        agent = agents[i % len(agents)][1]
        rows.append(
            (agent, element, parameter, severity, value, started_at - timedelta(hours=hours))
        )
    if faults.critical_alarm:
        element, parameter, severity, value = _CRITICAL_ALARM
        rows.append((agents[0][1], element, parameter, severity, value, started_at))
    for extra in faults.alarms:
        since = extra.since or started_at
        rows.append(
            (extra.agent, extra.element, extra.parameter, extra.severity, extra.value, since)
        )
    return [
        Alarm(
            id=f"{ids.get(agent, 0)}/{1000 + n}",
            agent=agent,
            element=element,
            parameter=parameter,
            severity=severity,
            value=value,
            since=since,
        )
        for n, (agent, element, parameter, severity, value, since) in enumerate(rows)
    ]


def prerequisite_failures(
    package: PackageFile,
    installed: InstalledSoftware,
    injected_check: str | None,
    check_requirements: bool = True,
) -> dict[str, str]:
    """The checks a package fails on one Agent: check name -> DataMiner's sentence.

    A full upgrade or hotfix runs every check, so an injected failure always shows; a
    prerequisite-only package runs just its own check; a web upgrade runs none. With
    ``check_requirements`` the .NET and OS checks of the target version are evaluated against
    what is installed (an approximation of DataMiner's tables: by major version only).
    """
    kind = package.kind
    failures: dict[str, str] = {}
    if injected_check and (
        kind.restarts_dataminer or prerequisite_check(package.name) == injected_check
    ):
        failures[injected_check] = "the check reported a failure on this Agent"
    if check_requirements and kind.changes_version and package.version:
        failures.update(_requirement_failures(_major_minor_month(package.version), installed))
    return {
        check: f"Prerequisite {check}.dll failed: {reason}." for check, reason in failures.items()
    }


def upload_verdict(
    agent: str,
    package: PackageFile,
    installed: InstalledSoftware,
    injected_check: str | None,
    check_requirements: bool = True,
) -> UploadResult:
    """What "Upload only" reports for one package on one Agent that answered."""
    if package.kind is PackageKind.NOT_AN_UPGRADE:
        message = f"{package.name} is not a DataMiner upgrade package (.dmupgrade)."
        return UploadResult(agent=agent, package=package.name, ok=False, message=message)
    failures = prerequisite_failures(package, installed, injected_check, check_requirements)
    if failures:
        message = f"{' '.join(failures.values())} One or more prerequisites failed."
        return UploadResult(
            agent=agent,
            package=package.name,
            ok=False,
            message=message,
            prerequisite_failures=list(failures),
        )
    message = "Upload has been completed successfully."
    return UploadResult(agent=agent, package=package.name, ok=True, message=message)


def run_prerequisite_failures(
    package: PackageFile,
    installed: Mapping[str, InstalledSoftware],
    faults: SimFaults,
    failing_upgrade: set[str],
    check_requirements: bool = True,
) -> dict[str, dict[str, str]]:
    """The Agents whose checks fail at the start of an upgrade run, with their failures. For a
    prerequisite-only package an injected upgrade failure shows as its check failing."""
    failed: dict[str, dict[str, str]] = {}
    for agent, software in installed.items():
        injected = faults.failing_prerequisite.get(agent)
        checks = prerequisite_failures(package, software, injected, check_requirements)
        if not checks and agent in failing_upgrade and package.kind is PackageKind.PREREQUISITE:
            checks = {package.name: f"Prerequisite {package.name} failed on this Agent."}
        if checks:
            failed[agent] = checks
    return failed


def latest_backup(now: datetime, agent: str, faults: SimFaults) -> datetime | None:
    """Backups run nightly at 02:00 UTC, unless a fault says otherwise."""
    if agent in faults.no_backup:
        return None
    nightly = now.replace(hour=2, minute=0, second=0, microsecond=0)
    if nightly > now:
        nightly -= timedelta(days=1)
    return nightly - timedelta(days=30) if faults.old_backup else nightly


def _major_minor_month(version: str) -> tuple[int, int, int]:
    major, minor, month = (int(part) for part in version.split("-")[0].split(".")[:3])
    return major, minor, month


def _requirement_failures(
    target: tuple[int, int, int], installed: InstalledSoftware
) -> dict[str, str]:
    failures: dict[str, str] = {}
    needed = ["8"] if target >= (10, 4, 0) else []
    needed += ["10"] if target >= (10, 6, 0) else []
    majors = {version.split(".")[0] for version in installed.aspnet_core}
    missing = [f"ASP.NET Core {major}.0 Hosting Bundle" for major in needed if major not in majors]
    if missing:
        failures["VerifyDotNetVersion"] = f"{' and '.join(missing)} not installed"
    if target >= (10, 5, 12) and not _is_supported_os(installed.os):
        failures["VerifyOSVersion"] = f"{installed.os} is older than Windows Server 2016"
    return failures


def _is_supported_os(os_name: str) -> bool:
    server = re.search(r"Windows Server (\d{4})", os_name)
    if server:
        return int(server[1]) >= 2016
    return re.search(r"Windows 1[01]\b", os_name) is not None
