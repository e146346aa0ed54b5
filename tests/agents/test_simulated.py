from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.agents import (
    AdapterError,
    AdapterTimeout,
    AgentState,
    AgentUnreachable,
    InvalidPackage,
    PackageFile,
    PackageKind,
    Severity,
    SimAgent,
    SimFaults,
    SimulatedAdapter,
    UnknownRun,
    UpgradeInProgress,
    UpgradeOptions,
    UpgradeStage,
    build_adapter,
)
from bot.agents.models import AlarmSummary, package_version, prerequisite_check
from tests.agents.contract import (
    CHECK_ONLY,
    FULL_UPGRADE,
    NEW_VERSION,
    OLD_VERSION,
    AdapterContract,
    AdapterEnv,
    AdapterFactory,
    Scenario,
    package_file,
    wait_for_run,
)


class SimController:
    """The contract's scenario controller, played through the simulator's live faults."""

    def __init__(self, faults: SimFaults) -> None:
        self.faults = faults

    def set_unreachable(self, agent: str) -> None:
        self.faults.unreachable.add(agent)

    def fail_prerequisite(self, agent: str, check: str) -> None:
        self.faults.failing_prerequisite[agent] = check

    def fail_upgrade(self, agent: str) -> None:
        self.faults.fail_upgrade[agent] = 1

    def raise_critical_alarm(self) -> None:
        self.faults.critical_alarm = True


@pytest.fixture
async def adapter_factory() -> AsyncIterator[AdapterFactory]:
    made: list[SimulatedAdapter] = []

    async def make(scenario: Scenario) -> AdapterEnv:
        agents = [SimAgent(a.name, a.version, a.failover_of) for a in scenario.agents]
        adapter = SimulatedAdapter(
            scenario.name,
            agents,
            step_seconds=scenario.step_seconds,
            latency_seconds=scenario.latency_seconds,
        )
        made.append(adapter)
        return AdapterEnv(adapter=adapter, control=SimController(adapter.faults), scenario=scenario)

    yield make
    for adapter in made:
        await adapter.close()
        await adapter.shutdown()


class TestSimulatedAdapterKeepsTheContract(AdapterContract):
    pass


# --- the simulator's own behaviour -----------------------------------------------------------

LAB = [
    SimAgent("dma-01", OLD_VERSION),
    SimAgent("dma-02", OLD_VERSION),
    SimAgent("dma-03", OLD_VERSION, failover_of="dma-02"),
]


@pytest.fixture
async def sim(clock: Callable[[], datetime]) -> AsyncIterator[SimulatedAdapter]:
    adapter = SimulatedAdapter("lab", LAB, step_seconds=0.01, clock=clock)
    yield adapter
    await adapter.shutdown()


@pytest.fixture
def full_upgrade(tmp_path: Path) -> PackageFile:
    return package_file(tmp_path, FULL_UPGRADE)


@pytest.mark.parametrize(
    ("name", "version", "kind"),
    [
        ("DataMiner 10.5.0.0-15230 Full Upgrade.dmupgrade", "10.5.0.0-15230", PackageKind.FULL),
        (
            "DataMiner 10.5.5.0(CU0)-15664 Full Upgrade (internal).dmupgrade",
            "10.5.5.0-15664-CU0",  # the CU the name carries is kept, CU0 included
            PackageKind.FULL,
        ),
        ("DataMiner 10.4.0.0(CU8)-15100.dmupdate", "10.4.0.0-15100-CU8", PackageKind.UPDATE),
        ("NATSMigration.dmupgrade", None, PackageKind.MIGRATION),
        ("DataMiner 10.4.0.0-15634 Web Upgrade (internal).dmupgrade", None, PackageKind.WEB),
        ("VerifyClusterPorts.dmupgrade", None, PackageKind.PREREQUISITE),
        ("NATSMigration - Prerequisite only.dmupgrade", None, PackageKind.PREREQUISITE),
        ("Hotfix RN41234.dmupgrade", None, PackageKind.OTHER),
        ("DataMiner 10.5.0.0-15230 Full Upgrade.zip", None, PackageKind.NOT_AN_UPGRADE),
    ],
)
def test_package_names_follow_the_dataminer_pattern(
    name: str, version: str | None, kind: PackageKind
) -> None:
    package = PackageFile(name=name, path=f"/store/{name}", size=1, sha256="0" * 64)

    assert (package.version, package.kind) == (version, kind)
    assert package_version(name) == version


