"""The contract every ``AgentAdapter`` keeps, written against the Protocol only.

To run it against an adapter, subclass ``AdapterContract`` in a test module and provide an
``adapter_factory`` fixture: an async callable that takes a ``Scenario`` and returns an
``AdapterEnv`` whose adapter shows that DMS and whose ``control`` can break it as the tests ask.
The factory's fixture cleans up what it made. ``tests/agents/test_simulated.py`` is the example.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import pytest

from bot.agents.base import AdapterError, AgentAdapter, AgentUnreachable
from bot.agents.models import (
    AgentState,
    PackageFile,
    Severity,
    UpgradeOptions,
    UpgradeRun,
    UpgradeStage,
)

OLD_VERSION = "10.3.0.0-13012"
NEW_VERSION = "10.4.0.0-14511"
FULL_UPGRADE = f"DataMiner {NEW_VERSION} Full Upgrade.dmupgrade"
CHECK_ONLY = "VerifyClusterPorts.dmupgrade"
RUN_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class ScenarioAgent:
    name: str
    version: str = OLD_VERSION
    failover_of: str | None = None  # this Agent is the offline backup of that one


@dataclass(frozen=True)
class Scenario:
    """The DMS an adapter must show: every Agent running, default (healthy) software."""

    name: str = "lab"
    agents: tuple[ScenarioAgent, ...] = (
        ScenarioAgent("dma-01"),
        ScenarioAgent("dma-02"),
        ScenarioAgent("dma-03", failover_of="dma-02"),
    )
    latency_seconds: float = 0.0
    step_seconds: float = 0.02  # each upgrade stage (upload, install, start) on each Agent


STANDARD = Scenario()
# For tests that watch stages from outside: long enough for a loopback round trip per poll.
WATCHABLE = replace(STANDARD, step_seconds=0.06)
LARGE = Scenario(
    name="big",
    agents=tuple(ScenarioAgent(f"dma-{n:02}") for n in range(1, 51)),
    latency_seconds=0.2,
)


class ScenarioController(Protocol):
    """Breaks the DMS behind an adapter, as an engineer (or bad luck) would."""

    def set_unreachable(self, agent: str) -> None:
        """The Agent stops answering, as if its server were off the network."""

    def fail_prerequisite(self, agent: str, check: str) -> None:
        """The named prerequisite check (``VerifyClusterPorts``) fails on that Agent."""

    def fail_upgrade(self, agent: str) -> None:
        """The next upgrade run fails on that Agent while installing."""

    def raise_critical_alarm(self) -> None:
        """One critical alarm becomes active."""


@dataclass
class AdapterEnv:
    adapter: AgentAdapter
    control: ScenarioController
    scenario: Scenario = field(default=STANDARD)


AdapterFactory = Callable[[Scenario], Awaitable[AdapterEnv]]


def package_file(directory: Path, name: str) -> PackageFile:
    """A real (tiny) file in the store, so an adapter that reads or uploads it can."""
    path = directory / name
    path.write_bytes(b"PK\x03\x04 placeholder for " + name.encode())
    data = path.read_bytes()
    return PackageFile(
        name=name, path=str(path), size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )


async def wait_for_run(adapter: AgentAdapter, run_id: str) -> list[UpgradeRun]:
    """Polls a run until it finishes; every snapshot seen, the last one finished."""
    seen: list[UpgradeRun] = []
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        seen.append(await adapter.get_progress(run_id))
        if seen[-1].finished:
            return seen
        await asyncio.sleep(0.002)
    raise AssertionError(f"run {run_id} did not finish in {RUN_TIMEOUT_SECONDS} s: {seen[-1]}")


async def watch_states(adapter: AgentAdapter, run_id: str) -> dict[str, list[AgentState]]:
    """Polls the cluster during a run; each Agent's states in order, repeats collapsed."""
    states: dict[str, list[AgentState]] = {}
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        finished = (await adapter.get_progress(run_id)).finished
        for agent in (await adapter.get_cluster()).agents:
            seen = states.setdefault(agent.name, [])
            if not seen or seen[-1] != agent.state:
                seen.append(agent.state)
        if finished:
            return states
        await asyncio.sleep(0.001)
    raise AssertionError(f"run {run_id} did not finish in {RUN_TIMEOUT_SECONDS} s")


