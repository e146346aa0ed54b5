"""Gathering a snapshot from the real simulated DMS, with faults injected: one failed or slow
read costs that part of the snapshot only, and the checks then say "could not check"."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.agents import AlarmSummary, SimAgent, SimFaults, SimulatedAdapter
from bot.agents.models import AgentState, Severity
from bot.domain.paths import plan_upgrade
from bot.evidence.snapshot import take_snapshot
from bot.releases import load_catalog
from checks import (
    CheckSettings,
    CheckStatus,
    KeyCheck,
    check_agents_running,
    check_alarms,
    check_backups,
    check_key_functions,
    check_requirements,
    run_checks,
)

NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
VERSION = "10.3.0.0-13012"
AGENTS = [
    SimAgent(name="dma-lab-01", version=VERSION),
    SimAgent(name="dma-lab-02", version=VERSION),
    SimAgent(name="dma-lab-03", version=VERSION, failover_of="dma-lab-02"),
]
READS = {"cluster", "alarms", "requirements", "backups"}
CATALOG = load_catalog()
PLAN = plan_upgrade(
    CATALOG, dict.fromkeys((a.name for a in AGENTS), VERSION), CATALOG.resolve("10.5")
)


def lab(
    faults: SimFaults | None = None,
    *,
    latency_seconds: float = 0.0,
    timeout_seconds: float = 30.0,
) -> SimulatedAdapter:
    return SimulatedAdapter(
        "lab",
        AGENTS,
        step_seconds=0.0,
        latency_seconds=latency_seconds,
        timeout_seconds=timeout_seconds,
        faults=faults,
        clock=lambda: NOW,
    )


async def test_a_healthy_lab_fills_every_part() -> None:
    snapshot = await take_snapshot(lab(), "lab", now=NOW, packages=[])
    assert snapshot.errors == {}
    assert snapshot.taken_at == NOW
    assert snapshot.cluster is not None
    assert [a.name for a in snapshot.cluster.agents] == [a.name for a in AGENTS]
    assert snapshot.alarms is not None and snapshot.alarms.total == 5
    assert snapshot.requirements is not None and len(snapshot.requirements) == 3
    assert snapshot.backups == dict.fromkeys(
        (a.name for a in AGENTS), datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    )
    assert snapshot.packages == []


async def test_packages_not_given_are_an_error_of_their_own() -> None:
    plain = await take_snapshot(lab(), "lab", now=NOW)
    assert plain.errors == {"packages": "The package store was not scanned for this snapshot."}
    told = await take_snapshot(lab(), "lab", now=NOW, packages_error="The store is gone.")
    assert told.errors == {"packages": "The store is gone."}


async def test_an_unreachable_agent_costs_the_reads_that_need_every_agent() -> None:
    adapter = lab(SimFaults(unreachable={"dma-lab-02"}))
    snapshot = await take_snapshot(adapter, "lab", now=NOW, packages=[])
    assert snapshot.cluster is not None
    assert snapshot.cluster.agent("dma-lab-02").state is AgentState.DISCONNECTED
    assert snapshot.alarms is not None
    assert snapshot.requirements is None and snapshot.backups is None
    assert snapshot.errors == {
        "requirements": "DataMiner Agent dma-lab-02 did not answer while reading installed "
        "software.",
        "backups": "DataMiner Agent dma-lab-02 did not answer while looking for backups.",
    }
    settings = CheckSettings(now=NOW)
    assert check_agents_running(snapshot, PLAN, settings).status is CheckStatus.FAIL
    unread = check_requirements(snapshot, PLAN, settings)
    assert unread.status is CheckStatus.ERROR
    assert unread.details == [snapshot.errors["requirements"]]
    assert check_backups(snapshot, PLAN, settings).status is CheckStatus.ERROR


async def test_a_slow_agent_times_out_its_reads_and_the_alarms_still_arrive() -> None:
    adapter = lab(SimFaults(slow={"dma-lab-02": 5.0}))
    loop = asyncio.get_running_loop()
    started = loop.time()
    snapshot = await take_snapshot(adapter, "lab", now=NOW, packages=[], timeout_seconds=0.2)
    assert loop.time() - started < 1.5
    assert snapshot.alarms is not None
    assert set(snapshot.errors) == {"cluster", "requirements", "backups"}
    assert snapshot.errors["requirements"] == (
        "lab gave no answer within 0.2 s while reading installed software."
    )
    assert snapshot.cluster is None and snapshot.requirements is None


async def test_a_timeout_the_adapter_reports_itself_keeps_its_sentence() -> None:
    adapter = lab(SimFaults(slow={"dma-lab-02": 1.0}), timeout_seconds=0.05)
    snapshot = await take_snapshot(adapter, "lab", now=NOW, packages=[], timeout_seconds=2.0)
    assert snapshot.cluster is not None  # the cluster read lists the slow agent as disconnected
    assert snapshot.cluster.agent("dma-lab-02").state is AgentState.DISCONNECTED
    assert snapshot.errors["requirements"] == (
        "No answer within 0.05 s on DataMiner Agent dma-lab-02 while reading installed software."
    )


async def test_the_reads_run_concurrently() -> None:
    adapter = lab(latency_seconds=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    snapshot = await take_snapshot(adapter, "lab", now=NOW, packages=[])
    elapsed = loop.time() - started
    assert snapshot.errors == {}
    # one after the other: cluster 0.6 s + alarms, requirements, backups 0.3 s each = 1.5 s
    assert elapsed < 1.1


async def test_a_critical_alarm_fails_the_alarm_check_and_a_key_check() -> None:
    faults = SimFaults(critical_alarm=True)
    faults.add_alarm("dma-lab-01", "Encoder A", "Output", Severity.MAJOR, value="Lost")
    snapshot = await take_snapshot(lab(faults), "lab", now=NOW, packages=[])
    key_checks = [
        KeyCheck(name="Encoder A is clean", kind="no_alarms_on_element", element="Encoder A")
    ]
    settings = CheckSettings(now=NOW, key_checks=key_checks)
    alarms = check_alarms(snapshot, PLAN, settings)
    assert alarms.status is CheckStatus.FAIL
    assert alarms.summary.startswith("1 critical, 1 major active: Core Router 01 / Fan Status")
    assert check_key_functions(snapshot, PLAN, settings).status is CheckStatus.FAIL


class _AlarmsBug(SimulatedAdapter):
    """A simulated DMS whose alarm read has a bug (not an AdapterError)."""

    async def get_alarms(self) -> AlarmSummary:
        raise KeyError("severity")


async def test_an_adapter_bug_costs_one_part_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter = _AlarmsBug("lab", AGENTS, clock=lambda: NOW)
    with caplog.at_level(logging.ERROR, logger="bot.evidence.snapshot"):
        snapshot = await take_snapshot(adapter, "lab", now=NOW, packages=[])
    assert snapshot.errors == {
        "alarms": "Reading active alarms on lab failed unexpectedly: 'severity'"
    }
    assert snapshot.cluster is not None and snapshot.requirements is not None
    assert "lab: reading active alarms failed unexpectedly" in caplog.text


async def test_the_whole_precheck_over_the_simulated_lab() -> None:
    """The default simulated servers lack ASP.NET Core 10, which 10.5.0 CU18 needs."""
    faults = SimFaults(no_backup={"dma-lab-03"})
    snapshot = await take_snapshot(lab(faults), "lab", now=NOW, packages=[])
    results = {r.key: r for r in run_checks(snapshot, PLAN, CheckSettings(now=NOW))}
    assert results["agents_running"].status is CheckStatus.PASS
    assert results["alarms"].status is CheckStatus.PASS
    assert results["failover"].status is CheckStatus.PASS
    assert results["requirements"].status is CheckStatus.FAIL
    assert "ASP.NET Core 10.0 (step 2: 10.5.0 CU18)" in results["requirements"].details[0]
    assert results["backups"].status is CheckStatus.FAIL
    assert results["backups"].facts["dma-lab-03"] == "no backup"
    assert results["packages"].status is CheckStatus.FAIL  # an empty store


async def test_an_old_backup_is_judged_against_the_snapshot_time() -> None:
    snapshot = await take_snapshot(lab(SimFaults(old_backup=True)), "lab", now=NOW, packages=[])
    settings = CheckSettings(now=NOW, backup_max_age=timedelta(days=7))
    assert check_backups(snapshot, PLAN, settings).status is CheckStatus.FAIL