def test_a_prerequisite_only_package_names_its_check() -> None:
    assert prerequisite_check("VerifyClusterPorts.dmupgrade") == "VerifyClusterPorts"
    assert prerequisite_check("NATSMigration - Prerequisite only.dmupgrade") == "NATSMigration"
    assert prerequisite_check(FULL_UPGRADE) is None


def test_agent_states_read_dataminer_wording() -> None:
    assert AgentState.from_dataminer("Not running") is AgentState.STOPPED
    assert AgentState.from_dataminer("Disconnected") is AgentState.DISCONNECTED
    assert AgentState.from_dataminer("Leaving Cluster") is AgentState.UNKNOWN
    assert AgentState.STOPPED.label == "Not running"


async def test_background_alarms_are_minor_and_warning_only(sim: SimulatedAdapter) -> None:
    summary = await sim.get_alarms()

    assert set(summary.counts) == {Severity.MINOR, Severity.WARNING}
    assert summary.worst(2)[0].severity is Severity.MINOR


async def test_an_added_alarm_counts_and_worst_orders_by_severity_then_age(
    sim: SimulatedAdapter, clock: Callable[[], datetime]
) -> None:
    sim.faults.add_alarm("dma-01", "Encoder 07", "Output", Severity.MAJOR, "Lost", clock())
    sim.faults.add_alarm("dma-03", "Mux 2", "PSU", Severity.MAJOR, "Off", clock() - timedelta(1))

    summary = await sim.get_alarms()

    assert summary.count(Severity.CRITICAL, Severity.MAJOR) == 2
    assert [alarm.element for alarm in summary.worst(2)] == ["Mux 2", "Encoder 07"]


def test_alarm_summary_counts_from_alarms_and_worst_of_none_is_empty() -> None:
    summary = AlarmSummary.from_alarms([])

    assert (summary.total, summary.counts, summary.worst(3)) == (0, {}, [])


async def test_calls_take_the_configured_latency(clock: Callable[[], datetime]) -> None:
    # No stopwatch (issue 11): a call with 30 s of latency has not answered after 0.05 s,
    # and the same call answers at once when the latency is gone.
    adapter = SimulatedAdapter("lab", LAB, latency_seconds=30, clock=clock)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(adapter.get_alarms(), 0.05)
    adapter.latency_seconds = 0.0
    summary = await asyncio.wait_for(adapter.get_alarms(), 5)

    assert summary == await SimulatedAdapter("lab", LAB, clock=clock).get_alarms()


async def test_a_slow_agent_beyond_the_timeout_is_a_timeout(
    clock: Callable[[], datetime],
) -> None:
    adapter = SimulatedAdapter("lab", LAB, timeout_seconds=0.05, clock=clock)
    adapter.faults.slow["dma-02"] = 5.0

    with pytest.raises(AdapterTimeout) as raised:
        await adapter.get_requirements()
    cluster = await adapter.get_cluster()

    assert raised.value.agent == "dma-02"
    assert cluster.agent("dma-02").state is AgentState.DISCONNECTED


async def test_several_unreachable_agents_are_all_named(sim: SimulatedAdapter) -> None:
    sim.faults.unreachable |= {"dma-01", "dma-03"}

    with pytest.raises(AgentUnreachable) as raised:
        await sim.get_history()

    assert (raised.value.agent, raised.value.others) == ("dma-01", ["dma-03"])
    assert "dma-03" in str(raised.value)


async def test_a_dms_where_no_agent_answers_cannot_be_read(sim: SimulatedAdapter) -> None:
    sim.faults.unreachable |= {"dma-01", "dma-02", "dma-03"}

    with pytest.raises(AgentUnreachable):
        await sim.get_cluster()


