"""Every step's minimum requirements on every agent, free disk for the packages, known issues."""

from __future__ import annotations

import pytest

from bot.agents.models import AgentRequirements
from bot.domain.known_issues import KnownIssueMatch
from bot.domain.requirements import Requirements
from checks import (
    GIB,
    CheckStatus,
    check_disk_space,
    check_known_issues,
    check_requirements,
    to_installed_software,
)
from checks.packages import needed_packages
from tests.checks import (
    NAMES,
    PLAN,
    QUIET_PLAN,
    agent,
    healthy,
    lab_cluster,
    package_ok,
    settings,
    software,
)

# --- requirements -------------------------------------------------------------------------


def test_agents_that_meet_every_step_pass() -> None:
    result = check_requirements(healthy(), PLAN, settings())
    assert result.status is CheckStatus.PASS
    assert result.summary == (
        "Every agent meets the requirements of every step (3 agents, 2 steps)."
    )
    assert result.facts == dict.fromkeys(NAMES, "met")


def test_the_adapter_report_maps_to_the_requirement_tables() -> None:
    mapped = to_installed_software(software("dma-lab-02", vcpp="", os="Windows Server 2019"))
    assert mapped.agent == "dma-lab-02"
    assert mapped.aspnet_core == ("8.0.11", "10.0.1")
    assert mapped.vcpp is None
    assert mapped.vcpp_2010 is None
    assert mapped.windows == "Windows Server 2019"


def test_a_runtime_only_the_last_step_needs_fails_naming_that_step() -> None:
    reqs = [software(n) for n in NAMES[:2]] + [software("dma-lab-03", aspnet_core=["8.0.11"])]
    result = check_requirements(healthy(requirements=reqs), PLAN, settings())
    assert result.status is CheckStatus.FAIL
    assert result.summary == "1 of 3 agents do not meet what the 2 steps need: dma-lab-03."
    assert result.details == [
        "dma-lab-03: needs ASP.NET Core 10.0 (step 2: 10.5.0 CU18); dma-lab-03 has 8.0.11."
    ]
    assert result.facts["dma-lab-03"] == "not met"


def test_an_early_step_is_checked_even_when_the_last_step_does_not_need_it() -> None:
    first, last = PLAN.steps
    needs_six = Requirements(
        dotnet_framework="4.8",
        aspnet_core=(6, 8),
        needed_by={
            "dotnet_framework": "step 1: x",
            "aspnet_core:6": "step 1: 10.4.0 CU21",
            "aspnet_core:8": "step 1: x",
        },
    )
    plan = PLAN.model_copy(
        update={"steps": [first.model_copy(update={"requirements": needs_six}), last]}
    )
    result = check_requirements(healthy(), plan, settings())
    assert result.status is CheckStatus.FAIL
    assert (
        "dma-lab-01: needs ASP.NET Core 6.0 (step 1: 10.4.0 CU21); dma-lab-01 has 8.0.11, 10.0.1."
        in result.details
    )


def test_an_old_os_and_framework_fail_with_what_the_agent_has() -> None:
    plan = PLAN.model_copy(
        update={
            "steps": [
                s.model_copy(
                    update={
                        "requirements": s.requirements.model_copy(
                            update={
                                "windows_server_minimum": 2016,
                                "needed_by": {
                                    **s.requirements.needed_by,
                                    "windows_server_minimum": f"step {s.number}",
                                },
                            }
                        )
                    }
                )
                for s in PLAN.steps
            ]
        }
    )
    reqs = [software(n, os="Windows Server 2012 R2", dotnet_framework="4.6.2") for n in NAMES]
    result = check_requirements(healthy(requirements=reqs), plan, settings())
    assert result.status is CheckStatus.FAIL
    line = result.details[0]
    assert line.startswith("dma-lab-01: needs .NET Framework 4.8 (step 1: 10.4.0 CU21)")
    assert line.endswith("dma-lab-01 has 4.6.2.")
    assert any("Windows Server 2016 or later" in d and "2012 R2" in d for d in result.details)


def test_an_old_visual_cpp_is_a_warning_because_the_upgrade_installs_it() -> None:
    reqs = [software(n, vcpp="14.40.33816.0") for n in NAMES]
    result = check_requirements(healthy(requirements=reqs), PLAN, settings())
    assert result.status is CheckStatus.WARN
    assert result.summary == (
        "Every agent meets the hard requirements of the 2 steps; 3 items to check by hand."
    )
    assert "reboot" in result.details[0]
    assert result.facts["dma-lab-01"] == "check by hand"


def test_a_step_that_keeps_visual_cpp_2010_asks_for_a_check_by_hand() -> None:
    first, last = PLAN.steps
    keep = first.requirements.model_copy(
        update={"vcpp_2010": True, "needed_by": {**first.requirements.needed_by, "vcpp_2010": "s1"}}
    )
    plan = PLAN.model_copy(
        update={"steps": [first.model_copy(update={"requirements": keep}), last]}
    )
    result = check_requirements(healthy(), plan, settings())
    assert result.status is CheckStatus.WARN
    assert result.details == [
        "step 1 (10.4.0 CU21) still need the Visual C++ 2010 redistributable; the agents do not "
        "report it, so check by hand that it is installed on every agent."
    ]


def test_an_agent_of_the_cluster_that_reported_nothing_fails() -> None:
    result = check_requirements(
        healthy(requirements=[software(n) for n in NAMES[:2]]), PLAN, settings()
    )
    assert result.status is CheckStatus.FAIL
    assert result.details == ["dma-lab-03 did not report its installed software."]


