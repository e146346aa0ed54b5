"""The dataminer adapter: a real DMS over HTTPS.

Reads go through Web Services v1 (``dm_webapi``): the cluster from ``GetDataMinerAgentsInfo``,
each Agent's version from ``ConnectAppAndInfo`` on that Agent's own address, alarms from
``GetActiveAlarms``. Everything else goes through the upgradebot User-Defined API routes
(``dm_routes``); without them those calls raise ``ManualStepRequired`` with what to click in
Cube, while the bot keeps watching states and versions through the web API.

Any Agent can answer for the cluster: when the DMA at ``url`` does not answer (it may be the
one being upgraded), the adapter asks the next Agent it knows. While every Agent installs at
once nothing answers; the adapter then reports what it last knew, with the Agents of the run it
watches as ``upgrading`` (the behaviour ``bot.agents.base`` documents, decided in ``dm_known``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from bot.agents.dm_known import KnownAgent, agent_state, answers, version_key
from bot.agents.dm_options import DataMinerOptions
from bot.agents.dm_routes import (
    FailoverPair,
    RouteOptions,
    Routes,
    manual_read,
    manual_upgrade,
    manual_upload,
    while_silent,
)
from bot.agents.dm_transport import (
    Credentials,
    NotAnswering,
    Transport,
    is_loopback,
    read_credentials,
    tls_setting,
)
from bot.agents.dm_webapi import DmaAlarm, DmaInfo, WebApi, to_alarm
from bot.agents.models import (
    AdapterError,
    AdapterTimeout,
    AgentInfo,
    AgentProgress,
    AgentRequirements,
    AgentState,
    AgentUnreachable,
    AlarmSummary,
    AnswerLost,
    Cluster,
    HistoryEntry,
    InvalidPackage,
    ManualStepRequired,
    PackageFile,
    PackageKind,
    UpgradeOptions,
    UpgradeRun,
    UpgradeStage,
    UploadReport,
    UploadResult,
)

__all__ = ["DataMinerAdapter", "DataMinerOptions", "ManualStepRequired", "RouteOptions"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# Which route each step needs (RouteOptions fields).
_ROUTE_OF = {
    "requirements": "requirements",
    "backups": "backups",
    "history": "history",
    "upload_only": "upload_only",
    "start_upgrade": "upgrades",
    "progress": "upgrades",
    "failover": "failover",
}
MAX_ADDRESSES_TRIED = 4  # a switched-off server costs a full timeout; do not try fifty


class DataMinerAdapter:
    """A DMS behind Web Services v1 and, when configured, the upgradebot routes."""

    def __init__(
        self,
        name: str,
        url: str,
        credentials: Credentials,
        *,
        routes: RouteOptions | None = None,
        timeout_seconds: float = 30.0,
        agent_urls: Mapping[str, str] | None = None,
        ca_bundle: str | None = None,
        verify_tls: bool = True,
        session_idle_seconds: float = 240.0,
        version_max_age_seconds: float = 60.0,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._credentials = credentials
        self._agent_urls = {agent: u.rstrip("/") for agent, u in (agent_urls or {}).items()}
        self._idle_seconds = session_idle_seconds
        self._version_max_age = version_max_age_seconds
        self._transport = Transport(
            timeout_seconds=timeout_seconds, tls=tls_setting(ca_bundle, verify_tls)
        )
        self._routes = Routes(self._transport, credentials, routes) if routes is not None else None
        self._apis: dict[str, WebApi] = {}
        self._agents: dict[str, KnownAgent] = {}
        self._pairs: dict[str, tuple[str, bool]] = {}
        self._runs: dict[str, UpgradeRun] = {}
        if not verify_tls:
            log.warning(
                "TLS CERTIFICATE CHECKS ARE OFF for DataMiner system %s (%s): anyone on the path "
                "can read the bot's DataMiner credentials. Use ca_bundle outside a lab.",
                name,
                self.url,
            )
        if urlsplit(self.url).scheme == "http" and not is_loopback(self.url):
            log.warning("DataMiner system %s is reached over plain HTTP (%s)", name, self.url)

    @classmethod
    def from_options(
        cls, name: str, options: DataMinerOptions, environ: Mapping[str, str] | None = None
    ) -> DataMinerAdapter:
        routes = options.route_options
        try:
            credentials = read_credentials(options.credentials_env, routes is not None, environ)
        except ValueError as error:
            raise ValueError(f"systems.{name}.adapter.credentials_env: {error}") from None
        return cls(
            name,
            options.url,
            credentials,
            routes=routes,
            timeout_seconds=options.timeout_seconds,
            agent_urls=options.agent_urls,
            ca_bundle=options.ca_bundle,
            verify_tls=options.verify_tls,
        )

    def __repr__(self) -> str:
        routes = "with routes" if self._routes else "without routes"
        return f"DataMinerAdapter({self.name!r}, {self.url!r}, {routes})"

    # --- reads through the web API ---------------------------------------------------------

    async def get_cluster(self) -> Cluster:
        operation, started = "reading the cluster", time.monotonic()
        try:
            infos = await self._web(operation, lambda api: api.agents_info(operation))
        except AgentUnreachable:
            if (silent := self._cluster_while_silent()) is not None:
                return silent
            raise
        self._remember(infos)
        reads = self._read_versions(infos, started), self._read_pairs()
        answering, _ = await asyncio.gather(*reads)
        return Cluster(
            name=self.name, agents=[self._to_info(info, answering[info.name]) for info in infos]
        )

    async def get_alarms(self) -> AlarmSummary:
        operation = "reading alarms"

        async def read(api: WebApi) -> tuple[list[DmaInfo], list[DmaAlarm]]:
            return await asyncio.gather(api.agents_info(operation), api.active_alarms(operation))

        infos, raw = await self._web(operation, read)
        self._remember(infos)
        names = {info.id: info.name for info in infos}
        silent = {info.id for info in infos if not answers(info)}
        return AlarmSummary.from_alarms(
            [
                to_alarm(alarm, names)
                for alarm in raw
                if not alarm.is_cleared
                and (alarm.hosting_agent_id or alarm.dataminer_id) not in silent
            ]
        )

    # --- reads and actions through the routes ----------------------------------------------

    async def get_requirements(self) -> list[AgentRequirements]:
        return await self._route(
            "reading installed software", self._need("requirements").requirements
        )

    async def get_latest_backups(self) -> dict[str, datetime | None]:
        return await self._route("looking for backups", self._need("backups").backups)

    async def get_history(self) -> list[HistoryEntry]:
        return await self._route("reading the upgrade history", self._need("history").history)

    async def upload_only(self, packages: list[PackageFile]) -> UploadReport:
        if (routes := self._routes_for("upload_only")) is None:
            raise manual_upload(packages)
        try:
            return await self._route(
                "uploading packages", lambda base, where: routes.upload_only(base, where, packages)
            )
        except AgentUnreachable as error:  # no Agent answered: each of them failed the upload
            if not self._agents:
                raise
            return UploadReport(
                packages=[package.name for package in packages],
                results=[
                    UploadResult(agent=agent, package=package.name, ok=False, message=str(error))
                    for agent in self._agents
                    for package in packages
                ],
            )

    async def start_upgrade(self, package: PackageFile, options: UpgradeOptions) -> str:
        if (routes := self._routes_for("start_upgrade")) is None:
            raise manual_upgrade(package, options)
        if package.kind is PackageKind.NOT_AN_UPGRADE:
            raise InvalidPackage(package.name, "it is not a .dmupgrade package")
        with contextlib.suppress(AdapterError):  # the versions before, for Agents that fail
            await self.get_cluster()
        run_id = await self._start_once(routes, package, options)
        log.info("DataMiner system %s: run %s started with %s", self.name, run_id, package.name)
        targets = list(self._agents) if options.all_agents else options.agents
        self._runs[run_id] = UpgradeRun(
            run_id=run_id,
            package=package.name,
            agents=[AgentProgress(agent=a, stage=UpgradeStage.PENDING, percent=0) for a in targets],
            finished=False,
            failed=False,
            started_at=datetime.now(UTC),
        )
        with contextlib.suppress(AdapterError):  # a first snapshot names the run's Agents
            await self.get_progress(run_id)
        return run_id

    async def _start_once(
        self, routes: Routes, package: PackageFile, options: UpgradeOptions
    ) -> str:
        """Send the start to one Agent; another Agent is asked only when the first provably did
        not take it (issue 15, D8). A dropped answer is settled by the runs the DMS lists: a run
        of this package that was not there before is the one this start began."""
        try:
            before: set[str] | None = {run.run_id for run in await self.find_runs()}
        except AdapterError:
            before = None
        tried: list[str] = []
        for url in self._addresses():
            where = self._label(url)
            try:
                return await routes.start(url, where, package, options)
            except NotAnswering:  # never connected, or a 502/503: the DMS did not get it
                tried.append(where)
            except AnswerLost:
                taken = await self._run_begun(package, before)
                if taken is None:
                    raise
                if taken:
                    log.warning("%s took the start but lost the answer: run %s", where, taken)
                    return taken
                tried.append(where)  # provably not taken: the next Agent may be asked
        names = list(self._agents) or tried
        raise AgentUnreachable(names[0], "starting an upgrade", names[1:])

    async def _run_begun(self, package: PackageFile, before: set[str] | None) -> str | None:
        """The id of a run of ``package`` the DMS lists that was not there ``before``; "" when
        there is none; None when that cannot be known (no list before, or none now)."""
        if before is None:
            return None
        try:
            runs = await self.find_runs()
        except AdapterError:
            return None
        new = [
            run.run_id for run in runs if run.package == package.name and run.run_id not in before
        ]
        return new[-1] if new else ""

    async def get_progress(self, run_id: str) -> UpgradeRun:
        routes = self._need("progress")
        try:
            run = await self._route(
                "reading upgrade progress", lambda base, where: routes.run(base, where, run_id)
            )
        except AgentUnreachable:
            known = self._runs.get(run_id)
            if known is None or known.finished:
                raise
            return while_silent(known)
        self._runs[run_id] = run
        return run

    async def find_runs(self) -> list[UpgradeRun]:
        runs = await self._route("listing upgrade runs", self._need("progress").runs)
        self._runs.update((run.run_id, run) for run in runs)
        return runs

    async def close(self) -> None:
        """Releases connections; web API sessions expire on the DMS by themselves."""
        await self._transport.close()

    # --- plumbing --------------------------------------------------------------------------

    def _routes_for(self, step: str) -> Routes | None:
        """The routes, if the one this step needs is installed."""
        if self._routes is None or getattr(self._routes.paths, _ROUTE_OF[step]) is None:
            return None
        return self._routes

    def _need(self, step: str) -> Routes:
        if (routes := self._routes_for(step)) is None:
            raise manual_read(step)
        return routes

    def _api(self, url: str) -> WebApi:
        if url not in self._apis:
            self._apis[url] = WebApi(
                url,
                self._credentials,
                self._transport,
                label=self._label(url),
                idle_seconds=self._idle_seconds,
            )
        return self._apis[url]

    def _label(self, url: str) -> str:
        for name, known in self._agents.items():
            if known.url == url:
                return name
        named = [name for name, agent_url in self._agent_urls.items() if agent_url == url]
        return named[0] if named else urlsplit(url).netloc

    def _addresses(self) -> list[str]:
        known = [agent.url for agent in self._agents.values() if answers(agent.info)]
        ordered = [self.url, *self._agent_urls.values(), *known]
        return list(dict.fromkeys(ordered))[:MAX_ADDRESSES_TRIED]

    async def _first_answer(self, operation: str, attempt: Callable[[str], Awaitable[T]]) -> T:
        """``attempt(url)`` on each address in turn until one answers; AgentUnreachable naming
        the Agents when none does. Only silence moves on: an error or a timeout is an answer."""
        tried: list[str] = []
        for url in self._addresses():
            try:
                return await attempt(url)
            except NotAnswering:
                tried.append(self._label(url))
        names = list(self._agents) or tried
        raise AgentUnreachable(names[0], operation, names[1:])

    def _web(self, operation: str, ask: Callable[[WebApi], Awaitable[T]]) -> Awaitable[T]:
        return self._first_answer(operation, lambda url: ask(self._api(url)))

    def _route(self, operation: str, ask: Callable[[str, str], Awaitable[T]]) -> Awaitable[T]:
        return self._first_answer(operation, lambda url: ask(url, self._label(url)))

    def _remember(self, infos: list[DmaInfo]) -> None:
        scheme = urlsplit(self.url).scheme
        for info in infos:
            url = self._agent_urls.get(info.name) or f"{scheme}://{info.primary_ip}"
            known = self._agents.get(info.name)
            if known is None:
                self._agents[info.name] = KnownAgent(info=info, url=url)
            else:
                known.info, known.url = info, url
            if url in self._apis:
                self._apis[url].label = info.name

    async def _read_versions(self, infos: list[DmaInfo], started: float) -> dict[str, bool]:
        """Reads the versions that may have changed, concurrently; which Agents answered."""
        stale = [info for info in infos if answers(info) and self._version_is_stale(info)]
        outcomes = await asyncio.gather(
            *(self._read_version(info, started) for info in stale), return_exceptions=True
        )
        answering = {info.name: answers(info) for info in infos}
        for info, outcome in zip(stale, outcomes, strict=True):
            if isinstance(outcome, AgentUnreachable | AdapterTimeout):
                answering[info.name] = False
            elif isinstance(outcome, AdapterError):
                log.warning("could not read the version of %s: %s", info.name, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
        return answering

    def _version_is_stale(self, info: DmaInfo) -> bool:
        known = self._agents[info.name]
        age = time.monotonic() - known.version_read_at
        return known.version_key != version_key(info) or age > self._version_max_age

    async def _read_version(self, info: DmaInfo, started: float) -> None:
        """A login on the Agent gives its DMAVersion; a login made during this read (the
        session for the cluster read itself) already did."""
        known = self._agents[info.name]
        api = self._api(known.url)
        if api.connected_at < started:
            await api.connect("reading its version")
        known.version = api.version or known.version
        known.version_key, known.version_read_at = version_key(info), time.monotonic()

    async def _read_pairs(self) -> None:
        if (routes := self._routes_for("failover")) is None:
            return
        try:
            pairs: list[FailoverPair] = await self._route("reading Failover pairs", routes.failover)
        except (AgentUnreachable, AdapterTimeout) as error:
            log.info("Failover pairs not read (%s); keeping the last known", error)
            return
        self._pairs = {}
        for pair in pairs:
            first, second = pair.agents
            self._pairs[first] = (second, pair.online == first)
            self._pairs[second] = (first, pair.online == second)

    def _to_info(self, info: DmaInfo, answering: bool) -> AgentInfo:
        known = self._agents[info.name]
        partner, online = self._pairs.get(info.name, (None, None))
        return AgentInfo(
            id=info.id,
            name=info.name,
            address=info.primary_ip,
            version=known.version or "unknown",
            state=agent_state(
                info.name, AgentState.from_dataminer(info.status), answering, self._runs
            ),
            failover_partner=partner,
            is_online=online,
        )

    def _cluster_while_silent(self) -> Cluster | None:
        """No Agent answers: during a run this is expected, so report the last known cluster
        with the run's Agents upgrading. Outside a run it is an outage: None."""
        if not self._agents or all(run.finished for run in self._runs.values()):
            return None
        agents = [self._to_info(known.info, answering=False) for known in self._agents.values()]
        return Cluster(name=self.name, agents=agents)