async def test_backups_run_nightly_and_faults_age_or_remove_them(
    sim: SimulatedAdapter,
) -> None:
    nightly = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert (await sim.get_latest_backups())["dma-01"] == nightly

    sim.faults.old_backup = True
    sim.faults.no_backup.add("dma-02")
    backups = await sim.get_latest_backups()

    month_old = nightly - timedelta(days=30)
    assert backups == {"dma-01": month_old, "dma-02": None, "dma-03": month_old}


async def test_requirements_default_to_a_10_3_server_and_take_overrides() -> None:
    agents = [SimAgent("dma-01", OLD_VERSION, installed={"os": "Windows Server 2012 R2"})]  # type: ignore[arg-type]
    adapter = SimulatedAdapter("lab", agents)

    [requirements] = await adapter.get_requirements()

    assert requirements.installed.os == "Windows Server 2012 R2"
    assert requirements.installed.aspnet_core == ["6.0.36", "8.0.11"]
    assert requirements.installed.dotnet_framework == "4.8"


async def test_upload_fails_the_dotnet_check_when_the_target_needs_aspnet_10(
    sim: SimulatedAdapter, tmp_path: Path
) -> None:
    package = package_file(tmp_path, "DataMiner 10.6.0.0-16385 Full Upgrade.dmupgrade")

    report = await sim.upload_only([package])

    assert not report.ok
    assert report.failed_agents == ["dma-01", "dma-02", "dma-03"]
    assert report.failures[0].prerequisite_failures == ["VerifyDotNetVersion"]
    assert "ASP.NET Core 10.0" in report.failures[0].message


async def test_requirement_checks_can_be_switched_off(tmp_path: Path) -> None:
    adapter = SimulatedAdapter("lab", LAB, check_requirements=False)
    package = package_file(tmp_path, "DataMiner 10.6.0.0-16385 Full Upgrade.dmupgrade")

    assert (await adapter.upload_only([package])).ok


async def test_an_old_os_fails_verify_os_version(tmp_path: Path) -> None:
    old = SimAgent("dma-01", OLD_VERSION, installed={"os": "Windows Server 2012 R2"})  # type: ignore[arg-type]
    adapter = SimulatedAdapter("lab", [old])
    package = package_file(tmp_path, "DataMiner 10.5.12.0-16100 Full Upgrade.dmupgrade")

    report = await adapter.upload_only([package])

    assert report.results[0].prerequisite_failures == ["VerifyOSVersion"]


async def test_an_injected_check_fails_only_the_package_that_runs_it(
    sim: SimulatedAdapter, tmp_path: Path
) -> None:
    sim.faults.failing_prerequisite["dma-02"] = "VerifyClusterPorts"
    grpc = package_file(tmp_path, "VerifyGRPCConnection.dmupgrade")
    ports = package_file(tmp_path, CHECK_ONLY)

    report = await sim.upload_only([grpc, ports])

    assert [(r.agent, r.package) for r in report.failures] == [("dma-02", CHECK_ONLY)]


async def test_a_web_upgrade_keeps_dataminer_running_and_its_version(
    sim: SimulatedAdapter, tmp_path: Path
) -> None:
    web = package_file(tmp_path, "DataMiner 10.4.0.0-15634 Web Upgrade.dmupgrade")
    run_id = await sim.start_upgrade(web, UpgradeOptions())

    seen = set()
    while not (await sim.get_progress(run_id)).finished:
        seen |= {agent.state for agent in (await sim.get_cluster()).agents}
        await asyncio.sleep(0.002)

    assert seen == {AgentState.RUNNING}
    assert set((await sim.get_cluster()).versions.values()) == {OLD_VERSION}


