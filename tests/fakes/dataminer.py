"""A loopback DataMiner System: Web Services v1 JSON and the upgradebot User-Defined API routes,
served by one aiohttp app on 127.0.0.1 (port 0), every Agent under its own prefix
(``/<agent>/API/v1/Json.asmx/<Method>``, ``/<agent>/api/custom/<route>``).

The DMS behind it is the simulator (``SimulatedAdapter``): its Agents, versions, Failover pairs,
alarms, prerequisite checks and upgrade runs. This module adds what the wire does: method and
parameter names as documented, ``{"d": ...}``, sessions that expire after ``idle_seconds`` and
die when their Agent restarts (HTTP 500 ``NoConnectionWebApiException``), a refused login, an
Agent's prefix answering 503 while DataMiner is stopped there (installing, or failed) and
dropping connections while its server is off the network, bearer tokens on the routes, and
faults a test can set: HTTP 500s, slow answers, bad JSON, missing packages.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
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
    # faults: name (a method such as "GetActiveAlarms", or "GET upgradebot/backups") -> how
    # many of the next calls fail; Agent -> extra seconds on each of its answers
    failures: dict[str, int] = field(default_factory=dict)
    bad_json: dict[str, int] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)
    missing_packages: set[str] = field(default_factory=set)
    # what happened: (agent, method or "VERB route") per request, in order
    calls: list[tuple[str, str]] = field(default_factory=list)
    no_connection_answers: int = 0
    # the next N start requests are carried out, then the connection drops before the answer
    drop_after_start: int = 0
    # every route exchange that got past the token: ("VERB route", request body, status, answer)
    exchanges: list[tuple[str, Any, int, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sim = SimulatedAdapter(self.name, self.agents, step_seconds=self.step_seconds)
        self._sessions: dict[str, dict[str, _Session]] = {a.name: {} for a in self.agents}
        self._changes: dict[str, tuple[tuple[str, str], int]] = {}
        self._runner: web.AppRunner | None = None
        self._scheme, self.port = "http", 0

    # --- lifecycle and addresses -------------------------------------------------------------

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> FakeDataMiner:
        app = web.Application()
        app.router.add_post("/{agent}/API/v1/Json.asmx/{method}", self._web_api)
        app.router.add_route("*", "/{agent}/api/custom/{route:.+}", self._route)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._scheme = "https" if ssl_context else "http"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self.sim.shutdown()

    def agent_url(self, agent: str) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}/{agent}"

    @property
    def agent_urls(self) -> dict[str, str]:
        return {agent.name: self.agent_url(agent.name) for agent in self.agents}

    def count(self, name: str, agent: str | None = None) -> int:
        return sum(1 for a, n in self.calls if n == name and agent in (None, a))

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
        agent = request.match_info["agent"]
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

    async def _gate(self, agent: str, name: str) -> None:
        if agent not in self._sessions:
            raise _Answer(web.Response(status=404, text="Not Found"))
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
        return await self._serve(request, method, lambda: self._call(request, method))

    async def _call(self, request: web.Request, method: str) -> web.Response:
        agent = request.match_info["agent"]
        try:
            params = await request.json()
        except ValueError:
            return _fault("Invalid JSON primitive.", "System.ArgumentException")
        if method == "ConnectAppAndInfo":
            return await self._connect(agent, params)
        documented = {
            "GetDataMinerAgentsInfo": "connection",
            "GetActiveAlarms": "Connection",
            "IsConnectionAlive": "connection",
        }
        if method not in documented:
            return _fault(f"Unknown web method {method}.", "System.InvalidOperationException")
        if documented[method] not in params:
            return _fault(
                f"Invalid web service call, missing value for parameter: '{documented[method]}'.",
                "System.InvalidOperationException",
            )
        alive = await self._is_alive(agent, params[documented[method]])
        if method == "IsConnectionAlive":
            return _d(alive)
        if not alive:
            self.no_connection_answers += 1
            return _fault("No connection available", NO_CONNECTION)
        return _d(
            await (self._agents_info() if method == "GetDataMinerAgentsInfo" else self._alarms())
        )

    async def _connect(self, agent: str, params: dict[str, Any]) -> web.Response:
        if {"host", "login", "password", "clientAppName"} - set(params):
            return _fault(
                "Invalid web service call, missing value for parameter.",
                "System.InvalidOperationException",
            )
        if (params["login"], params["password"]) != (self.user, self.password):
            return _fault(
                f"Login failed for user '{params['login']}': unknown user name or bad password.",
                "Skyline.DataMiner.Web.Common.WebApiException",
            )
        guid = str(uuid.uuid4())
        version = (await self.sim.get_cluster()).agent(agent).version
        self._sessions[agent][guid] = _Session(version, time.monotonic())
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

    async def _is_alive(self, agent: str, guid: Any) -> bool:
        session = self._sessions[agent].get(str(guid))
        version = (await self.sim.get_cluster()).agent(agent).version
        now = time.monotonic()
        if (
            session is None
            or now - session.last_used > self.idle_seconds
            or session.version != version
        ):
            self._sessions[agent].pop(str(guid), None)
            return False
        session.last_used = now
        return True

    async def _agents_info(self) -> list[dict[str, Any]]:
        rows = []
        for info in (await self.sim.get_cluster()).agents:
            status = _ANSWERING.get(info.state, "Disconnected")
            seen = self._changes.get(info.name)
            if seen is None or seen[0] != (status, info.version):
                self._changes[info.name] = ((status, info.version), int(time.time() * 1000))
            rows.append(
                {
                    "__type": "Skyline.DataMiner.Web.Common.v1.DMAInfo",
                    "ID": info.id,
                    "Name": info.name,
                    "PrimaryIP": info.address,
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
        node = (await self.sim.get_cluster()).agent(request.match_info["agent"]).id
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
        accepted = request.method == "POST" and route == "upgradebot/upgrades"
        try:
            status, answer = (202 if accepted else 200), _camel(await handler())
        except (AdapterError, ValidationError, KeyError) as error:
            status, answer = _script_error(error)
        self.exchanges.append((f"{request.method} {route}", body or None, status, answer))
        if accepted and status == 202 and self.drop_after_start > 0:
            self.drop_after_start -= 1
            raise _Drop
        return web.json_response(answer, status=status)

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

    async def _upload(self, body: dict[str, Any]) -> Any:
        packages = [_package(item) for item in body["packages"]]
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


def _fault(message: str, exception_type: str) -> web.Response:
    """How ASP.NET web services answer an exception."""
    trace = "   at Skyline.DataMiner.Web.Common.v1.Api.Call(String method)"
    return web.json_response(
        {"Message": message, "StackTrace": trace, "ExceptionType": exception_type}, status=500
    )


def _endpoint_error(status: int, code: int, detail: str, node: int) -> web.Response:
    title = (
        "Error occurred while handling the request, contact your admin with the provided "
        "errorCode and faultingNode ID."
    )
    error = {"title": title, "detail": detail, "errorCode": code, "faultingNode": node}
    return web.json_response({"errors": [error]}, status=status)


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