class AdapterContract:
    @pytest.fixture
    async def env(self, adapter_factory: AdapterFactory) -> AdapterEnv:
        return await adapter_factory(STANDARD)

    @pytest.fixture
    def full_upgrade(self, tmp_path: Path) -> PackageFile:
        return package_file(tmp_path, FULL_UPGRADE)

    # --- reading the DMS -----------------------------------------------------------------

    async def test_cluster_lists_every_agent_running_on_its_version(self, env: AdapterEnv) -> None:
        cluster = await env.adapter.get_cluster()

        assert cluster.name == "lab"
        assert [agent.name for agent in cluster.agents] == ["dma-01", "dma-02", "dma-03"]
        assert {agent.version for agent in cluster.agents} == {OLD_VERSION}
        assert {agent.state for agent in cluster.agents} == {AgentState.RUNNING}
        assert len({agent.id for agent in cluster.agents}) == 3

    async def test_failover_pair_has_one_online_and_one_offline_agent(
        self, env: AdapterEnv
    ) -> None:
        cluster = await env.adapter.get_cluster()

        main, backup = cluster.agent("dma-02"), cluster.agent("dma-03")
        assert (main.failover_partner, backup.failover_partner) == ("dma-03", "dma-02")
        assert (main.is_online, backup.is_online) == (True, False)
        assert cluster.agent("dma-01").failover_partner is None
        assert cluster.agent("dma-01").is_online is None

    async def test_alarms_are_counted_by_severity_and_none_is_critical(
        self, env: AdapterEnv
    ) -> None:
        summary = await env.adapter.get_alarms()

        assert summary.total >= len(summary.alarms) > 0
        assert summary.count(Severity.CRITICAL) == 0
        for severity in summary.counts:
            listed = [alarm for alarm in summary.alarms if alarm.severity == severity]
            assert summary.counts[severity] >= len(listed)

    async def test_a_critical_alarm_is_counted_and_comes_first(self, env: AdapterEnv) -> None:
        env.control.raise_critical_alarm()

        summary = await env.adapter.get_alarms()

        assert summary.count(Severity.CRITICAL) == 1
        assert summary.worst(1)[0].severity is Severity.CRITICAL

    async def test_requirements_cover_every_agent(self, env: AdapterEnv) -> None:
        requirements = await env.adapter.get_requirements()

        assert [item.agent for item in requirements] == ["dma-01", "dma-02", "dma-03"]
        for item in requirements:
            assert item.installed.os.startswith("Windows")
            assert item.installed.aspnet_core
            assert item.installed.free_disk_bytes > 0

    async def test_requirements_of_fifty_agents_are_read_concurrently(
        self, adapter_factory: AdapterFactory
    ) -> None:
        """50 Agents 0.2 s away each: asked one by one this would take 10 s."""
        env = await adapter_factory(LARGE)

        started = time.perf_counter()
        requirements = await env.adapter.get_requirements()
        elapsed = time.perf_counter() - started

        assert len(requirements) == 50
        assert elapsed < 1.0

    async def test_cluster_and_upload_of_fifty_agents_are_concurrent(
        self, adapter_factory: AdapterFactory, full_upgrade: PackageFile
    ) -> None:
        env = await adapter_factory(LARGE)

        started = time.perf_counter()
        cluster = await env.adapter.get_cluster()
        report = await env.adapter.upload_only([full_upgrade])
        elapsed = time.perf_counter() - started

        assert len(cluster.agents) == 50
        assert report.ok
        assert elapsed < 2.0

    async def test_latest_backup_is_known_for_every_agent(self, env: AdapterEnv) -> None:
        backups = await env.adapter.get_latest_backups()

        assert set(backups) == {"dma-01", "dma-02", "dma-03"}
        for taken in backups.values():
            assert taken is None or taken.tzinfo is not None

    async def test_history_has_an_entry_for_every_agent(self, env: AdapterEnv) -> None:
        history = await env.adapter.get_history()

        assert {entry.agent for entry in history} == {"dma-01", "dma-02", "dma-03"}
        assert [entry.at for entry in history] == sorted(entry.at for entry in history)

    # --- upload only -----------------------------------------------------------------------

    async def test_upload_only_verifies_every_package_on_every_agent(
        self, env: AdapterEnv, tmp_path: Path
    ) -> None:
        packages = [package_file(tmp_path, FULL_UPGRADE), package_file(tmp_path, CHECK_ONLY)]

        report = await env.adapter.upload_only(packages)

        assert report.ok
        assert report.packages == [FULL_UPGRADE, CHECK_ONLY]
        assert {(r.agent, r.package) for r in report.results} == {
            (agent, package)
            for agent in ("dma-01", "dma-02", "dma-03")
            for package in (FULL_UPGRADE, CHECK_ONLY)
        }

    async def test_a_prerequisite_failing_on_one_agent_fails_the_whole_upload(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        env.control.fail_prerequisite("dma-02", "VerifyClusterPorts")

        report = await env.adapter.upload_only([full_upgrade])

        assert not report.ok
        assert report.failed_agents == ["dma-02"]
        failure = report.failures[0]
        assert failure.prerequisite_failures == ["VerifyClusterPorts"]
        assert "VerifyClusterPorts" in failure.message
        assert all(r.ok for r in report.results if r.agent != "dma-02")

    async def test_upload_refuses_a_file_that_is_not_an_upgrade_package(
        self, env: AdapterEnv, tmp_path: Path
    ) -> None:
        report = await env.adapter.upload_only([package_file(tmp_path, "release-notes.pdf")])

        assert not report.ok
        assert {r.agent for r in report.failures} == {"dma-01", "dma-02", "dma-03"}
        assert ".dmupgrade" in report.failures[0].message

    # --- an unreachable agent --------------------------------------------------------------

    async def test_an_unreachable_agent_shows_as_disconnected_in_the_cluster(
        self, env: AdapterEnv
    ) -> None:
        env.control.set_unreachable("dma-02")

        cluster = await env.adapter.get_cluster()

        assert cluster.agent("dma-02").state is AgentState.DISCONNECTED
        assert cluster.agent("dma-01").state is AgentState.RUNNING
        assert all(alarm.agent != "dma-02" for alarm in (await env.adapter.get_alarms()).alarms)

    async def test_per_agent_reads_name_the_unreachable_agent(self, env: AdapterEnv) -> None:
        env.control.set_unreachable("dma-02")

        with pytest.raises(AgentUnreachable) as requirements:
            await env.adapter.get_requirements()
        with pytest.raises(AgentUnreachable) as backups:
            await env.adapter.get_latest_backups()

        assert requirements.value.agent == backups.value.agent == "dma-02"
        assert "dma-02" in str(requirements.value)

    async def test_upload_reports_the_unreachable_agent_as_failed(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        env.control.set_unreachable("dma-03")

        report = await env.adapter.upload_only([full_upgrade])

        assert not report.ok
        assert report.failed_agents == ["dma-03"]
        assert "dma-03" in report.failures[0].message

    async def test_an_upgrade_does_not_start_with_an_unreachable_agent(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        env.control.set_unreachable("dma-01")

        with pytest.raises(AgentUnreachable) as raised:
            await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())

        assert raised.value.agent == "dma-01"
        assert await env.adapter.find_runs() == []

    # --- upgrade runs ----------------------------------------------------------------------

    async def test_a_full_upgrade_brings_every_agent_to_the_new_version(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        run_id = await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())
        snapshots = await wait_for_run(env.adapter, run_id)

        final = snapshots[-1]
        assert (final.finished, final.failed, final.error) == (True, False, None)
        assert final.package == FULL_UPGRADE
        assert {p.agent for p in final.agents} == {"dma-01", "dma-02", "dma-03"}
        assert all(p.stage is UpgradeStage.DONE and p.percent == 100 for p in final.agents)
        stages = {p.stage for snapshot in snapshots[:-1] for p in snapshot.agents}
        assert stages & {UpgradeStage.UPLOADING, UpgradeStage.INSTALLING, UpgradeStage.STARTING}
        cluster = await env.adapter.get_cluster()
        assert {agent.version for agent in cluster.agents} == {NEW_VERSION}
        assert {agent.state for agent in cluster.agents} == {AgentState.RUNNING}

    async def test_progress_only_moves_forward(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        run_id = await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())
        snapshots = await wait_for_run(env.adapter, run_id)

        for agent in ("dma-01", "dma-02", "dma-03"):
            percents = [snapshot.progress_of(agent).percent for snapshot in snapshots]
            assert percents == sorted(percents)

    async def test_history_gains_the_new_version_after_an_upgrade(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        await wait_for_run(
            env.adapter, await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())
        )

        history = await env.adapter.get_history()

        upgraded = {entry.agent for entry in history if entry.version == NEW_VERSION}
        assert upgraded == {"dma-01", "dma-02", "dma-03"}

    async def test_agents_go_upgrading_then_starting_then_running(
        self, adapter_factory: AdapterFactory, full_upgrade: PackageFile
    ) -> None:
        """While an Agent installs, its web API is down: the cluster read shows it as
        ``upgrading`` instead of failing, then ``starting``, then ``running`` again."""
        env = await adapter_factory(WATCHABLE)
        run_id = await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())

        states = await watch_states(env.adapter, run_id)

        for agent in ("dma-01", "dma-02", "dma-03"):
            seen = states[agent]
            assert AgentState.UPGRADING in seen
            assert AgentState.STARTING in seen
            assert seen.index(AgentState.UPGRADING) < seen.index(AgentState.STARTING)
            assert seen[-1] is AgentState.RUNNING

    async def test_a_failover_pair_upgrades_simultaneously(
        self, adapter_factory: AdapterFactory, full_upgrade: PackageFile
    ) -> None:
        env = await adapter_factory(WATCHABLE)
        run_id = await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())
        snapshots = await wait_for_run(env.adapter, run_id)

        together = [
            snapshot
            for snapshot in snapshots
            if snapshot.progress_of("dma-02").stage is UpgradeStage.INSTALLING
            and snapshot.progress_of("dma-03").stage is UpgradeStage.INSTALLING
        ]
        assert together
        cluster = await env.adapter.get_cluster()
        assert (cluster.agent("dma-02").is_online, cluster.agent("dma-03").is_online) == (
            True,
            False,
        )

    async def test_an_upgrade_failing_on_one_agent_fails_the_run_and_says_where(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        env.control.fail_upgrade("dma-02")

        run_id = await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())
        final = (await wait_for_run(env.adapter, run_id))[-1]

        assert final.finished and final.failed
        assert final.error is not None and "dma-02" in final.error
        assert final.log_path is not None and final.log_path.endswith("progress.log")
        assert final.progress_of("dma-02").stage is UpgradeStage.FAILED
        assert (await env.adapter.get_cluster()).agent("dma-02").version == OLD_VERSION

    async def test_a_failing_prerequisite_aborts_the_upgrade_everywhere(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        env.control.fail_prerequisite("dma-03", "VerifyClusterPorts")

        run_id = await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())
        final = (await wait_for_run(env.adapter, run_id))[-1]

        assert final.failed
        assert final.error is not None
        assert "dma-03" in final.error and "VerifyClusterPorts" in final.error
        cluster = await env.adapter.get_cluster()
        assert {agent.version for agent in cluster.agents} == {OLD_VERSION}
        assert {agent.state for agent in cluster.agents} == {AgentState.RUNNING}

    async def test_a_prerequisite_only_package_changes_no_version(
        self, env: AdapterEnv, tmp_path: Path
    ) -> None:
        package = package_file(tmp_path, CHECK_ONLY)

        final = (
            await wait_for_run(
                env.adapter, await env.adapter.start_upgrade(package, UpgradeOptions())
            )
        )[-1]

        assert final.finished and not final.failed
        cluster = await env.adapter.get_cluster()
        assert {agent.version for agent in cluster.agents} == {OLD_VERSION}

    async def test_a_second_upgrade_cannot_start_while_one_runs(
        self, env: AdapterEnv, full_upgrade: PackageFile, tmp_path: Path
    ) -> None:
        run_id = await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())

        with pytest.raises(AdapterError):
            await env.adapter.start_upgrade(package_file(tmp_path, CHECK_ONLY), UpgradeOptions())

        await wait_for_run(env.adapter, run_id)
        after = await env.adapter.start_upgrade(
            package_file(tmp_path, CHECK_ONLY), UpgradeOptions()
        )
        assert after != run_id
        await wait_for_run(env.adapter, after)

    async def test_find_runs_returns_the_active_run_for_reattaching(
        self, env: AdapterEnv, full_upgrade: PackageFile
    ) -> None:
        run_id = await env.adapter.start_upgrade(full_upgrade, UpgradeOptions())

        active = [run for run in await env.adapter.find_runs() if not run.finished]
        await wait_for_run(env.adapter, run_id)
        later = await env.adapter.find_runs()

        assert [run.run_id for run in active] == [run_id]
        assert [(run.run_id, run.finished) for run in later] == [(run_id, True)]

    async def test_progress_of_an_unknown_run_is_an_error(self, env: AdapterEnv) -> None:
        with pytest.raises(AdapterError):
            await env.adapter.get_progress("0" * 32)