async def test_fail_upgrade_counts_down_to_the_step_that_fails(
    sim: SimulatedAdapter, full_upgrade: PackageFile, tmp_path: Path
) -> None:
    sim.faults.fail_upgrade["dma-01"] = 2

    first = await wait_for_run(sim, await sim.start_upgrade(full_upgrade, UpgradeOptions()))
    later = package_file(tmp_path, "DataMiner 10.5.0.0-15230 Full Upgrade.dmupgrade")
    second = await wait_for_run(sim, await sim.start_upgrade(later, UpgradeOptions()))

    assert not first[-1].failed
    assert second[-1].failed
    assert second[-1].error is not None and "dma-01" in second[-1].error
    assert sim.faults.fail_upgrade == {}


async def test_a_failed_agent_is_left_not_running_until_someone_starts_it(
    sim: SimulatedAdapter, full_upgrade: PackageFile
) -> None:
    sim.faults.fail_upgrade["dma-01"] = 1
    run = (await wait_for_run(sim, await sim.start_upgrade(full_upgrade, UpgradeOptions())))[-1]

    assert (await sim.get_cluster()).agent("dma-01").state is AgentState.STOPPED
    assert run.log_path is not None
    assert run.log_path.startswith("C:\\Skyline DataMiner\\Upgrades\\Packages\\DataMiner 10.4")
    assert run.log_path.endswith(f"-{run.run_id}\\progress.log")
    with pytest.raises(AgentUnreachable):
        await sim.start_upgrade(full_upgrade, UpgradeOptions())

    sim.set_agent("dma-01", state=AgentState.RUNNING)

    assert (await sim.get_cluster()).agent("dma-01").state is AgentState.RUNNING


async def test_a_prerequisite_failure_during_the_run_aborts_the_other_agents(
    sim: SimulatedAdapter, full_upgrade: PackageFile
) -> None:
    sim.faults.failing_prerequisite["dma-01"] = "VerifyNatsCluster"

    run = (await wait_for_run(sim, await sim.start_upgrade(full_upgrade, UpgradeOptions())))[-1]

    stages = {p.agent: p.stage for p in run.agents}
    assert stages == {
        "dma-01": UpgradeStage.FAILED,
        "dma-02": UpgradeStage.ABORTED,
        "dma-03": UpgradeStage.ABORTED,
    }
    assert run.error is not None and "Prerequisite VerifyNatsCluster.dll failed" in run.error


async def test_a_second_start_names_the_run_in_progress(
    sim: SimulatedAdapter, full_upgrade: PackageFile
) -> None:
    run_id = await sim.start_upgrade(full_upgrade, UpgradeOptions())

    with pytest.raises(UpgradeInProgress) as raised:
        await sim.start_upgrade(full_upgrade, UpgradeOptions())

    assert raised.value.run_id == run_id
    assert FULL_UPGRADE in str(raised.value)


async def test_start_refuses_a_file_that_is_not_a_package(
    sim: SimulatedAdapter, tmp_path: Path
) -> None:
    with pytest.raises(InvalidPackage):
        await sim.start_upgrade(package_file(tmp_path, "notes.txt"), UpgradeOptions())


async def test_start_refuses_legacy_failover_policies(
    sim: SimulatedAdapter, full_upgrade: PackageFile
) -> None:
    with pytest.raises(AdapterError, match="simultaneously"):
        await sim.start_upgrade(full_upgrade, UpgradeOptions(failover_policy="backup_first"))


async def test_a_subset_of_agents_can_be_upgraded_but_never_half_a_pair(
    sim: SimulatedAdapter, full_upgrade: PackageFile
) -> None:
    with pytest.raises(AdapterError, match="Failover pair"):
        await sim.start_upgrade(full_upgrade, UpgradeOptions(all_agents=False, agents=["dma-02"]))

    only = UpgradeOptions(all_agents=False, agents=["dma-02", "dma-03"])
    run = (await wait_for_run(sim, await sim.start_upgrade(full_upgrade, only)))[-1]

    assert {p.agent for p in run.agents} == {"dma-02", "dma-03"}
    assert (await sim.get_cluster()).versions == {
        "dma-01": OLD_VERSION,
        "dma-02": NEW_VERSION,
        "dma-03": NEW_VERSION,
    }


