"""Key-functionality checks from the config: validated on load, answered from the snapshot."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bot.agents.models import AgentState, AlarmSummary, Severity
from checks import CheckStatus, KeyCheck, check_key_functions, evaluate_key_check
from tests.checks import PLAN, alarm, healthy, lab_cluster, settings

ENCODER = {
    "name": "Encoder A has no major alarm",
    "kind": "no_alarms_on_element",
    "element": "Encoder A",
}
AGENT = {"name": "Main agent runs", "kind": "agent_running", "agent": "dma-lab-01"}
NO_CRITICAL = {
    "name": "No critical alarms",
    "kind": "max_active_alarms",
    "severity": "critical",
    "max": 0,
}


class _Config(BaseModel):
    """Stands in for the system config that will hold ``key_checks: list[KeyCheck]``."""

    key_checks: list[KeyCheck]


def keys(*entries: dict[str, Any]) -> list[KeyCheck]:
    return [KeyCheck.model_validate(entry) for entry in entries]


# --- config -------------------------------------------------------------------------------


def test_the_three_documented_shapes_load() -> None:
    loaded = _Config.model_validate({"key_checks": [ENCODER, AGENT, NO_CRITICAL]}).key_checks
    assert [check.kind.value for check in loaded] == [
        "no_alarms_on_element",
        "agent_running",
        "max_active_alarms",
    ]
    assert loaded[0].threshold is Severity.MAJOR
    assert loaded[2].threshold is Severity.CRITICAL


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "x", "kind": "ping_element", "element": "A"},
            "unknown key check kind 'ping_element'; use one of: agent_running, "
            "no_alarms_on_element, max_active_alarms",
        ),
        ({"name": "x", "kind": "agent_running"}, "key check 'x' of kind agent_running needs agent"),
        (
            {"name": "x", "kind": "agent_running", "agent": "a", "element": "A"},
            "key check 'x' of kind agent_running does not take element",
        ),
        (
            {"name": "x", "kind": "max_active_alarms", "severity": "critical"},
            "needs max",
        ),
        ({**NO_CRITICAL, "max": -1}, "greater than or equal to 0"),
        ({**AGENT, "agnet": "typo"}, "Extra inputs are not permitted"),
        ({**ENCODER, "severity_at_least": "huge"}, "severity_at_least"),
    ],
)
def test_a_wrong_key_check_is_a_config_error_that_says_what(
    entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _Config.model_validate({"key_checks": [entry]})
    assert message in str(caught.value)


# --- evaluation ---------------------------------------------------------------------------


def test_no_key_checks_configured_is_a_warning() -> None:
    result = check_key_functions(healthy(), PLAN, settings())
    assert result.status is CheckStatus.WARN
    assert "No key-functionality checks are configured for lab" in result.summary


def test_passing_key_checks_pass_each_with_a_line() -> None:
    result = check_key_functions(healthy(), PLAN, settings(key_checks=keys(ENCODER, AGENT)))
    assert result.status is CheckStatus.PASS
    assert result.summary == "Every key check passes (2 key checks)."
    assert result.details == [
        "pass: Encoder A has no major alarm: no alarm at major or worse on Encoder A",
        "pass: Main agent runs: dma-lab-01 is Running",
    ]


def test_an_alarm_on_the_element_fails_that_check_only() -> None:
    alarms = AlarmSummary.from_alarms([alarm(Severity.CRITICAL, "encoder a")])
    snapshot = healthy(alarms=alarms)
    result = check_key_functions(snapshot, PLAN, settings(key_checks=keys(ENCODER, AGENT)))
    assert result.status is CheckStatus.FAIL
    assert result.summary == "1 of 2 key checks not passing: Encoder A has no major alarm."
    assert result.facts == {
        "Encoder A has no major alarm": "fail",
        "Main agent runs": "pass",
    }
    assert (
        "1 alarm at major or worse on Encoder A, the worst: critical: encoder a"
        in (result.details[0])
    )


def test_an_alarm_below_the_threshold_does_not_count() -> None:
    snapshot = healthy(alarms=AlarmSummary.from_alarms([alarm(Severity.MINOR)]))
    status, _ = evaluate_key_check(keys(ENCODER)[0], snapshot)
    assert status is CheckStatus.PASS


def test_a_truncated_alarm_list_cannot_clear_an_element() -> None:
    truncated = AlarmSummary(counts={Severity.MAJOR: 40}, alarms=[alarm(Severity.MAJOR, "B")])
    status, why = evaluate_key_check(keys(ENCODER)[0], healthy(alarms=truncated))
    assert status is CheckStatus.WARN
    assert "only 1 of 40 active alarms were listed" in why


@pytest.mark.parametrize(
    ("states", "status", "why"),
    [
        ({"dma_lab_01": AgentState.STARTING}, CheckStatus.FAIL, "dma-lab-01 is Starting"),
        ({}, CheckStatus.PASS, "dma-lab-01 is Running"),
    ],
)
def test_agent_running(states: dict[str, AgentState], status: CheckStatus, why: str) -> None:
    snapshot = healthy(cluster=lab_cluster(**states))
    assert evaluate_key_check(keys(AGENT)[0], snapshot) == (status, why)


def test_an_agent_the_cluster_does_not_have_fails() -> None:
    check = keys({**AGENT, "agent": "dma-lab-99"})[0]
    assert evaluate_key_check(check, healthy()) == (
        CheckStatus.FAIL,
        "the cluster has no agent named dma-lab-99",
    )


@pytest.mark.parametrize(
    ("entry", "status", "why"),
    [
        (NO_CRITICAL, CheckStatus.FAIL, "1 active alarm at critical, at most 0 allowed"),
        (
            {**NO_CRITICAL, "severity": "major", "max": 2},
            CheckStatus.PASS,
            "2 active alarms at major or worse, at most 2 allowed",
        ),
        (
            {**NO_CRITICAL, "severity": "minor", "max": 2},
            CheckStatus.FAIL,
            "3 active alarms at minor or worse, at most 2 allowed",
        ),
    ],
)
def test_max_active_alarms_counts_that_severity_or_worse(
    entry: dict[str, Any], status: CheckStatus, why: str
) -> None:
    alarms = AlarmSummary.from_alarms(
        [alarm(Severity.CRITICAL, "A"), alarm(Severity.MAJOR, "B"), alarm(Severity.MINOR, "C")]
    )
    assert evaluate_key_check(keys(entry)[0], healthy(alarms=alarms)) == (status, why)


def test_key_checks_whose_input_was_not_read_are_errors() -> None:
    snapshot = healthy(cluster=None, alarms=None, errors={"alarms": "Alarms timed out."})
    result = check_key_functions(snapshot, PLAN, settings(key_checks=keys(ENCODER, AGENT)))
    assert result.status is CheckStatus.ERROR
    assert result.details == [
        "error: Encoder A has no major alarm: Alarms timed out.",
        "error: Main agent runs: lab: the cluster's agents were not read.",
    ]
