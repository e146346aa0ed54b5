"""The dataminer adapter: a real DMS over HTTPS.

Reads go through Web Services v1 (``webapi``): the cluster from ``GetDataMinerAgentsInfo``,
each Agent's version from ``ConnectAppAndInfo`` on that Agent's own address, alarms from
``GetActiveAlarms``. Each Agent is addressed by host name with the scheme and port of ``url``
(its name in url's domain unless ``agent_hosts``/``agent_urls`` say otherwise), so certificates
are checked against the names they carry. One session per Agent is kept: checked with
``IsConnectionAlive`` every ``session_check_seconds`` (so it never idles out), renewed only when
DataMiner says it is gone (after a restart: the new login reads the new version), logged out by
``close``. Everything else goes through the upgradebot User-Defined API routes
(``routes``); without them those calls raise ``ManualStepRequired`` with what to click in
Cube, while the bot keeps watching states and versions through the web API.

Any Agent can answer for the cluster: when the DMA at ``url`` does not answer or fails TLS (it
may be the one being upgraded), the adapter asks the next Agent it knows. A request that starts
something goes to another Agent only when the first provably never received it. While every
Agent installs at once nothing answers; the adapter then reports what it last knew, with the
Agents of the run it watches as ``upgrading`` (the behaviour ``bot.agents.base`` documents,
decided in ``known``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from aiohttp.abc import AbstractResolver

from bot.agents.dataminer.known import KnownAgent, agent_state, answers, version_key
from bot.agents.dataminer.options import DataMinerOptions
from bot.agents.dataminer.routes import (
    FailoverPair,
    RouteOptions,
    Routes,
    manual_read,
    manual_upgrade,
    manual_upload,
    while_silent,
)
from bot.agents.dataminer.transport import (
    AnswerLost,
    Credentials,
    NoAgentAnswered,
    NotAnswering,
    Transport,
    UnknownHost,
    UntrustedCertificate,
    is_loopback,
    read_credentials,
    tls_setting,
)
from bot.agents.dataminer.webapi import DmaAlarm, DmaInfo, LoginGuard, WebApi, to_alarm
from bot.agents.models import (
    AdapterError,
    AdapterTimeout,
    AgentInfo,
    AgentProgress,
    AgentRequirements,
    AgentState,
    AgentUnreachable,
    AlarmSummary,
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
UPLOAD_POLLS_UNANSWERED = 3
LOGOUT_WAIT_SECONDS = 5.0


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
        agent_hosts: Mapping[str, str] | None = None,
        agent_urls: Mapping[str, str] | None = None,
        ca_bundle: str | None = None,
        verify_tls: bool = True,
        requests_per_minute: int = 20,
        session_check_seconds: float = 120.0,
        resolver: AbstractResolver | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_delay_seconds: float = 1.0,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._credentials = credentials
        self._agent_hosts = dict(agent_hosts or {})
        self._agent_urls = {agent: u.rstrip("/") for agent, u in (agent_urls or {}).items()}
        self._check_seconds = session_check_seconds
        self._poll_seconds = 60.0 / requests_per_minute
        self._clock = clock
        self._retry_delay = retry_delay_seconds
        self._transport = Transport(
            timeout_seconds=timeout_seconds,
            tls=tls_setting(ca_bundle, verify_tls),
            resolver=resolver,
        )
        self._routes = (
            Routes(self._transport, credentials, routes, backoff_seconds=retry_delay_seconds * 2)
            if routes is not None
            else None
        )
        self.guard = LoginGuard(config_key=f"systems.{name}.adapter.credentials_env")
        self._apis: dict[str, WebApi] = {}
        self._agents: dict[str, KnownAgent] = {}
        self._pairs: dict[str, tuple[str, bool]] = {}
        self._runs: dict[str, UpgradeRun] = {}
        self._progress_read_at: dict[str, float] = {}  # route reads spaced out: when last
        # what the last reads could not do, for check-dms and the logs: Agent or route -> why
        self.agent_problems: dict[str, str] = {}
        self.route_problems: dict[str, str] = {}
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
            agent_hosts=options.agent_hosts,
            agent_urls=options.agent_urls,
            ca_bundle=options.ca_bundle,
            verify_tls=options.verify_tls,
            requests_per_minute=options.requests_per_minute,
            session_check_seconds=options.session_check_seconds,
        )

    def __repr__(self) -> str:
        routes = "with routes" if self._routes else "without routes"
        return f"DataMinerAdapter({self.name!r}, {self.url!r}, {routes})"

    # --- reads through the web API ---------------------------------------------------------

    async def get_cluster(self) -> Cluster:
        operation, started = "reading the cluster", self._clock()
        try:
            infos = await self._web(operation, lambda api: api.agents_info(operation))
        except AgentUnreachable:
            if (silent := self._cluster_while_silent()) is not None:
                return silent
            raise
        self._remember(infos)
        reads = self._read_versions(infos, started, operation), self._read_pairs()
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
        """A job on the DMS (the copy and the prerequisite checks take minutes): started once,
        then polled through any Agent every ``60 / requests_per_minute`` seconds."""
        if (routes := self._routes_for("upload_only")) is None:
            raise manual_upload(packages)
        operation = "uploading packages"
        try:
            started = await self._route(
                operation,
                lambda base, where: routes.upload_only(base, where, packages),
                idempotent=False,  # a job start: never sent twice
            )
            if isinstance(started, str):
                started = await self._await_upload(routes, started, operation)
        except (NoAgentAnswered, AnswerLost) as error:  # each Agent failed the upload
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
        return started

    async def _await_upload(self, routes: Routes, job_id: str, operation: str) -> UploadReport:
        """Polls the job; a few polls that no Agent answers in a row are waited out (the job
        carries on on the DMS), more are the upload's failure."""
        silent = 0
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                report = await self._route(
                    operation, lambda base, where: routes.upload_job(base, where, job_id)
                )
            except NoAgentAnswered:
                silent += 1
                if silent >= UPLOAD_POLLS_UNANSWERED:
                    raise
                continue
            silent = 0
            if report is not None:
                return report

    async def start_upgrade(self, package: PackageFile, options: UpgradeOptions) -> str:
        if (routes := self._routes_for("start_upgrade")) is None:
            raise manual_upgrade(package, options)
        if package.kind is PackageKind.NOT_AN_UPGRADE:
            raise InvalidPackage(package.name, "it is not a .dmupgrade package")
        with contextlib.suppress(AdapterError):  # the versions before, for Agents that fail
            await self.get_cluster()
        run_id = await self._route(
            "starting an upgrade",
            lambda base, where: routes.start(base, where, package, options),
            idempotent=False,
        )
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

    async def get_progress(self, run_id: str) -> UpgradeRun:
        """Asked of the DMS at most every ``60 / requests_per_minute`` seconds (the token's
        rate limit counts every request); in between, the last snapshot."""
        routes = self._need("progress")
        known = self._runs.get(run_id)
        last = self._progress_read_at.get(f"run:{run_id}")
        if known is not None and last is not None and self._clock() - last < self._poll_seconds:
            return known
        self._progress_read_at[f"run:{run_id}"] = self._clock()
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
        """Logs out of every Agent's session (``LogOut``), then releases connections."""
        apis = [api for api in self._apis.values() if api.is_connected]
        logouts = asyncio.gather(*(api.log_out() for api in apis), return_exceptions=True)
        with contextlib.suppress(TimeoutError):  # a silent DMS must not hold up a shutdown
            await asyncio.wait_for(logouts, LOGOUT_WAIT_SECONDS)
        await self._transport.close()

    def logins(self) -> dict[str, int]:
        """How many times the adapter logged in on each Agent (or address) so far."""
        return {api.label: api.logins for api in self._apis.values() if api.logins}

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
                guard=self.guard,
                clock=self._clock,
                retry_delay_seconds=self._retry_delay,
            )
        return self._apis[url]

    def _label(self, url: str) -> str:
        for name, known in self._agents.items():
            if known.url == url:
                return name
        for name in {*self._agent_urls, *self._agent_hosts}:
            if self.agent_url(name) == url:
                return name
        return urlsplit(url).netloc

    def agent_url(self, name: str, primary_ip: str = "") -> str:
        """Where the Agent is asked: ``agent_urls``, else url with the Agent's host name
        (``agent_hosts``, else its name in url's domain; its PrimaryIP when url is an IP)."""
        if name in self._agent_urls:
            return self._agent_urls[name]
        parts = urlsplit(self.url)
        host = self._agent_hosts.get(name) or derived_host(parts.hostname or "", name, primary_ip)
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def _addresses(self) -> list[str]:
        known = [agent.url for agent in self._agents.values() if answers(agent.info)]
        configured = [self.agent_url(name) for name in {**self._agent_hosts, **self._agent_urls}]
        ordered = [self.url, *configured, *known]
        return list(dict.fromkeys(ordered))[:MAX_ADDRESSES_TRIED]

    async def _first_answer(
        self, operation: str, attempt: Callable[[str], Awaitable[T]], *, idempotent: bool = True
    ) -> T:
        """``attempt(url)`` on each address in turn until one answers; ``NoAgentAnswered``
        naming each Agent and why when none does. Only silence (no connection, a drop, 502-504,
        a TLS failure, a web API that cannot reach DataMiner) moves on: an error or a timeout
        is an answer. A request that is not ``idempotent`` moves on only when the Agent provably
        never received it; otherwise ``AnswerLost``."""
        failures: list[NotAnswering] = []
        for url in self._addresses():
            try:
                return await attempt(url)
            except NotAnswering as error:
                log.info("%s while %s: %s", self._label(url), operation, error.reason)
                if not idempotent and error.sent:
                    raise AnswerLost(
                        operation, self.timeout_seconds, self._label(url), error.reason
                    ) from None
                failures.append(error)
        names = list(self._agents) or [failure.agent for failure in failures]
        raise NoAgentAnswered(operation, names, failures)

    def _web(self, operation: str, ask: Callable[[WebApi], Awaitable[T]]) -> Awaitable[T]:
        return self._first_answer(operation, lambda url: ask(self._api(url)))

    def _route(
        self, operation: str, ask: Callable[[str, str], Awaitable[T]], *, idempotent: bool = True
    ) -> Awaitable[T]:
        return self._first_answer(
            operation, lambda url: ask(url, self._label(url)), idempotent=idempotent
        )

    def _remember(self, infos: list[DmaInfo]) -> None:
        for info in infos:
            url = self.agent_url(info.name, info.primary_ip)
            known = self._agents.get(info.name)
            if known is None:
                self._agents[info.name] = KnownAgent(info=info, url=url)
            else:
                known.info, known.url = info, url
            if url in self._apis:
                self._apis[url].label = info.name

    async def _read_versions(
        self, infos: list[DmaInfo], started: float, operation: str
    ) -> dict[str, bool]:
        """Checks, concurrently, each answering Agent's session where something may have
        changed; which Agents answered."""
        due = [info for info in infos if answers(info) and self._is_due(info)]
        outcomes = await asyncio.gather(
            *(self._read_version(info, started) for info in due), return_exceptions=True
        )
        answering = {info.name: answers(info) for info in infos}
        for info in infos:
            if not answering[info.name]:
                self.agent_problems[info.name] = (
                    f"DataMiner reports it {info.status}, so it was not asked for its version"
                )
        for info, outcome in zip(due, outcomes, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, AdapterError):
                raise outcome
            silent = isinstance(outcome, AgentUnreachable | AdapterTimeout)
            # a setting to fix (a name, a certificate): DataMiner's word on its state stands
            if silent and not isinstance(outcome, UntrustedCertificate | UnknownHost):
                answering[info.name] = False
            if isinstance(outcome, AdapterError):
                self.agent_problems[info.name] = f"its version was not read: {outcome}"
                log.warning("could not read the version of %s: %s", info.name, outcome)
            else:
                self.agent_problems.pop(info.name, None)
        return answering

    def _is_due(self, info: DmaInfo) -> bool:
        known = self._agents[info.name]
        api = self._api(known.url)
        return (
            known.version is None
            or not api.is_connected
            or known.version_key != version_key(info)
            or self._clock() - api.used_at >= self._check_seconds
        )

    async def _read_version(self, info: DmaInfo, started: float) -> None:
        """The Agent's own session knows its version (DMAVersion of its login). While that
        session is alive DataMiner has not restarted there; once it is gone, a new login reads
        the version it runs now. A login made during this read already did."""
        known = self._agents[info.name]
        api = self._api(known.url)
        if api.connected_at < started and not await api.is_alive("reading its version"):
            await api.connect("reading its version")
        known.version = api.version or known.version
        known.version_key, known.version_read_at = version_key(info), self._clock()

    async def _read_pairs(self) -> None:
        """The optional ``failover`` route: when it fails, the web API's answer stands, the
        last known pairs are kept, and ``route_problems`` says why."""
        if (routes := self._routes_for("failover")) is None:
            return
        last = self._progress_read_at.get("failover")
        if last is not None and self._clock() - last < self._poll_seconds:
            return  # pairs change rarely; the token's rate limit counts every request
        self._progress_read_at["failover"] = self._clock()
        try:
            pairs: list[FailoverPair] = await self._route("reading Failover pairs", routes.failover)
        except AdapterError as error:
            path = routes.paths.failover
            self.route_problems["failover"] = f"route {path} failed: {error}"
            log.warning(
                "Failover pairs not read (route %s): %s; keeping the last known", path, error
            )
            return
        self.route_problems.pop("failover", None)
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


def derived_host(url_host: str, agent: str, primary_ip: str) -> str:
    """An Agent's host name by default: its name in the domain of url's host (``dma01.example``
    -> ``dma02.example`` for Agent DMA02), or its PrimaryIP when url names an IP address (then
    the certificates must carry the IPs, ``Setting_up_HTTPS_on_a_DMA.md``)."""
    try:
        ipaddress.ip_address(url_host)
    except ValueError:
        domain = url_host.partition(".")[2]
        return f"{agent.lower()}.{domain}" if domain else agent.lower()
    return primary_ip or url_host
