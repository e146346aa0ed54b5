"""A believable DataMiner System in memory: the lab's and the sandbox's adapter, and the fake
the contract suite checks the port with.

What it models: raw versions, Failover pairs (one Agent online, one offline), background alarms,
installed software that can fall short of a target's requirements, "Upload only" whose
prerequisite checks can fail on one Agent (failing the cluster), and upgrade runs in which every
Agent goes uploading -> installing (web API down: ``upgrading``) -> starting -> running, each
stage ``step_seconds`` long. Faults come from ``SimFaults`` and can change at any time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.agents.base import (
    AdapterError,
    AdapterTimeout,
    AgentUnreachable,
    InvalidPackage,
    UnknownRun,
    UpgradeInProgress,
)
from bot.agents.models import (
    AgentInfo,
    AgentRequirements,
    AgentState,
    AlarmSummary,
    Cluster,
    HistoryEntry,
    PackageFile,
    PackageKind,
    UpgradeOptions,
    UpgradeRun,
    UpgradeStage,
    UploadReport,
    UploadResult,
)
from bot.agents.simulated.faults import (
    SimAgent,
    SimFaults,
    active_alarms,
    check_layout,
    latest_backup,
    run_prerequisite_failures,
    upload_verdict,
)
from bot.agents.simulated.records import AgentRecord, RunRecord

log = logging.getLogger(__name__)

_PACKAGES_DIR = "C:\\Skyline DataMiner\\Upgrades\\Packages"
# An Agent in these states has no web API to answer with, but the DMS still knows its state.
_SILENT_STATES = (AgentState.UPGRADING, AgentState.STOPPED)
_SHUT_DOWN = "The simulated DMS was shut down during the upgrade."


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatedAdapter:
    """An in-memory DMS that satisfies ``AgentAdapter``. ``faults`` is public and live."""

    def __init__(
        self,
        name: str,
        agents: Sequence[SimAgent],
        *,
        step_seconds: float = 2.0,
        latency_seconds: float = 0.0,
        timeout_seconds: float = 30.0,
        check_requirements: bool = True,
        faults: SimFaults | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        check_layout(agents)
        self.name = name
        self.step_seconds = step_seconds
        self.latency_seconds = latency_seconds
        self.timeout_seconds = timeout_seconds
        self.check_requirements = check_requirements
        self.faults = faults if faults is not None else SimFaults()
        self._clock = clock or _utc_now
        self._started_at = self._clock()
        self._agents = {spec.name: self._to_agent(i, spec) for i, spec in enumerate(agents)}
        for spec in agents:
            if spec.failover_of is not None:
                main, backup = self._agents[spec.failover_of], self._agents[spec.name]
                main.partner, main.is_online = backup.name, True
                backup.partner, backup.is_online = main.name, False
        self._runs: dict[str, RunRecord] = {}

    def _to_agent(self, index: int, spec: SimAgent) -> AgentRecord:
        first_start = self._started_at - timedelta(days=120)
        return AgentRecord(
            id=101 + index,
            name=spec.name,
            address=f"10.11.{index // 200}.{11 + index % 200}",
            version=spec.version,
            state=spec.state,
            installed=spec.installed,
            history=[HistoryEntry(agent=spec.name, version=spec.version, at=first_start)],
        )

    # --- reads -----------------------------------------------------------------------------

    async def get_cluster(self) -> Cluster:
        await self._answer("reading the cluster")
        errors = await self._ask_agents("reading the cluster")
        return Cluster(
            name=self.name,
            agents=[self._to_info(agent, errors[agent.name]) for agent in self._agents.values()],
        )

    def _to_info(self, agent: AgentRecord, error: AdapterError | None) -> AgentInfo:
        knows_state = error is None or (
            agent.state in _SILENT_STATES and agent.name not in self.faults.unreachable
        )
        return AgentInfo(
            id=agent.id,
            name=agent.name,
            address=agent.address,
            version=agent.version,
            state=agent.state if knows_state else AgentState.DISCONNECTED,
            failover_partner=agent.partner,
            is_online=agent.is_online,
        )

    async def get_alarms(self) -> AlarmSummary:
        await self._answer("reading alarms")
        agents = [(agent.id, agent.name) for agent in self._agents.values()]
        alarms = active_alarms(self.faults, agents, self._started_at)
        return AlarmSummary.from_alarms(
            [alarm for alarm in alarms if alarm.agent not in self.faults.unreachable]
        )

    async def get_requirements(self) -> list[AgentRequirements]:
        await self._require_every_agent("reading installed software")
        return [
            AgentRequirements(agent=agent.name, installed=agent.installed)
            for agent in self._agents.values()
        ]

    async def get_latest_backups(self) -> dict[str, datetime | None]:
        await self._require_every_agent("looking for backups")
        now = self._clock()
        return {name: latest_backup(now, name, self.faults) for name in self._agents}

    async def get_history(self) -> list[HistoryEntry]:
        await self._require_every_agent("reading the upgrade history")
        entries = [entry for agent in self._agents.values() for entry in agent.history]
        return sorted(entries, key=lambda entry: entry.at)

    # --- upload and upgrade ----------------------------------------------------------------

    async def upload_only(self, packages: list[PackageFile]) -> UploadReport:
        errors = await self._ask_agents("uploading packages")
        results = [
            self._to_upload_result(agent, package, errors[agent.name])
            for agent in self._agents.values()
            for package in packages
        ]
        return UploadReport(packages=[package.name for package in packages], results=results)

    def _to_upload_result(
        self, agent: AgentRecord, package: PackageFile, error: AdapterError | None
    ) -> UploadResult:
        if error is not None:
            return UploadResult(
                agent=agent.name, package=package.name, ok=False, message=str(error)
            )
        injected = self.faults.failing_prerequisite.get(agent.name)
        return upload_verdict(
            agent.name, package, agent.installed, injected, self.check_requirements
        )

    async def start_upgrade(self, package: PackageFile, options: UpgradeOptions) -> str:
        await self._answer("starting an upgrade")
        if active := next((run for run in self._runs.values() if not run.finished), None):
            raise UpgradeInProgress(active.run_id, active.package.name)
        if package.kind is PackageKind.NOT_AN_UPGRADE:
            raise InvalidPackage(package.name, "it is not a .dmupgrade package")
        if options.failover_policy not in ("simultaneously", "use_default"):
            raise AdapterError(
                "The simulated DMS upgrades Failover pairs simultaneously only; the backup-first "
                "policies are legacy and leave the cluster on mixed versions."
            )
        targets = self._targets(options)
        if silent := [name for name in targets if not self._is_answering(name)]:
            raise AgentUnreachable(silent[0], "starting an upgrade", silent[1:])
        run_id = uuid.uuid4().hex
        stem = package.name[: -len(".dmupgrade")]
        run = RunRecord(
            run_id=run_id,
            package=package,
            started_at=self._clock(),
            log_path=f"{_PACKAGES_DIR}\\{stem}-{run_id}\\progress.log",
        )
        for name in targets:
            run.set(name, UpgradeStage.PENDING, 0, "Waiting to upload")
        self._runs[run_id] = run
        failing = self.faults.take_upgrade_failures(targets)
        run.task = asyncio.create_task(self._execute(run, targets, failing))
        log.info("simulated DMS %s: run %s started with %s", self.name, run_id, package.name)
        return run_id

    def _targets(self, options: UpgradeOptions) -> list[str]:
        if options.all_agents:
            return list(self._agents)
        if unknown := [name for name in options.agents if name not in self._agents]:
            raise AdapterError(f"The DMS has no Agent {', '.join(unknown)}.")
        for name in options.agents:
            partner = self._agents[name].partner
            if partner is not None and partner not in options.agents:
                raise AdapterError(
                    f"{name} and {partner} are a Failover pair; DataMiner upgrades them together."
                )
        return [name for name in self._agents if name in options.agents]

    async def get_progress(self, run_id: str) -> UpgradeRun:
        await self._answer("reading upgrade progress")
        if run_id not in self._runs:
            raise UnknownRun(run_id)
        return self._runs[run_id].to_model()

    async def find_runs(self) -> list[UpgradeRun]:
        await self._answer("listing upgrade runs")
        return [run.to_model() for run in self._runs.values()]

    async def close(self) -> None:
        """Nothing to release; like a real DMS, a run in progress carries on."""

    # --- for tests and the sandbox ---------------------------------------------------------

    def set_agent(
        self, name: str, *, state: AgentState | None = None, version: str | None = None
    ) -> None:
        """Puts an Agent in a state or on a version by hand, as an engineer on the server would
        (for instance starting DataMiner again after a failed upgrade)."""
        agent = self._agents[name]
        agent.state = state or agent.state
        agent.version = version or agent.version

    async def shutdown(self) -> None:
        """Stops every run in progress (they end failed). For tests and sandbox shutdown."""
        tasks = [run.task for run in self._runs.values() if run.task and not run.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for run in self._runs.values():  # a task cancelled before its first step never ran
            if not run.finished:
                run.fail(_SHUT_DOWN)
                run.finished, run.finished_at = True, self._clock()

    # --- plumbing --------------------------------------------------------------------------

    def _is_answering(self, name: str) -> bool:
        agent = self._agents[name]
        return name not in self.faults.unreachable and agent.state not in _SILENT_STATES

    async def _answer(self, operation: str, agent: str | None = None) -> None:
        """One request, to the DMS (``agent`` None: any Agent can answer) or to one Agent."""
        delay = self.latency_seconds + (self.faults.slow.get(agent, 0.0) if agent else 0.0)
        if delay > self.timeout_seconds:
            await asyncio.sleep(self.timeout_seconds)
            raise AdapterTimeout(operation, self.timeout_seconds, agent)
        await asyncio.sleep(delay)
        if agent is not None and not self._is_answering(agent):
            raise AgentUnreachable(agent, operation)
        if agent is None and set(self._agents) <= self.faults.unreachable:
            names = list(self._agents)
            raise AgentUnreachable(names[0], operation, names[1:])

    async def _ask_agents(self, operation: str) -> dict[str, AdapterError | None]:
        """Asks every Agent at once; each Agent's failure, or None."""
        outcomes = await asyncio.gather(
            *(self._answer(operation, name) for name in self._agents), return_exceptions=True
        )
        errors: dict[str, AdapterError | None] = {}
        for name, outcome in zip(self._agents, outcomes, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, AdapterError):
                raise outcome
            errors[name] = outcome
        return errors

    async def _require_every_agent(self, operation: str) -> None:
        errors = await self._ask_agents(operation)
        if silent := [
            name for name, error in errors.items() if isinstance(error, AgentUnreachable)
        ]:
            raise AgentUnreachable(silent[0], operation, silent[1:])
        if timeout := next((error for error in errors.values() if error is not None), None):
            raise timeout

    # --- an upgrade run, as a task ----------------------------------------------------------

    async def _execute(self, run: RunRecord, targets: list[str], failing: set[str]) -> None:
        try:
            await self._run_stages(run, targets, failing)
        except asyncio.CancelledError:
            run.fail(_SHUT_DOWN)
            raise
        except Exception as error:  # a simulator bug must still end the run, never hang it
            log.exception("simulated run %s crashed", run.run_id)
            run.fail(f"The simulator failed: {error}")
        finally:
            run.finished = True
            run.finished_at = self._clock()
            log.info("simulated DMS %s: run %s ended, failed=%s", self.name, run.run_id, run.failed)

    async def _run_stages(self, run: RunRecord, targets: list[str], failing: set[str]) -> None:
        """Upload and verify everywhere; abort the cluster if any Agent fails a prerequisite;
        else install on every Agent at once (Failover pairs simultaneously)."""
        for name in targets:
            run.set(name, UpgradeStage.UPLOADING, 5, "Uploading; running prerequisite checks")
        await asyncio.sleep(self.step_seconds)
        if self._abort_on_prerequisites(run, targets, failing):
            return
        if run.package.kind is PackageKind.PREREQUISITE:
            for name in targets:
                run.set(name, UpgradeStage.DONE, 100, "All prerequisite checks passed")
            return
        await asyncio.gather(*(self._install(run, name, name in failing) for name in targets))

    def _abort_on_prerequisites(
        self, run: RunRecord, targets: list[str], failing: set[str]
    ) -> bool:
        failed = run_prerequisite_failures(
            run.package,
            {name: self._agents[name].installed for name in targets},
            self.faults,
            failing,
            self.check_requirements,
        )
        if not failed:
            return False
        for name in targets:
            if name in failed:
                run.set(name, UpgradeStage.FAILED, 5, " ".join(failed[name].values()))
            else:
                run.set(name, UpgradeStage.ABORTED, 5, "Aborted: another Agent failed its checks")
        first, checks = next(iter(failed.items()))
        run.fail(
            f"One or more prerequisites failed on {', '.join(failed)} "
            f"({first}: {' '.join(checks.values())}). DataMiner aborted the upgrade on every "
            "Agent; nothing was installed."
        )
        return True

    async def _install(self, run: RunRecord, name: str, fails: bool) -> None:
        agent, package = self._agents[name], run.package
        restarts = package.kind.restarts_dataminer  # web, checks and migration: no restart
        run.set(name, UpgradeStage.INSTALLING, 35, "Installing")
        if restarts:
            agent.state = AgentState.UPGRADING
        await asyncio.sleep(self.step_seconds)
        if fails:
            agent.state = AgentState.STOPPED
            run.set(name, UpgradeStage.FAILED, 35, "Installation failed; DataMiner is not running")
            run.fail(
                f"The upgrade with {package.name} failed on {name} while installing; DataMiner "
                f"is not running there. Its log is {run.log_path} on that Agent."
            )
            return
        if restarts:
            run.set(name, UpgradeStage.STARTING, 70, "DataMiner is starting")
            agent.state = AgentState.STARTING
            agent.version = package.version or agent.version
            await asyncio.sleep(self.step_seconds)
        agent.state = AgentState.RUNNING
        if package.version:
            agent.history.append(
                HistoryEntry(agent=name, version=package.version, at=self._clock())
            )
        run.set(name, UpgradeStage.DONE, 100, "Upgrade completed successfully")
