"""The key functionalities a team named for a system (``key_checks`` in its config), answered from
the snapshot before the upgrade and again after it (the MOP's "identify key functionalities")."""

from __future__ import annotations

from bot.agents.models import AgentState, AlarmSummary, Severity
from bot.domain.paths import UpgradePlan
from checks.common import plural, result, worst
from checks.health import describe_alarm
from checks.models import (
    CheckResult,
    CheckSettings,
    CheckStatus,
    ClusterSnapshot,
    KeyCheck,
    KeyCheckKind,
)


def check_key_functions(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """Every configured key check, one detail line each; the worst of them decides. No key
    checks configured is a warning: nobody has said what must still work afterwards."""
    key, title = "key_functions", "Key functionality"
    if not settings.key_checks:
        return result(
            key,
            title,
            CheckStatus.WARN,
            f"No key-functionality checks are configured for {snapshot.system}; identify them "
            "and add them as key_checks to its config.",
        )
    outcomes = [(check, *evaluate_key_check(check, snapshot)) for check in settings.key_checks]
    details = [f"{status.value}: {check.name}: {why}" for check, status, why in outcomes]
    facts = {check.name: status.value for check, status, _ in outcomes}
    status = worst(status for _, status, _ in outcomes)
    total = plural(len(outcomes), "key check")
    if status is CheckStatus.PASS:
        return result(key, title, status, f"Every key check passes ({total}).", details, facts)
    bad = [
        check.name for check, check_status, _ in outcomes if check_status is not CheckStatus.PASS
    ]
    summary = f"{len(bad)} of {total} not passing: {'; '.join(bad)}."
    return result(key, title, status, summary, details, facts)


def evaluate_key_check(check: KeyCheck, snapshot: ClusterSnapshot) -> tuple[CheckStatus, str]:
    """One key check's status and the sentence behind it."""
    if check.kind is KeyCheckKind.AGENT_RUNNING:
        return _agent_running(check, snapshot)
    if snapshot.alarms is None:
        return CheckStatus.ERROR, snapshot.reason("alarms")
    if check.kind is KeyCheckKind.NO_ALARMS_ON_ELEMENT:
        return _no_alarms_on_element(check, snapshot.alarms)
    return _max_active_alarms(check, snapshot.alarms)


def _agent_running(check: KeyCheck, snapshot: ClusterSnapshot) -> tuple[CheckStatus, str]:
    if snapshot.cluster is None:
        return CheckStatus.ERROR, snapshot.reason("cluster")
    found = [agent for agent in snapshot.cluster.agents if agent.name == check.agent]
    if not found:
        return CheckStatus.FAIL, f"the cluster has no agent named {check.agent}"
    agent = found[0]
    if agent.state is AgentState.RUNNING:
        return CheckStatus.PASS, f"{agent.name} is Running"
    return CheckStatus.FAIL, f"{agent.name} is {agent.state.label}"


def _no_alarms_on_element(check: KeyCheck, alarms: AlarmSummary) -> tuple[CheckStatus, str]:
    threshold = check.threshold
    element = check.element or ""
    hits = [
        alarm
        for alarm in alarms.worst(len(alarms.alarms))
        if alarm.element.casefold() == element.casefold() and alarm.severity.rank <= threshold.rank
    ]
    level = f"{threshold.value} or worse"
    if hits:
        return CheckStatus.FAIL, (
            f"{plural(len(hits), 'alarm')} at {level} on {element}, the worst: "
            f"{hits[0].severity.value}: {describe_alarm(hits[0])}"
        )
    if alarms.total > len(alarms.alarms):
        return CheckStatus.WARN, (
            f"none of the {len(alarms.alarms)} listed alarms is at {level} on {element}, but "
            f"only {len(alarms.alarms)} of {alarms.total} active alarms were listed"
        )
    return CheckStatus.PASS, f"no alarm at {level} on {element}"


def _max_active_alarms(check: KeyCheck, alarms: AlarmSummary) -> tuple[CheckStatus, str]:
    threshold = check.threshold
    allowed = check.max or 0
    counted = [severity for severity in Severity if severity.rank <= threshold.rank]
    count = alarms.count(*counted)
    level = (
        f"{threshold.value}" if threshold is Severity.CRITICAL else f"{threshold.value} or worse"
    )
    what = f"{plural(count, 'active alarm')} at {level}, at most {allowed} allowed"
    return (CheckStatus.FAIL if count > allowed else CheckStatus.PASS), what