def test_upgrade_options_name_agents_only_when_not_all() -> None:
    with pytest.raises(ValueError, match="all_agents"):
        UpgradeOptions(all_agents=False)
    with pytest.raises(ValueError, match="all_agents"):
        UpgradeOptions(agents=["dma-01"])


async def test_progress_of_an_unknown_run_names_it(sim: SimulatedAdapter) -> None:
    with pytest.raises(UnknownRun, match="abc"):
        await sim.get_progress("abc")


async def test_a_run_stopped_by_shutdown_ends_failed(
    sim: SimulatedAdapter, full_upgrade: PackageFile
) -> None:
    run_id = await sim.start_upgrade(full_upgrade, UpgradeOptions())

    await sim.shutdown()
    run = await sim.get_progress(run_id)

    assert run.finished and run.failed


async def test_history_is_stamped_with_the_injected_clock(
    sim: SimulatedAdapter, full_upgrade: PackageFile, clock: Callable[[], datetime]
) -> None:
    await wait_for_run(sim, await sim.start_upgrade(full_upgrade, UpgradeOptions()))

    history = await sim.get_history()

    assert [(e.version, e.at) for e in history if e.agent == "dma-01"] == [
        (OLD_VERSION, clock() - timedelta(days=120)),
        (NEW_VERSION, clock()),
    ]


@pytest.mark.parametrize(
    "agents",
    [
        [SimAgent("a", OLD_VERSION), SimAgent("a", OLD_VERSION)],
        [SimAgent("a", OLD_VERSION, failover_of="b")],
        [SimAgent("a", OLD_VERSION, failover_of="a")],
        [
            SimAgent("a", OLD_VERSION),
            SimAgent("b", OLD_VERSION, failover_of="a"),
            SimAgent("c", OLD_VERSION, failover_of="a"),
        ],
        [],
    ],
)
def test_an_impossible_layout_is_refused(agents: list[SimAgent]) -> None:
    with pytest.raises(ValueError):
        SimulatedAdapter("lab", agents)


# --- the factory ---------------------------------------------------------------------------


async def test_the_factory_builds_the_configured_lab() -> None:
    options = {
        "kind": "simulated",
        "step_seconds": 2,
        "agents": [
            {"name": "dma-lab-01", "version": OLD_VERSION},
            {"name": "dma-lab-02", "version": OLD_VERSION},
            {"name": "dma-lab-03", "version": OLD_VERSION, "failover_of": "dma-lab-02"},
        ],
        "faults": {"unreachable": ["dma-lab-01"], "failing_prerequisite": {"dma-lab-02": "X"}},
    }

    adapter = build_adapter("simulated", "lab", options)
    cluster = await adapter.get_cluster()

    assert isinstance(adapter, SimulatedAdapter)
    assert adapter.step_seconds == 2.0
    assert cluster.agent("dma-lab-01").state is AgentState.DISCONNECTED
    assert cluster.agent("dma-lab-03").failover_partner == "dma-lab-02"
    assert adapter.faults.failing_prerequisite == {"dma-lab-02": "X"}


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"agents": [{"name": "a"}]}, "systems.lab.adapter.agents.0.version"),
        ({"agents": [{"name": "a", "version": "1"}], "step": 1}, "systems.lab.adapter.step"),
        ({"agents": []}, "systems.lab.adapter.agents"),
        ({"agents": [{"name": "a", "version": "1", "failover_of": "z"}]}, "failover_of"),
        ({"agents": [{"name": "a", "version": "1"}], "faults": {"nope": 1}}, "faults.nope"),
    ],
)
def test_a_bad_simulated_block_names_the_key(options: dict[str, object], where: str) -> None:
    with pytest.raises(ValueError, match=rf"{where}".replace(".", r"\.")):
        build_adapter("simulated", "lab", options)


def test_the_dataminer_adapter_refuses_a_block_without_its_url() -> None:
    with pytest.raises(ValueError, match="url"):
        build_adapter("dataminer", "prod", {"host": "dma.example"})


def test_an_unknown_adapter_kind_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown adapter kind 'ssh'.*simulated, dataminer"):
        build_adapter("ssh", "lab", {})
