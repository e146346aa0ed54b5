"""Can every Agent take every step of the path? Installed software against each step's minimum
requirements, free disk for the packages, and the known issues that concern the path.

Upgrades do not install .NET runtimes, so an Agent must meet every step's needs before step 1
(``bot/domain/requirements.py``). The Visual C++ redistributable is the exception: the upgrade
installs it itself and may reboot the Agent (facts §3), so a shortfall there is a warning.
"""

from __future__ import annotations

from bot.agents.models import AgentRequirements
from bot.domain.paths import PlanStep, UpgradePlan
from bot.domain.requirements import InstalledSoftware, Requirements, unmet_requirements
from checks.common import plural, result, to_size, unreadable, without_plan, worst
from checks.health import failover_pairs
from checks.models import CheckResult, CheckSettings, CheckStatus, ClusterSnapshot

EXTRACTION_FACTOR = 2
"""A package needs its own size again while it is extracted on the Agent [I]."""


def to_installed_software(reported: AgentRequirements) -> InstalledSoftware:
    """The adapter's report in the form the requirement tables read. The adapter does not say
    whether the VC++ 2010 redistributable is still there, so that stays unknown (None)."""
    software = reported.installed
    return InstalledSoftware(
        agent=reported.agent,
        dotnet_framework=software.dotnet_framework or None,
        aspnet_core=tuple(software.aspnet_core),
        vcpp_2010=None,
        vcpp=software.vcpp or None,
        windows=software.os or None,
    )


