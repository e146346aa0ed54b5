"""A loopback DataMiner System: Web Services v1 JSON and the upgradebot User-Defined API routes,
served by one aiohttp app on 127.0.0.1 (port 0). Each Agent is its own *host*
(``<agent>.dms.test``): the app tells them apart by the ``Host`` header, as IIS bindings do, and
``resolver`` is the DNS that sends those names (and nothing else) to 127.0.0.1, so a TLS
certificate can name the hosts and no test can reach the internet.

The DMS behind it is the simulator (``SimulatedAdapter``): its Agents, versions, Failover pairs,
alarms, prerequisite checks and upgrade runs. This module adds what the wire does, as strictly
as ASP.NET's JSON handler (``ScriptService``) does it:

- method and parameter names exactly as ``develop/webservices/WS_v1/WS_Methods_v1/<Method>.md``
  spell them, case-sensitive, **every** parameter required: a missing one is HTTP 500 with
  ``{"Message", "StackTrace", "ExceptionType"}`` and the header ``jsonerror: true``;
- answers wrapped in ``{"d": ...}``;
- sessions removed after ``idle_seconds`` unused (5 minutes, ``ConnectAppAndInfo.md``), on
  ``LogOut``, on an IIS recycle (``recycle()``) and when the Agent's DataMiner restarts; a
  removed session answers HTTP 500 "No connection available" (``NoConnectionWebApiException``);
- an Agent's web API answering 503 while DataMiner is stopped there (installing, or failed) and
  dropping connections while its server is off the network;
- the routes with bearer tokens, UDAPI's error codes, a per-endpoint token rate limit
  (429 / 1014, ``UD_APIs_ApiToken.md`` § RateLimit) and NATS failures (500 / 1001).

Faults a test can set: HTTP 500s, slow answers, bad JSON, missing packages, login errors.
``clock`` is the fake's sense of time (monotonic seconds), so a benchmark can play an hour.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import BaseModel, ValidationError

from bot.agents import (
    AdapterError,
    AdapterTimeout,
    AgentState,
    AgentUnreachable,
    InvalidPackage,
    PackageFile,
    SimAgent,
    SimulatedAdapter,
    UnknownRun,
    UpgradeInProgress,
    UpgradeOptions,
)

USER = "svc-upgradebot"
PASSWORD = "pa55-W0rd-not-for-logs"
TOKEN = "tok3n-32-characters-long-abcdef0123=="
NO_CONNECTION = "Skyline.DataMiner.Web.Common.NoConnectionWebApiException"
PACKAGE_SHARE = "C:\\Skyline DataMiner\\Upgrades\\upgradebot"
_ANSWERING = {
    AgentState.RUNNING: "Running",
    AgentState.STARTING: "Starting",
    AgentState.SWITCHING: "Switching",
    AgentState.UNKNOWN: "Unknown",
}
_POLICIES = {
    "Simultaneously": "simultaneously",
    "BackupFirst": "backup_first",
    "BackupFirstWithSwitchback": "backup_first_with_switchback",
    "UseDefault": "use_default",
}


# Every formal parameter of each method, as its doc page names it (case-sensitive, all required).
WEB_METHODS: dict[str, tuple[str, ...]] = {
    "ConnectAppAndInfo": (
        "host",
        "login",
        "password",
        "clientAppName",
        "clientAppVersion",
        "clientComputerName",
    ),
    "GetDataMinerAgentsInfo": ("connection",),
    "GetActiveAlarms": ("connection",),
    "IsConnectionAlive": ("connection",),
    "LogOut": ("connection",),
}
DOMAIN = "dms.test"


class LoopbackResolver(AbstractResolver):
    """DNS for the fake's hosts: each of them is 127.0.0.1; any other name does not exist.
    A host whose server is off the network resolves to a loopback address nobody listens on,
    so a new connection to it is refused, as a switched-off server's would be."""

    def __init__(self, hosts: Iterable[str], is_off: Callable[[str], bool]) -> None:
        self.hosts = set(hosts)
        self._is_off = is_off

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.hosts:
            raise OSError(f"{host} is not a host of the fake DMS")
        return [
            {
                "hostname": host,
                "host": "127.0.0.254" if self._is_off(host) else "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


@dataclass
class _Session:
    version: str
    last_used: float


class _Drop(Exception):
    """The Agent's server is off the network: the connection is dropped, no answer."""


class _Answer(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


@dataclass
class FakeDataMiner:
    agents: Sequence[SimAgent]
    name: str = "lab"
    step_seconds: float = 0.02
    latency_seconds: float = 0.0
    idle_seconds: float = 300.0
    user: str = USER
    password: str = PASSWORD
    token: str = TOKEN
    domain: str = DOMAIN
    clock: Callable[[], float] = time.monotonic
    # UDAPI token rate limit per endpoint (route), requests a minute; None: no limit
    rate_limit_per_minute: int | None = None
    retry_after_seconds: int | None = None  # sent with a 429 when set
    # ASP.NET custom errors on: remote callers get every exception hidden
    custom_errors: bool = False
    # faults: name (a method such as "GetActiveAlarms", or "GET upgradebot/backups") -> how
    # many of the next calls fail; Agent -> extra seconds on each of its answers
    failures: dict[str, int] = field(default_factory=dict)
    bad_json: dict[str, int] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)
    missing_packages: set[str] = field(default_factory=set)
    # Agent -> how many of its next logins answer HTTP 500 "Cannot connect to DataMiner."
    login_errors: dict[str, int] = field(default_factory=dict)
    # "VERB route" -> how many of the next calls the endpoint fails with NATS (500 / 1001),
    # refuses for the token's rate limit (429 / 1014), or runs and then loses the answer of
    rate_limited: dict[str, int] = field(default_factory=dict)
    nats_failures: dict[str, int] = field(default_factory=dict)
    lost_answers: dict[str, int] = field(default_factory=dict)
    # what happened: (agent, method or "VERB route") per request, in order
    calls: list[tuple[str, str]] = field(default_factory=list)
    no_connection_answers: int = 0
    logouts: list[str] = field(default_factory=list)
    # every route exchange that got past the token: ("VERB route", request body, status, answer)
    exchanges: list[tuple[str, Any, int, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sim = SimulatedAdapter(self.name, self.agents, step_seconds=self.step_seconds)
        self._sessions: dict[str, dict[str, _Session]] = {a.name: {} for a in self.agents}
        self._changes: dict[str, tuple[tuple[str, str], int]] = {}
        self._runner: web.AppRunner | None = None
        self._scheme, self.port = "http", 0
        self._hosts = {self.host(a.name): a.name for a in self.agents}
        self._route_times: dict[str, deque[float]] = {}
        self.resolver = LoopbackResolver(
            self._hosts, lambda host: self._hosts[host] in self.sim.faults.unreachable
        )
        self._uploads_by_id: dict[str, asyncio.Future[Any]] = {}

    # --- lifecycle and addresses -------------------------------------------------------------

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> FakeDataMiner:
        app = web.Application()
        app.router.add_post("/API/v1/Json.asmx/{method}", self._web_api)
        app.router.add_route("*", "/api/custom/{route:.+}", self._route)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._scheme = "https" if ssl_context else "http"
        return self

    async def stop(self) -> None:
        for job in self._uploads_by_id.values():
            job.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.sim.shutdown()

    def host(self, agent: str) -> str:
        return f"{agent}.{self.domain}"

    @property
    def hosts(self) -> list[str]:
        return list(self._hosts)

    def agent_url(self, agent: str) -> str:
        return f"{self._scheme}://{self.host(agent)}:{self.port}"

    @property
    def agent_urls(self) -> dict[str, str]:
        return {agent.name: self.agent_url(agent.name) for agent in self.agents}

    def count(self, name: str, agent: str | None = None) -> int:
        return sum(1 for a, n in self.calls if n == name and agent in (None, a))

    def live_sessions(self, agent: str) -> int:
        return len(self._sessions[agent])

    def recycle(self) -> None:
        """IIS recycles its application pool: every session on every Agent is gone."""
        for sessions in self._sessions.values():
            sessions.clear()

    # --- the scenario controller of the contract suite ------------------------------------

    def set_unreachable(self, agent: str) -> None:
        self.sim.faults.unreachable.add(agent)

    def fail_prerequisite(self, agent: str, check: str) -> None:
        self.sim.faults.failing_prerequisite[agent] = check

    def fail_upgrade(self, agent: str) -> None:
        self.sim.faults.fail_upgrade[agent] = 1

    def raise_critical_alarm(self) -> None:
        self.sim.faults.critical_alarm = True

    # --- the wire --------------------------------------------------------------------------

    async def _serve(
        self, request: web.Request, name: str, answer: Callable[[], Awaitable[web.Response]]
    ) -> web.StreamResponse:
        agent = self._agent_of(request)
        self.calls.append((agent, name))
        try:
            await self._gate(agent, name)
            return await answer()
        except _Answer as short:
            return short.response
        except _Drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response()

    def _agent_of(self, request: web.Request) -> str:
        host = request.headers.get("Host", "").rsplit(":", 1)[0].lower()
        return self._hosts.get(host, host)

    async def _gate(self, agent: str, name: str) -> None:
        if agent not in self._sessions:  # IIS has no binding for that host name
            raise _Answer(web.Response(status=400, text="Bad Request - Invalid Hostname"))
        await asyncio.sleep(self.latency_seconds + self.slow.get(agent, 0.0))
        if agent in self.sim.faults.unreachable:
            raise _Drop
        if (await self.sim.get_cluster()).agent(agent).state not in _ANSWERING:
            self._sessions[agent].clear()  # DataMiner stopped: its sessions are gone
            raise _Answer(web.Response(status=503, text="Service Unavailable"))
        if _take(self.failures, name):
            raise _Answer(
                _fault(
                    "Object reference not set to an instance of an object.",
                    "System.NullReferenceException",
                )
            )
        if _take(self.bad_json, name):
            raise _Answer(
                web.Response(
                    text="<html><body>Runtime Error</body></html>", content_type="text/html"
                )
            )

    async def _web_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        answer = await self._serve(request, method, lambda: self._call(request, method))
        if self.custom_errors and answer.status == 500:
            return _fault("There was an error processing the request.", "", trace="")
        return answer

    async def _call(self, request: web.Request, method: str) -> web.Response:
        agent = self._agent_of(request)
        try:
            params = await request.json()
        except ValueError:
            return _fault("Invalid JSON primitive.", "System.ArgumentException")
        if method not in WEB_METHODS:
            return _fault(f"Unknown web method {method}.", "System.ArgumentException")
        if not isinstance(params, dict):
            params = {}
        for name in WEB_METHODS[method]:  # ScriptService: exact names, every one required
            if name not in params:
                return _fault(
                    f"Invalid web service call, missing value for parameter: '{name}'.",
                    "System.InvalidOperationException",
                )
        if method == "ConnectAppAndInfo":
            return await self._connect(agent, params)
        guid = str(params["connection"])
        if method == "LogOut":
            self.logouts.append(agent)
            self._sessions[agent].pop(guid, None)
            return _d(None)
        alive = await self._is_alive(agent, guid)
        if method == "IsConnectionAlive":
            return _d(alive)
        if not alive:
            self.no_connection_answers += 1
            return _fault("No connection available", NO_CONNECTION)
        return _d(
            await (self._agents_info() if method == "GetDataMinerAgentsInfo" else self._alarms())
        )

    async def _connect(self, agent: str, params: dict[str, Any]) -> web.Response:
        if _take(self.login_errors, agent):
            return _fault(
                "Cannot connect to DataMiner.", "Skyline.DataMiner.Web.Common.WebApiException"
            )
        if (params["login"], params["password"]) != (self.user, self.password):
            return _fault(
                f"Login failed for user '{params['login']}': unknown user name or bad password.",
                "Skyline.DataMiner.Web.Common.WebApiException",
            )
        guid = str(uuid.uuid4())
        version = (await self.sim.get_cluster()).agent(agent).version
        self._sessions[agent][guid] = _Session(version, self.clock())
        return _d(
            {
                "Connection": guid,
                "DMAVersion": version,
                "Message": None,
                "MessageType": None,
                "TimeUTC": int(time.time() * 1000),
                "User": {"Login": self.user},
                "SLNetConnectionID": str(uuid.uuid4()),
            }
        )

    async def _is_alive(self, agent: str, guid: str) -> bool:
        """A session is used by this call, unless it was removed: unused for ``idle_seconds``,
        or its Agent's DataMiner restarted (a new version) since the login."""
        session = self._sessions[agent].get(guid)
        version = (await self.sim.get_cluster()).agent(agent).version
        now = self.clock()
        if (
            session is None
            or now - session.last_used > self.idle_seconds
            or session.version != version
        ):
            self._sessions[agent].pop(guid, None)
            return False
        session.last_used = now
        return True

    async def _agents_info(self) -> list[dict[str, Any]]:
        rows = []
        for index, info in enumerate((await self.sim.get_cluster()).agents):
            status = _ANSWERING.get(info.state, "Disconnected")
            seen = self._changes.get(info.name)
            if seen is None or seen[0] != (status, info.version):
                self._changes[info.name] = ((status, info.version), int(time.time() * 1000))
            rows.append(
                {
                    "__type": "Skyline.DataMiner.Web.Common.v1.DMAInfo",
                    "ID": info.id,
                    "Name": info.name,
                    # loopback, never the simulator's 10.11.x.y: a client that went by IP
                    # would meet a closed port here, not somebody's network
                    "PrimaryIP": f"127.0.0.{index + 2}",
                    "Cluster": self.name,
                    "Status": status,
                    "IsFailOver": info.failover_partner is not None,
                    "LastChangeUTC": self._changes[info.name][1],
                }
            )
        return rows

    async def _alarms(self) -> list[dict[str, Any]]:
        ids = {info.name: info.id for info in (await self.sim.get_cluster()).agents}
        rows = []
        for alarm in (await self.sim.get_alarms()).alarms:
            dma, alarm_id = (int(part) for part in alarm.id.split("/"))
            rows.append(
                {
                    "DataMinerID": dma,
                    "HostingAgentID": ids[alarm.agent],
                    "ID": alarm_id,
                    "RootAlarmID": alarm_id,
                    "ElementID": 1,
                    "ElementName": alarm.element,
                    "ParameterID": 1,
                    "ParameterName": alarm.parameter,
                    "DisplayValue": alarm.value,
                    "AlarmState": alarm.severity.value.title(),
                    "Type": "New Alarm",
                    "IsCleared": False,
                    "IsMasked": False,
                    "TimeOfArrivalUTC": int(alarm.since.timestamp() * 1000),
                }
            )
        return rows

    # --- the upgradebot routes ---------------------------------------------------------------

    async def _route(self, request: web.Request) -> web.StreamResponse:
        route = request.match_info["route"].lower()  # UDAPI routes are case-insensitive
        return await self._serve(
            request, f"{request.method} {route}", lambda: self._answer_route(request, route)
        )

    async def _answer_route(self, request: web.Request, route: str) -> web.Response:
        # The endpoint forwards each trigger to any Agent (round-robin, UD_APIs_Troubleshooting)
        self._next_node = getattr(self, "_next_node", 0) + 1
        cluster = (await self.sim.get_cluster()).agents
        node = cluster[self._next_node % len(cluster)].id
        name = f"{request.method} {route}"
        if self._rate_limited(route) or _take(self.rate_limited, name):
            headers = {}
            if self.retry_after_seconds is not None:
                headers["Retry-After"] = str(self.retry_after_seconds)
            return _endpoint_error(
                429, 1014, "The rate limit of the token has been exceeded.", node, headers
            )
        if _take(self.nats_failures, name):
            return _endpoint_error(
                500, 1001, "Failed to send the NATS request to the DataMiner Agent.", node
            )
        bearer = request.headers.get("Authorization", "")
        if not bearer.startswith("Bearer "):
            return _endpoint_error(401, 1008, "The authentication header is not valid.", node)
        if bearer.removeprefix("Bearer ") != self.token:
            return _endpoint_error(401, 1010, "The passed secret is invalid.", node)
        body = await request.json() if request.can_read_body else {}
        handlers: dict[tuple[str, str], Callable[[], Awaitable[Any]]] = {
            ("GET", "upgradebot/requirements"): self._requirements,
            ("GET", "upgradebot/backups"): self._backups,
            ("GET", "upgradebot/history"): self._history,
            ("GET", "upgradebot/failover"): self._failover,
            ("POST", "upgradebot/upload-only"): lambda: self._upload(body),
            ("GET", "upgradebot/upload-only"): self._uploads,
            ("POST", "upgradebot/upgrades"): lambda: self._start(body),
            ("GET", "upgradebot/upgrades"): self._runs,
        }
        handler = handlers.get((request.method, route))
        if handler is None and (run := re.fullmatch(r"upgradebot/upgrades/([0-9a-f]+)", route)):
            handler = lambda: self._run(run[1])  # noqa: E731
        if handler is None:
            return _endpoint_error(
                404, 5, "A definition with the passed route could not be found.", node
            )
        accepted = request.method == "POST"  # both POSTs start a job and answer at once
        try:
            status, answer = (202 if accepted else 200), _camel(await handler())
        except (AdapterError, ValidationError, KeyError) as error:
            status, answer = _script_error(error)
        self.exchanges.append((f"{request.method} {route}", body or None, status, answer))
        if _take(self.lost_answers, name):
            raise _Drop  # the script ran; its answer never reaches the caller
        return web.json_response(answer, status=status)

    def _rate_limited(self, route: str) -> bool:
        """Every request counts, refused ones too, per endpoint, over the last minute."""
        if self.rate_limit_per_minute is None:
            return False
        now = self.clock()
        times = self._route_times.setdefault(route, deque())
        while times and now - times[0] >= 60.0:
            times.popleft()
        times.append(now)
        return len(times) > self.rate_limit_per_minute

    async def _requirements(self) -> dict[str, Any]:
        return {"agents": [r.model_dump(mode="json") for r in await self.sim.get_requirements()]}

    async def _backups(self) -> dict[str, Any]:
        backups = await self.sim.get_latest_backups()
        return {
            "agents": [
                {"agent": a, "latest_backup": t and t.isoformat().replace("+00:00", "Z")}
                for a, t in backups.items()
            ]
        }

    async def _history(self) -> dict[str, Any]:
        return {"entries": [e.model_dump(mode="json") for e in await self.sim.get_history()]}

    async def _failover(self) -> dict[str, Any]:
        cluster = await self.sim.get_cluster()
        return {
            "pairs": [
                {"agents": [a.name, a.failover_partner], "online": a.name}
                for a in cluster.agents
                if a.failover_partner and a.is_online
            ]
        }

    async def _upload(self, body: dict[str, Any]) -> dict[str, Any]:
        """Upload only is a job: it takes minutes on a real DMS (the copy to every Agent and the
        prerequisite checks), longer than the endpoint waits; answered at once with its id."""
        packages = [_package(item) for item in body["packages"]]
        job_id = uuid.uuid4().hex
        self._uploads_by_id[job_id] = asyncio.ensure_future(self._upload_job(packages))
        return {"job_id": job_id}

    async def _upload_job(self, packages: list[PackageFile]) -> Any:
        await asyncio.sleep(self.step_seconds)
        report = await self.sim.upload_only(packages)
        results = [
            result.model_copy(
                update={
                    "ok": False,
                    "prerequisite_failures": [],
                    "message": f"{result.package} is not in {PACKAGE_SHARE}.",
                }
            )
            if result.package in self.missing_packages
            else result
            for result in report.results
        ]
        return report.model_copy(update={"results": results}).model_dump(mode="json")

    async def _uploads(self) -> dict[str, Any]:
        jobs = []
        for job_id, task in self._uploads_by_id.items():
            done = task.done()
            jobs.append(
                {"job_id": job_id, "finished": done, **({"report": task.result()} if done else {})}
            )
        return {"jobs": jobs}

    async def _start(self, body: dict[str, Any]) -> dict[str, Any]:
        options = UpgradeOptions(
            all_agents=body["allAgents"],
            agents=body.get("agents", []),
            failover_policy=_POLICIES[body["failoverPolicy"]],
        )
        return {"run_id": await self.sim.start_upgrade(_package(body["package"]), options)}

    async def _runs(self) -> dict[str, Any]:
        return {"runs": [run.model_dump(mode="json") for run in await self.sim.find_runs()]}

    async def _run(self, run_id: str) -> Any:
        return (await self.sim.get_progress(run_id)).model_dump(mode="json")


def _take(faults: dict[str, int], name: str) -> bool:
    if faults.get(name, 0) <= 0:
        return False
    faults[name] -= 1
    return True


def _package(item: dict[str, Any]) -> PackageFile:
    return PackageFile(
        name=item["name"],
        path=f"{PACKAGE_SHARE}\\{item['name']}",
        size=item["size"],
        sha256=item["sha256"],
    )


def _d(result: Any) -> web.Response:
    return web.json_response({"d": result})


def _fault(
    message: str,
    exception_type: str,
    trace: str = "   at Skyline.DataMiner.Web.Common.v1.Api.Call(String method)",
) -> web.Response:
    """How ASP.NET web services answer an exception."""
    return web.json_response(
        {"Message": message, "StackTrace": trace, "ExceptionType": exception_type},
        status=500,
        headers={"jsonerror": "true"},
    )


def _endpoint_error(
    status: int, code: int, detail: str, node: int, headers: dict[str, str] | None = None
) -> web.Response:
    title = (
        "Error occurred while handling the request, contact your admin with the provided "
        "errorCode and faultingNode ID."
    )
    error = {"title": title, "detail": detail, "errorCode": code, "faultingNode": node}
    return web.json_response({"errors": [error]}, status=status, headers=headers)


def _script_error(error: Exception) -> tuple[int, dict[str, Any]]:
    """What the upgradebot scripts answer for a failure (docs/udapi-routes.openapi.yaml)."""
    extra: dict[str, Any] = {}
    if isinstance(error, AgentUnreachable):
        status, reason, extra = 503, "agent_unreachable", {"agents": [error.agent, *error.others]}
    elif isinstance(error, AdapterTimeout):
        status, reason, extra = 504, "agent_timeout", {"agents": [error.agent]}
    elif isinstance(error, UpgradeInProgress):
        status, reason = 409, "upgrade_in_progress"
        extra = {"runId": error.run_id, "package": error.package}
    elif isinstance(error, UnknownRun):
        status, reason, extra = 404, "unknown_run", {"runId": error.run_id}
    elif isinstance(error, InvalidPackage):
        status, reason, extra = 400, "invalid_package", {"package": error.package}
    else:
        status, reason = 400, "refused"
    detail = str(error) if not isinstance(error, InvalidPackage) else error.reason
    title = "The upgradebot script could not do this."
    return status, {"errors": [{"title": title, "detail": detail, "reason": reason, **extra}]}


def _camel(value: Any) -> Any:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m[1].upper(), k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value
