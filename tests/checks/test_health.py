"""Agents Running, no critical/major alarms, Failover pairs in shape, recent backups."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.agents.models import AgentState, AlarmSummary, Cluster, Severity
from checks import (
    CheckStatus,
    check_agents_running,
    check_alarms,
    check_backups,
    check_failover,
)
from tests.checks import NAMES, NOW, PLAN, agent, alarm, healthy, lab_cluster, settings

# --- agents -------------------------------------------------------------------------------


def test_all_agents_running_passes_and_records_each_state() -> None:
    result = check_agents_running(healthy(), PLAN, settings())
    assert result.status is CheckStatus.PASS
    assert result.summary == "Every agent is Running (3 agents)."
    assert result.facts == dict.fromkeys(NAMES, "running")


@pytest.mark.parametrize(
    "state",
    [AgentState.DISCONNECTED, AgentState.STARTING, AgentState.STOPPED, AgentState.UNKNOWN],
)
def test_an_agent_not_running_fails_naming_it_and_its_state(state: AgentState) -> None:
    snapshot = healthy(cluster=lab_cluster(dma_lab_02=state))
    result = check_agents_running(snapshot, PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert result.summary == f"1 of 3 agents not Running: dma-lab-02 ({state.label})."
    assert result.details == [f"dma-lab-02 (10.11.0.12) is {state.label}."]
    assert result.facts["dma-lab-02"] == state.value


def test_a_cluster_without_agents_fails() -> None:
    result = check_agents_running(healthy(cluster=Cluster(name="lab", agents=[])), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert "no agents" in result.summary


def test_agents_unread_is_an_error_with_the_reason() -> None:
    reason = "DataMiner Agent dma-lab-01 did not answer while reading the cluster."
    snapshot = healthy(cluster=None, errors={"cluster": reason})
    result = check_agents_running(snapshot, PLAN, settings())
    assert result.status is CheckStatus.ERROR
    assert result.summary == f"Could not check: {reason}"
    assert result.details == [reason]


# --- alarms -------------------------------------------------------------------------------


def test_only_minor_and_warning_alarms_pass_with_their_counts() -> None:
    result = check_alarms(healthy(), PLAN, settings())
    assert result.status is CheckStatus.PASS
    assert result.summary == "0 critical, 0 major active (1 minor, 1 warning)."
    assert result.details == []


def test_no_alarms_at_all_pass() -> None:
    result = check_alarms(healthy(alarms=AlarmSummary.from_alarms([])), PLAN, settings())
    assert (result.status, result.summary) == (CheckStatus.PASS, "0 critical, 0 major active.")


@pytest.mark.parametrize("severity", [Severity.CRITICAL, Severity.MAJOR])
def test_a_critical_or_major_alarm_fails_and_is_described(severity: Severity) -> None:
    alarms = AlarmSummary.from_alarms([alarm(severity), alarm(Severity.MINOR, "Other")])
    result = check_alarms(healthy(alarms=alarms), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    described = "Encoder A / Input Bitrate = 0 Mbps on dma-lab-01 since 2026-12-01 20:00 UTC"
    assert described in result.summary
    assert result.details == [f"{severity.value}: {described}"]


def test_the_worst_five_are_listed_critical_first_and_the_rest_counted() -> None:
    alarms = [alarm(Severity.MAJOR, f"Major {n}", hours_ago=n) for n in range(1, 6)]
    alarms += [alarm(Severity.CRITICAL, f"Critical {n}", hours_ago=n) for n in range(1, 4)]
    result = check_alarms(healthy(alarms=AlarmSummary.from_alarms(alarms)), PLAN, settings())
    assert result.summary.startswith("3 critical, 5 major active: Critical 3 /")
    assert [line.split(" / ")[0] for line in result.details[:5]] == [
        "critical: Critical 3",
        "critical: Critical 2",
        "critical: Critical 1",
        "major: Major 5",
        "major: Major 4",
    ]
    assert result.details[5] == "… and 3 more critical or major."


def test_counts_beyond_the_listed_alarms_still_fail() -> None:
    summary = AlarmSummary(counts={Severity.CRITICAL: 4}, alarms=[])
    result = check_alarms(healthy(alarms=summary), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert result.summary == "4 critical, 0 major active."
    assert result.details == ["… and 4 more critical or major."]


def test_alarms_unread_is_an_error() -> None:
    result = check_alarms(healthy(alarms=None, errors={"alarms": "boom."}), PLAN, settings())
    assert (result.status, result.details) == (CheckStatus.ERROR, ["boom."])


def test_a_missing_part_without_a_reason_still_says_what_was_not_read() -> None:
    result = check_alarms(healthy(alarms=None), PLAN, settings())
    assert result.status is CheckStatus.ERROR
    assert result.details == ["lab: active alarms were not read."]


# --- failover -----------------------------------------------------------------------------


def test_a_healthy_pair_passes() -> None:
    result = check_failover(healthy(), PLAN, settings())
    assert result.status is CheckStatus.PASS
    assert result.facts == {"dma-lab-02 + dma-lab-03": "healthy"}


def test_no_pairs_pass() -> None:
    cluster = Cluster(name="lab", agents=[agent("dma-lab-01")])
    result = check_failover(healthy(cluster=cluster), PLAN, settings())
    assert (result.status, result.summary) == (
        CheckStatus.PASS,
        "No Failover pairs in this cluster.",
    )


def _pair(
    first_state: AgentState = AgentState.RUNNING,
    second_state: AgentState = AgentState.RUNNING,
    first_online: bool | None = True,
    second_online: bool | None = False,
    second_partner: str | None = "dma-lab-02",
    with_second: bool = True,
) -> Cluster:
    agents = [agent("dma-lab-02", first_state, partner="dma-lab-03", online=first_online)]
    if with_second:
        agents.append(agent("dma-lab-03", second_state, second_partner, second_online))
    return Cluster(name="lab", agents=agents)


@pytest.mark.parametrize(
    ("cluster", "problem"),
    [
        (
            _pair(second_state=AgentState.DISCONNECTED),
            "dma-lab-03 is Disconnected",
        ),
        (
            _pair(first_state=AgentState.SWITCHING),
            "dma-lab-02 is Switching",
        ),
        (
            _pair(second_online=True),
            "expected one Online and one Offline, found Online and Online",
        ),
        (
            _pair(first_online=False),
            "expected one Online and one Offline, found Offline and Offline",
        ),
        (
            _pair(first_online=None),
            "expected one Online and one Offline, found Offline and no role",
        ),
        (_pair(with_second=False), "dma-lab-03 is not in the cluster"),
        (
            _pair(second_partner="dma-lab-09"),
            "dma-lab-03 names dma-lab-09 as its partner",
        ),
    ],
)
def test_an_unhealthy_pair_fails_saying_what_is_wrong(cluster: Cluster, problem: str) -> None:
    result = check_failover(healthy(cluster=cluster), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert result.summary == "1 of 1 pair unhealthy: dma-lab-02 + dma-lab-03."
    assert f"dma-lab-02 + dma-lab-03: {problem}" in result.details


def test_failover_unread_is_an_error() -> None:
    result = check_failover(healthy(cluster=None), PLAN, settings())
    assert result.status is CheckStatus.ERROR


# --- backups ------------------------------------------------------------------------------


def test_recent_backups_pass() -> None:
    result = check_backups(healthy(), PLAN, settings())
    assert result.status is CheckStatus.PASS
    assert result.summary == "Every agent has a backup younger than 7 days."
    assert result.details[0] == "dma-lab-01: newest backup 2026-12-01 02:00 UTC, 20 h ago."


@pytest.mark.parametrize(
    ("taken", "fact", "line"),
    [
        (None, "no backup", "dma-lab-02 has no backup at all."),
        (
            NOW - timedelta(days=30),
            "too old",
            "dma-lab-02: newest backup 2026-11-01 22:00 UTC, 30 days ago; older than 7 days.",
        ),
    ],
)
def test_a_missing_or_old_backup_fails(taken: object, fact: str, line: str) -> None:
    backups = {**dict.fromkeys(NAMES, NOW - timedelta(hours=3)), "dma-lab-02": taken}
    result = check_backups(healthy(backups=backups), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert result.summary == (
        f"1 of 3 agents lack a backup younger than 7 days: dma-lab-02 ({fact})."
    )
    assert line in result.details


def test_the_age_limit_comes_from_the_settings() -> None:
    backups = dict.fromkeys(NAMES, NOW - timedelta(hours=20))
    strict = settings(backup_max_age=timedelta(hours=12))
    assert check_backups(healthy(backups=backups), PLAN, strict).status is CheckStatus.FAIL


def test_an_agent_missing_from_the_backup_report_fails() -> None:
    backups = dict.fromkeys(NAMES[:2], NOW)
    result = check_backups(healthy(backups=backups), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert "dma-lab-03 did not report its backups." in result.details


def test_no_backup_report_at_all_fails() -> None:
    result = check_backups(healthy(backups={}, cluster=None), PLAN, settings())
    assert (result.status, result.summary) == (CheckStatus.FAIL, "No agent reported a backup.")


def test_backups_unread_is_an_error() -> None:
    result = check_backups(healthy(backups=None), PLAN, settings())
    assert result.status is CheckStatus.ERROR