def check_requirements(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """Every Agent meets the minimum requirements of every step, each shortfall naming the step
    that needs it and what the Agent has."""
    key, title = "requirements", "Minimum requirements"
    if plan is None:
        return without_plan(key, title)
    if snapshot.requirements is None:
        return unreadable(key, title, snapshot, "requirements")
    reported = {item.agent: to_installed_software(item) for item in snapshot.requirements}
    names = _agent_names(snapshot)
    facts: dict[str, str] = {}
    failures: list[str] = []
    warnings: list[str] = []
    for name in names:
        software = reported.get(name)
        if software is None:
            failures.append(f"{name} did not report its installed software.")
            facts[name] = "not reported"
            continue
        hard, soft = _shortfalls(plan.steps, software)
        failures += hard
        warnings += soft
        facts[name] = "not met" if hard else "check by hand" if soft else "met"
    warnings += _keep_vcpp_2010(plan.steps)
    steps = plural(len(plan.steps), "step")
    short = [name for name, fact in facts.items() if fact in ("not met", "not reported")]
    if short:
        summary = (
            f"{len(short)} of {plural(len(names), 'agent')} do not meet what the {steps} "
            f"need: {', '.join(short)}."
        )
        return result(key, title, CheckStatus.FAIL, summary, failures + warnings, facts)
    if warnings:
        summary = (
            f"Every agent meets the hard requirements of the {steps}; "
            f"{plural(len(warnings), 'item')} to check by hand."
        )
        return result(key, title, CheckStatus.WARN, summary, warnings, facts)
    agents = plural(len(names), "agent")
    summary = f"Every agent meets the requirements of every step ({agents}, {steps})."
    return result(key, title, CheckStatus.PASS, summary, facts=facts)


def _agent_names(snapshot: ClusterSnapshot) -> list[str]:
    """The cluster's Agents, plus any that reported software without being in the cluster."""
    names = [agent.name for agent in snapshot.cluster.agents] if snapshot.cluster else []
    return names + [item.agent for item in snapshot.requirements or [] if item.agent not in names]


def _shortfalls(steps: list[PlanStep], software: InstalledSoftware) -> tuple[list[str], list[str]]:
    """What blocks (.NET, OS) and what the upgrade installs itself (VC++), per step."""
    hard: list[str] = []
    soft: list[str] = []
    for step in steps:
        needs = step.requirements
        blocking = needs.model_copy(update={"vcpp_minimum": None, "vcpp_2010": False})
        vcpp = Requirements(vcpp_minimum=needs.vcpp_minimum, needed_by=needs.needed_by)
        hard += [f"{software.agent}: {line}." for line in unmet_requirements(blocking, software)]
        soft += [f"{software.agent}: {line}." for line in unmet_requirements(vcpp, software)]
    return _unique(hard), _unique(soft)


def _keep_vcpp_2010(steps: list[PlanStep]) -> list[str]:
    needing = [f"step {s.number} ({s.to_label})" for s in steps if s.requirements.vcpp_2010]
    if not needing:
        return []
    return [
        f"{', '.join(needing)} still need the Visual C++ 2010 redistributable; the agents do not "
        "report it, so check by hand that it is installed on every agent."
    ]


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def check_disk_space(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """Free disk on every Agent after the packages are uploaded and extracted stays above the
    health thresholds (warning below 10 GB, critical below 5 GB)."""
    key, title = "disk_space", "Free disk"
    if snapshot.requirements is None:
        return unreadable(key, title, snapshot, "requirements")
    if not snapshot.requirements:
        return result(key, title, CheckStatus.ERROR, "No agent reported its free disk.")
    needed, notes = _bytes_needed(snapshot, settings)
    facts: dict[str, str] = {}
    details: list[str] = []
    statuses: list[CheckStatus] = []
    for item in snapshot.requirements:
        free = item.installed.free_disk_bytes
        left = free - needed
        status = _disk_status(left, settings)
        statuses.append(status)
        facts[item.agent] = {CheckStatus.PASS: "enough", CheckStatus.WARN: "low"}.get(
            status, "too low"
        )
        details.append(
            f"{item.agent}: {to_size(free)} free, {to_size(needed)} needed, "
            f"{to_size(max(left, 0))} left."
        )
    status = worst([*statuses, CheckStatus.WARN if notes else CheckStatus.PASS])
    summary = _disk_summary(snapshot.requirements, needed, settings)
    if notes and snapshot.packages is None:
        summary += " Package sizes are unknown."
    elif notes:
        summary += f" Not counted: {plural(len(notes), 'package')} missing from the store."
    return result(key, title, status, summary, details + notes, facts)


def _bytes_needed(snapshot: ClusterSnapshot, settings: CheckSettings) -> tuple[int, list[str]]:
    """Bytes to reserve for the packages, and notes when that number is incomplete."""
    if settings.package_bytes_needed is not None:
        return settings.package_bytes_needed, []
    if snapshot.packages is None:
        return 0, [f"Only the thresholds were checked: {snapshot.reason('packages')}"]
    sizes = [p.size for p in snapshot.packages if p.present and p.size is not None]
    missing = [p.name for p in snapshot.packages if not p.present]
    notes = [f"Not counted, not in the store: {name}" for name in missing]
    return EXTRACTION_FACTOR * sum(sizes), notes if missing else []


def _disk_status(left: int, settings: CheckSettings) -> CheckStatus:
    if left < settings.disk_fail_bytes:
        return CheckStatus.FAIL
    if left < settings.disk_warn_bytes:
        return CheckStatus.WARN
    return CheckStatus.PASS


def _disk_summary(items: list[AgentRequirements], needed: int, settings: CheckSettings) -> str:
    tightest = min(items, key=lambda item: item.installed.free_disk_bytes)
    left = tightest.installed.free_disk_bytes - needed
    where = f"{tightest.agent} would have {to_size(max(left, 0))} left after {to_size(needed)}"
    if left < settings.disk_fail_bytes:
        return f"{where} of packages, under {to_size(settings.disk_fail_bytes)}."
    if left < settings.disk_warn_bytes:
        return f"{where} of packages, under {to_size(settings.disk_warn_bytes)}."
    return f"Room for {to_size(needed)} of packages on every agent (least free: {tightest.agent})."


def check_known_issues(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """Known issues that concern a step of the path, each with its advice. Issues that only
    matter to Failover pairs are left out when the cluster is known to have none."""
    key, title = "known_issues", "Known issues"
    if plan is None:
        return without_plan(key, title)
    matches = plan.known_issues
    if snapshot.cluster is not None and not failover_pairs(snapshot.cluster):
        matches = [match for match in matches if match.scope != "failover"]
    if not matches:
        return result(key, title, CheckStatus.PASS, "No known issue concerns this path.")
    titles = "; ".join(match.title for match in matches)
    summary = f"{plural(len(matches), 'known issue')} concern this path: {titles}."
    if len(matches) == 1:
        summary = f"1 known issue concerns this path: {titles}."
    details = [match.message for match in matches]
    facts = {match.id: "applies" for match in matches}
    return result(key, title, CheckStatus.WARN, summary, details, facts)
