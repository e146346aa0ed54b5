"""How long an upgrade takes, as a low–high range built from named parts.

The docs give few numbers (facts §7): the MOP's day-before check takes 30 minutes to 2 hours,
a prerequisite-only package about 5 minutes (``dataminer/DataMiner_Tools/VerifyClusterPorts.
dmupgrade.md``), and execution "varies" with the version gap, the agents' start-up time and the
hotfixes. The rest is the facts' heuristic [I]: per package step, upload + install + the slowest
agent's start-up, plus a possible VC++ reboot and the time to verify the step.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from bot.domain.package_names import NATS_MIGRATION
from bot.domain.paths import UpgradePlan
from bot.domain.requirements import requirements_for

PRECHECK_LOW = timedelta(minutes=30)  # [D] MOP "Time estimate", step 3
PRECHECK_HIGH = timedelta(hours=2)  # [D] same row: "30 min. to 2 hours"
PREREQUISITE_PACKAGE = timedelta(minutes=5)  # [D] a prerequisite-only package, no restart
VERIFY_PER_AGENT = timedelta(minutes=1)  # [I] check one agent is Running on the new version
WINDOWS_REBOOT = timedelta(minutes=5)  # [I] a Windows restart before DataMiner starts again
SPREAD = 1.5  # [I] high = 1.5 x low for everything but the upload
# [D] BrokerGateway_Migration.md: every agent "online and functioning together for at least 15
# minutes" before the migration; NATSMigration's ResetCluster gives up after 10 minutes.
MIGRATION_STABLE = timedelta(minutes=15)
MIGRATION_RUN_HIGH = timedelta(minutes=10)


class EstimatePart(BaseModel):
    """One line of the estimate, e.g. "Step 2: 10.5.0 CU18 (full package)"."""

    model_config = ConfigDict(frozen=True)

    label: str
    low: timedelta
    high: timedelta


class DurationEstimate(BaseModel):
    """The window's execution time (``low``–``high``) and, apart, the day-before pre-check."""

    model_config = ConfigDict(frozen=True)

    low: timedelta
    high: timedelta
    parts: list[EstimatePart]
    precheck_low: timedelta = PRECHECK_LOW
    precheck_high: timedelta = PRECHECK_HIGH


def estimate_duration(
    plan: UpgradePlan,
    agent_count: int,
    startup: timedelta,
    hotfix_count: int = 0,
    upload: timedelta = timedelta(minutes=5),
    install: timedelta = timedelta(minutes=10),
) -> DurationEstimate:
    """Estimate the execution of ``plan`` on a cluster of ``agent_count`` agents.

    Per package step (and per hotfix, installed after the last step the same way [I]):
    ``upload`` (default 5 min; pass 0 when the day-before pre-check already uploaded) +
    ``install`` (default 10 min) + ``startup``, the slowest agent's measured start-up
    ("Starting" → "Running"). The high end multiplies install and start-up by ``SPREAD`` [I].
    Each prerequisite-only package adds 5 min (7.5 high). A step that raises the Visual C++
    minimum may reboot the agents (facts §3): 0 low, start-up + 5 min high; so may a step that
    installs .NET Framework 4.8 (RN 31120, ``General_Feature_Release_10.1.11.md``: the DMA "will
    automatically be rebooted"). The BrokerGateway migration waits 15 minutes of a stable
    cluster, then runs up to 10 minutes (``BrokerGateway_Migration.md``). Verifying a step
    takes 1 min per agent (1.5 high) [I]. The pre-check (30 min – 2 h, MOP) is not included.
    """
    if agent_count < 1 or hotfix_count < 0:
        raise ValueError("agent_count must be at least 1 and hotfix_count at least 0")
    if min(startup, upload, install) < timedelta(0):
        raise ValueError("durations cannot be negative")
    parts: list[EstimatePart] = []
    before = requirements_for(plan.current.version)
    vcpp, framework = before.vcpp_minimum, before.dotnet_framework
    for step in plan.steps:
        tag = f"Step {step.number}"
        for package in step.prerequisite_packages:
            if package == NATS_MIGRATION:
                label = f"{tag}: BrokerGateway migration ({package}, after 15 min of stability)"
                low = MIGRATION_STABLE + PREREQUISITE_PACKAGE
                parts.append(EstimatePart(label=label, low=low, high=low + MIGRATION_RUN_HIGH))
            else:
                parts.append(_part(f"{tag}: prerequisite {package}", PREREQUISITE_PACKAGE))
        kind = f"{step.package_kind} package"
        parts.append(_package(f"{tag}: {step.to_label} ({kind})", upload, install, startup))
        needed = step.requirements.vcpp_minimum
        if needed and (vcpp is None or _numbers(needed) > _numbers(vcpp)):
            label = f"{tag}: possible reboot to install Visual C++ 2015-2022 ({needed}+)"
            parts.append(EstimatePart(label=label, low=timedelta(0), high=startup + WINDOWS_REBOOT))
            vcpp = needed
        installs = step.requirements.dotnet_framework
        if installs == "4.8" and framework is not None and _numbers(framework) < (4, 8):
            label = f"{tag}: possible reboot, the upgrade installs .NET Framework 4.8"
            parts.append(EstimatePart(label=label, low=timedelta(0), high=startup + WINDOWS_REBOOT))
            framework = installs
        parts.append(_part(f"{tag}: verify {agent_count} agent(s)", VERIFY_PER_AGENT * agent_count))
    for number in range(1, hotfix_count + 1):
        parts.append(_package(f"Hotfix {number}", upload, install, startup))
    return DurationEstimate(
        low=sum((p.low for p in parts), timedelta(0)),
        high=sum((p.high for p in parts), timedelta(0)),
        parts=parts,
    )


def _part(label: str, low: timedelta) -> EstimatePart:
    return EstimatePart(label=label, low=low, high=low * SPREAD)


def _package(label: str, upload: timedelta, install: timedelta, startup: timedelta) -> EstimatePart:
    low = upload + install + startup
    return EstimatePart(label=label, low=low, high=upload + (install + startup) * SPREAD)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