def test_requirements_unread_or_without_a_plan_is_an_error() -> None:
    reason = "No answer within 5 s on DataMiner Agent dma-lab-02 while reading installed software."
    unread = healthy(requirements=None, errors={"requirements": reason})
    assert check_requirements(unread, PLAN, settings()).details == [reason]
    assert check_requirements(unread, PLAN, settings()).status is CheckStatus.ERROR
    assert check_requirements(healthy(), None, settings()).status is CheckStatus.ERROR


# --- disk ---------------------------------------------------------------------------------


def _disk(free_gib: float, name: str = "dma-lab-02") -> list[AgentRequirements]:
    return [software(n) for n in NAMES if n != name] + [
        software(name, free_disk_bytes=int(free_gib * GIB))
    ]


def test_plenty_of_disk_passes_counting_twice_the_package_sizes() -> None:
    result = check_disk_space(healthy(), PLAN, settings())
    assert result.status is CheckStatus.PASS
    # two packages of 1.5 GB (decimal), doubled for extraction: 5.6 GB
    assert result.summary == "Room for 5.6 GB of packages on every agent (least free: dma-lab-01)."
    assert result.details[0] == "dma-lab-01: 120.0 GB free, 5.6 GB needed, 114.4 GB left."


@pytest.mark.parametrize(
    ("free_gib", "status", "fact", "under"),
    [
        (15.0, CheckStatus.WARN, "low", "10.0 GB"),  # 15 - 5.6 = 9.4 left
        (10.0, CheckStatus.FAIL, "too low", "5.0 GB"),  # 10 - 5.6 = 4.4 left
        (3.0, CheckStatus.FAIL, "too low", "5.0 GB"),  # not even room for the packages
    ],
)
def test_little_disk_left_after_the_packages_warns_then_fails(
    free_gib: float, status: CheckStatus, fact: str, under: str
) -> None:
    result = check_disk_space(healthy(requirements=_disk(free_gib)), PLAN, settings())
    assert result.status is status
    assert result.summary.startswith("dma-lab-02 would have ")
    assert result.summary.endswith(f"of packages, under {under}.")
    assert result.facts["dma-lab-02"] == fact
    assert result.facts["dma-lab-01"] == "enough"


def test_the_configured_need_overrides_the_package_sizes() -> None:
    result = check_disk_space(
        healthy(requirements=_disk(15.0)), PLAN, settings(package_bytes_needed=0)
    )
    assert result.status is CheckStatus.PASS


def test_unknown_package_sizes_check_the_thresholds_and_warn() -> None:
    snapshot = healthy(packages=None, errors={"packages": "The store is gone."})
    result = check_disk_space(snapshot, PLAN, settings())
    assert result.status is CheckStatus.WARN
    assert result.summary.endswith("Package sizes are unknown.")
    assert "Only the thresholds were checked: The store is gone." in result.details


def test_missing_packages_are_named_as_not_counted() -> None:
    first, second = needed_packages(PLAN)
    packages = [package_ok(first), package_ok(second).model_copy(update={"present": False})]
    result = check_disk_space(healthy(packages=packages), PLAN, settings())
    assert result.status is CheckStatus.WARN
    assert f"Not counted, not in the store: {second}" in result.details
    assert result.summary.endswith("Not counted: 1 package missing from the store.")


def test_disk_unread_is_an_error_and_an_empty_report_too() -> None:
    assert check_disk_space(healthy(requirements=None), PLAN, settings()).status is (
        CheckStatus.ERROR
    )
    assert check_disk_space(healthy(requirements=[]), PLAN, settings()).status is (
        CheckStatus.ERROR
    )


# --- known issues -------------------------------------------------------------------------


def test_no_known_issue_on_the_path_passes() -> None:
    result = check_known_issues(healthy(), QUIET_PLAN, settings())
    assert (result.status, result.summary) == (
        CheckStatus.PASS,
        "No known issue concerns this path.",
    )


def test_known_issues_warn_with_their_advice() -> None:
    result = check_known_issues(healthy(), PLAN, settings())
    assert result.status is CheckStatus.WARN
    assert result.details == [match.message for match in PLAN.known_issues]
    assert set(result.facts) == {match.id for match in PLAN.known_issues}


def test_failover_only_issues_are_dropped_for_a_cluster_without_pairs() -> None:
    failover = [m for m in PLAN.known_issues if m.scope == "failover"]
    assert failover, "the fixture plan should carry a Failover-only issue"
    single = lab_cluster().model_copy(update={"agents": [agent("dma-lab-01")]})
    result = check_known_issues(healthy(cluster=single), PLAN, settings())
    assert not set(result.facts) & {m.id for m in failover}
    with_pairs = check_known_issues(healthy(), PLAN, settings())
    assert {m.id for m in failover} <= set(with_pairs.facts)


def test_one_known_issue_reads_in_the_singular() -> None:
    only: KnownIssueMatch = PLAN.known_issues[0]
    plan = PLAN.model_copy(update={"known_issues": [only]})
    result = check_known_issues(healthy(), plan, settings())
    assert result.summary == f"1 known issue concerns this path: {only.title}."


def test_known_issues_without_a_plan_is_an_error() -> None:
    assert check_known_issues(healthy(), None, settings()).status is CheckStatus.ERROR
