"""Is the cluster healthy enough to upgrade? Agents Running, no critical or major alarms, Failover
pairs in their normal Online/Offline shape, recent backups (facts §5, §6, §8; the MOP's
"no active problems" step)."""

from __future__ import annotations

from datetime import datetime

from bot.agents.models import AgentInfo, AgentState, Alarm, Cluster, Severity
from bot.domain.paths import UpgradePlan
from checks.common import plural, result, to_age, to_time, unreadable, worst
from checks.models import CheckResult, CheckSettings, CheckStatus, ClusterSnapshot

_SHOWN_ALARMS = 5
_BLOCKING_SEVERITIES = (Severity.CRITICAL, Severity.MAJOR)


def check_agents_running(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """Every Agent answers and is Running; the ones that are not are listed with their state."""
    key, title = "agents_running", "Agents"
    cluster = snapshot.cluster
    if cluster is None:
        return unreadable(key, title, snapshot, "cluster")
    facts = {agent.name: agent.state.value for agent in cluster.agents}
    if not cluster.agents:
        return result(key, title, CheckStatus.FAIL, f"{cluster.name} reports no agents.")
    down = [agent for agent in cluster.agents if agent.state is not AgentState.RUNNING]
    total = len(cluster.agents)
    if not down:
        summary = f"Every agent is Running ({plural(total, 'agent')})."
        return result(key, title, CheckStatus.PASS, summary, facts=facts)
    names = ", ".join(f"{agent.name} ({agent.state.label})" for agent in down)
    return result(
        key,
        title,
        CheckStatus.FAIL,
        f"{len(down)} of {plural(total, 'agent')} not Running: {names}.",
        [f"{agent.name} ({agent.address}) is {agent.state.label}." for agent in down],
        facts,
    )


def check_alarms(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """No active critical or major alarm; counts by severity, the worst five in the details."""
    key, title = "alarms", "Alarms"
    alarms = snapshot.alarms
    if alarms is None:
        return unreadable(key, title, snapshot, "alarms")
    critical, major = alarms.count(Severity.CRITICAL), alarms.count(Severity.MAJOR)
    counts = f"{critical} critical, {major} major"
    blocking = [alarm for alarm in alarms.worst(len(alarms.alarms)) if _blocks(alarm)]
    if critical + major == 0:
        rest = _other_counts(alarms.counts)
        return result(key, title, CheckStatus.PASS, f"{counts} active{rest}.")
    shown = blocking[:_SHOWN_ALARMS]
    first = f": {describe_alarm(shown[0])}" if shown else ""
    details = [f"{alarm.severity.value}: {describe_alarm(alarm)}" for alarm in shown]
    if (more := critical + major - len(shown)) > 0:
        details.append(f"… and {more} more critical or major.")
    return result(key, title, CheckStatus.FAIL, f"{counts} active{first}.", details)


def describe_alarm(alarm: Alarm) -> str:
    """``Core Router 01 / Fan Status = Failed on dma-lab-01 since 2026-12-02 21:30 UTC``."""
    value = f" = {alarm.value}" if alarm.value else ""
    return (
        f"{alarm.element} / {alarm.parameter}{value} on {alarm.agent} since {to_time(alarm.since)}"
    )


def _blocks(alarm: Alarm) -> bool:
    return alarm.severity in _BLOCKING_SEVERITIES


def _other_counts(counts: dict[Severity, int]) -> str:
    others = [
        f"{count} {severity.value}"
        for severity, count in sorted(counts.items(), key=lambda item: item[0].rank)
        if count and severity not in _BLOCKING_SEVERITIES
    ]
    return f" ({', '.join(others)})" if others else ""


def check_failover(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """Each Failover pair: both Agents present and Running, one Online and one Offline."""
    key, title = "failover", "Failover pairs"
    cluster = snapshot.cluster
    if cluster is None:
        return unreadable(key, title, snapshot, "cluster")
    pairs = failover_pairs(cluster)
    if not pairs:
        return result(key, title, CheckStatus.PASS, "No Failover pairs in this cluster.")
    facts: dict[str, str] = {}
    details: list[str] = []
    for main, backup in pairs:
        problems = _pair_problems(cluster, main, backup)
        facts[f"{main} + {backup}"] = "; ".join(problems) or "healthy"
        details += [f"{main} + {backup}: {problem}" for problem in problems]
    sick = [pair for pair, fact in facts.items() if fact != "healthy"]
    if not sick:
        summary = f"{plural(len(pairs), 'pair')} healthy: one Online, one Offline, both Running."
        return result(key, title, CheckStatus.PASS, summary, facts=facts)
    summary = f"{len(sick)} of {plural(len(pairs), 'pair')} unhealthy: {', '.join(sick)}."
    return result(key, title, CheckStatus.FAIL, summary, details, facts)


def failover_pairs(cluster: Cluster) -> list[tuple[str, str]]:
    """Each pair once, in cluster order, as (first named, its partner)."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for agent in cluster.agents:
        partner = agent.failover_partner
        if partner is None or agent.name in seen:
            continue
        seen |= {agent.name, partner}
        pairs.append((agent.name, partner))
    return pairs


def _pair_problems(cluster: Cluster, first: str, second: str) -> list[str]:
    agents = {agent.name: agent for agent in cluster.agents}
    missing = [name for name in (first, second) if name not in agents]
    if missing:
        return [f"{name} is not in the cluster" for name in missing]
    members = [agents[first], agents[second]]
    problems = [
        f"{agent.name} is {agent.state.label}"
        for agent in members
        if agent.state is not AgentState.RUNNING
    ]
    problems += [
        f"{agent.name} names {agent.failover_partner or 'no partner'} as its partner"
        for agent, other in ((members[0], second), (members[1], first))
        if agent.failover_partner != other
    ]
    roles = sorted(_role(agent) for agent in members)
    if roles != ["Offline", "Online"]:
        problems.append(f"expected one Online and one Offline, found {' and '.join(roles)}")
    return problems


def _role(agent: AgentInfo) -> str:
    if agent.is_online is None:
        return "no role"
    return "Online" if agent.is_online else "Offline"


def check_backups(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """Every Agent's newest backup is younger than ``backup_max_age``; none at all fails."""
    key, title = "backups", "Backups"
    backups = snapshot.backups
    if backups is None:
        return unreadable(key, title, snapshot, "backups")
    names = [a.name for a in snapshot.cluster.agents] if snapshot.cluster else []
    names += [name for name in backups if name not in names]
    limit = to_age(settings.backup_max_age)
    facts: dict[str, str] = {}
    details: list[str] = []
    statuses: list[CheckStatus] = []
    for name in names:
        status, fact, line = _backup_verdict(name, backups, settings)
        statuses.append(status)
        facts[name] = fact
        details.append(line)
    status = worst(statuses) if names else CheckStatus.FAIL
    bad = [name for name, fact in facts.items() if fact != "recent"]
    if not names:
        summary = "No agent reported a backup."
    elif bad:
        summary = (
            f"{len(bad)} of {plural(len(names), 'agent')} lack a backup younger than {limit}: "
        )
        summary += ", ".join(f"{name} ({facts[name]})" for name in bad) + "."
    else:
        summary = f"Every agent has a backup younger than {limit}."
    return result(key, title, status, summary, details, facts)


def _backup_verdict(
    name: str, backups: dict[str, datetime | None], settings: CheckSettings
) -> tuple[CheckStatus, str, str]:
    if name not in backups:
        return CheckStatus.FAIL, "not reported", f"{name} did not report its backups."
    taken = backups[name]
    if taken is None:
        return CheckStatus.FAIL, "no backup", f"{name} has no backup at all."
    age = settings.now - taken
    when = f"{name}: newest backup {to_time(taken)}, {to_age(age)} ago"
    if age > settings.backup_max_age:
        limit = to_age(settings.backup_max_age)
        return CheckStatus.FAIL, "too old", f"{when}; older than {limit}."
    return CheckStatus.PASS, "recent", f"{when}."
