"""The upgradebot User-Defined API routes, and what the bot asks of a person without them.

What the web API lacks (upload only, starting an upgrade, its progress, backups, installed
software, history, Failover pairs) the DMS answers through User-Defined APIs:
``<dma>/api/custom/<route>`` with ``Authorization: Bearer <token>``, each backed by an
Automation script the DataMiner team installs. The JSON contract is ours, in camelCase, and is
written down in ``docs/udapi-routes.openapi.yaml``; ``docs/dataminer-adapter.md`` explains it.

Errors use the UDAPI shape ``{"errors": [{"title", "detail", ...}]}``. The endpoint's own
errors carry ``errorCode`` and ``faultingNode``; our scripts' errors carry ``reason`` (and
``agents``, ``runId``, ``package`` where they apply), which become the port's typed errors.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.agents.dataminer.transport import (
    NOT_ANSWERING_STATUSES,
    NOT_TAKEN_STATUSES,
    Answer,
    Credentials,
    NotAnswering,
    Transport,
)
from bot.agents.models import (
    AdapterError,
    AdapterTimeout,
    AgentRequirements,
    AgentUnreachable,
    HistoryEntry,
    InvalidPackage,
    ManualStepRequired,
    PackageFile,
    UnknownRun,
    UpgradeInProgress,
    UpgradeOptions,
    UpgradeRun,
    UpgradeStage,
    UploadReport,
)

# Our failover_policy -> DataMiner's FailoverAgentUpgradePolicy names (UpgradeInfo.xml, SLNet).
FAILOVER_POLICIES = {
    "simultaneously": "Simultaneously",
    "backup_first": "BackupFirst",
    "backup_first_with_switchback": "BackupFirstWithSwitchback",
    "use_default": "UseDefault",
}
T = TypeVar("T")
log = logging.getLogger(__name__)
_ENDPOINT_NOT_READY = {7, 1006}  # ManagerNotInitialized, MessageBrokerNotInitialized: starting
_NATS_REQUEST_FAILED = 1001  # the endpoint could not send the trigger to any DataMiner
_RATE_LIMITED = 429  # RateLimitExceeded, 1014: refused before any script ran
RATE_LIMIT_TRIES = 4


class RouteOptions(BaseModel):
    """The ``routes:`` block: each route relative to ``/api/custom/``; a route set to null is
    not installed, and its step stays manual. ``progress`` is unset by default and progress is
    read from the ``upgrades`` list; a DMS on 10.6.8 or later can define the dynamic route
    ``upgradebot/upgrades/{runId}`` and name it here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requirements: str | None = "upgradebot/requirements"
    backups: str | None = "upgradebot/backups"
    upload_only: str | None = "upgradebot/upload-only"
    upgrades: str | None = "upgradebot/upgrades"
    progress: str | None = Field(None, pattern=r"\{runId\}")
    history: str | None = "upgradebot/history"
    failover: str | None = "upgradebot/failover"


class FailoverPair(BaseModel):
    model_config = ConfigDict(frozen=True)

    agents: tuple[str, str]
    online: str


class _RouteError(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str = ""
    detail: str = ""
    reason: str | None = None
    error_code: int | None = None
    faulting_node: int | None = None
    agents: list[str] = Field(default_factory=list)
    run_id: str = ""
    package: str = ""


def snake_keys(value: Any) -> Any:
    """camelCase keys (the routes' JSON) -> snake_case (our models), recursively."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


def package_json(package: PackageFile) -> dict[str, Any]:
    return {"name": package.name, "sha256": package.sha256, "size": package.size}


class Routes:
    """The routes on one DMS, asked through whichever Agent's address the caller picks."""

    def __init__(
        self,
        transport: Transport,
        credentials: Credentials,
        paths: RouteOptions,
        *,
        backoff_seconds: float = 2.0,
    ) -> None:
        if credentials.routes_token is None:
            raise ValueError(f"routes need ${credentials.env_prefix}_ROUTES_TOKEN")
        self.paths = paths
        self.backoff_seconds = backoff_seconds
        self._transport = transport
        self._credentials = credentials
        self._token = credentials.routes_token

    async def requirements(self, base: str, where: str) -> list[AgentRequirements]:
        answer = await self._get(
            base, _path(self.paths.requirements), where, "reading installed software"
        )
        return _parse(_path(self.paths.requirements), list[AgentRequirements], answer.get("agents"))

    async def backups(self, base: str, where: str) -> dict[str, datetime | None]:
        answer = await self._get(base, _path(self.paths.backups), where, "looking for backups")
        rows = _parse(_path(self.paths.backups), list[_Backup], answer.get("agents"))
        return {row.agent: row.latest_backup for row in rows}

    async def history(self, base: str, where: str) -> list[HistoryEntry]:
        answer = await self._get(
            base, _path(self.paths.history), where, "reading the upgrade history"
        )
        entries = _parse(_path(self.paths.history), list[HistoryEntry], answer.get("entries"))
        return sorted(entries, key=lambda entry: entry.at)

    async def failover(self, base: str, where: str) -> list[FailoverPair]:
        answer = await self._get(base, _path(self.paths.failover), where, "reading Failover pairs")
        return _parse(_path(self.paths.failover), list[FailoverPair], answer.get("pairs"))

    async def upload_only(
        self, base: str, where: str, packages: list[PackageFile]
    ) -> UploadReport | str:
        """Starts "Upload only": the job's id (202), or the report of a script that answered
        at once (200)."""
        body = {"packages": [package_json(package) for package in packages]}
        path = _path(self.paths.upload_only)
        answer = await self._post(base, path, where, "uploading packages", body)
        if "results" in answer:
            return _parse(path, UploadReport, answer)
        return _parse(path, str, answer.get("job_id"))

    async def upload_job(self, base: str, where: str, job_id: str) -> UploadReport | None:
        """The report of an upload job, or None while it runs."""
        path = _path(self.paths.upload_only)
        answer = await self._get(base, path, where, "uploading packages")
        for job in _parse(path, list[_UploadJob], answer.get("jobs")):
            if job.job_id == job_id:
                return job.report if job.finished else None
        raise AdapterError(
            f"The route {path} on {where} lists no upload job {job_id}; the upgradebot scripts "
            "must keep their jobs where every Agent can read them."
        )

    async def start(
        self, base: str, where: str, package: PackageFile, options: UpgradeOptions
    ) -> str:
        body = {
            "package": package_json(package),
            "allAgents": options.all_agents,
            "agents": options.agents,
            "failoverPolicy": FAILOVER_POLICIES[options.failover_policy],
        }
        answer = await self._post(
            base, _path(self.paths.upgrades), where, "starting an upgrade", body
        )
        return _parse(_path(self.paths.upgrades), str, answer.get("run_id"))

    async def runs(self, base: str, where: str) -> list[UpgradeRun]:
        answer = await self._get(base, _path(self.paths.upgrades), where, "listing upgrade runs")
        return _parse(_path(self.paths.upgrades), list[UpgradeRun], answer.get("runs"))

    async def run(self, base: str, where: str, run_id: str) -> UpgradeRun:
        if self.paths.progress is None:
            for run in await self.runs(base, where):
                if run.run_id == run_id:
                    return run
            raise UnknownRun(run_id)
        path = self.paths.progress.replace("{runId}", run_id)
        answer = await self._get(base, path, where, "reading upgrade progress")
        return _parse(path, UpgradeRun, answer)

    # --- plumbing --------------------------------------------------------------------------

    async def _get(self, base: str, path: str, where: str, operation: str) -> dict[str, Any]:
        for attempt in (1, 2):
            answer = await self._send("GET", base, path, where, operation)
            if answer.status == 500 and attempt == 1 and _error_of(answer).reason is None:
                continue  # a read is safe to ask twice
            return self._result(answer, path, where, operation)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(
        self, base: str, path: str, where: str, operation: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        # Never retried: a second start could queue a second upgrade.
        answer = await self._send("POST", base, path, where, operation, body)
        return self._result(answer, path, where, operation)

    async def _send(
        self, verb: str, base: str, path: str, where: str, operation: str, body: Any = None
    ) -> Answer:
        """One request; a 429 (the token's rate limit, refused before any script ran, so safe
        to repeat even for a POST) is waited out: Retry-After when given, else a backoff."""
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        url = f"{base.rstrip('/')}/api/custom/{path}"
        for attempt in range(1, RATE_LIMIT_TRIES + 1):
            answer = await self._transport.send(
                verb, url, where=where, operation=operation, body=body, headers=headers
            )
            if answer.status != _RATE_LIMITED or attempt == RATE_LIMIT_TRIES:
                return answer
            wait = answer.retry_after_seconds
            if wait is None:
                wait = self.backoff_seconds * 2 ** (attempt - 1)
            log.info("route %s on %s is rate limited; waiting %.1f s", path, where, wait)
            await asyncio.sleep(min(wait, 60.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _result(self, answer: Answer, path: str, where: str, operation: str) -> dict[str, Any]:
        if 200 <= answer.status < 300:
            try:
                payload = answer.payload()
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                raise AdapterError(
                    f"The route {path} on {where} answered with something that is not a JSON "
                    f"object ({answer.describe()}); see docs/udapi-routes.openapi.yaml."
                )
            return snake_keys(payload)  # type: ignore[no-any-return]
        raise self._failure(answer, path, where, operation)

    def _failure(self, answer: Answer, path: str, where: str, operation: str) -> Exception:
        error = _error_of(answer)
        error.detail = self._credentials.redact(error.detail)
        if error.reason is not None:
            return _typed(error, operation, self._transport.timeout_seconds)
        if answer.status == 401:
            token_env = f"${self._credentials.env_prefix}_ROUTES_TOKEN"
            return AdapterError(
                f"The DMS refused the UDAPI token in {token_env} for route "
                f"{path} on {where} ({error.detail or 'HTTP 401'}). Check that the token is "
                "enabled and allowed for every upgradebot API definition."
            )
        if answer.status == 404 and error.error_code == 5:
            return AdapterError(
                f"The DMS has no API definition for route {path}: install the upgradebot "
                "scripts and their API definitions (docs/dataminer-adapter.md)."
            )
        if answer.status == _RATE_LIMITED:
            return AdapterError(
                f"The DMS kept refusing route {path} on {where} for the token's rate limit "
                f"(HTTP 429, error {error.error_code or 1014}). Raise the RateLimit of the token "
                "in System Center > User-Defined APIs, or lower requests_per_minute."
            )
        if error.error_code in _ENDPOINT_NOT_READY:
            return NotAnswering(
                where,
                operation,
                f"its UDAPI endpoint is starting (error {error.error_code})",
                sent=False,
            )
        if error.error_code == _NATS_REQUEST_FAILED:
            return NotAnswering(
                where,
                operation,
                "its UDAPI endpoint could not send the request to DataMiner over NATS (error "
                "1001); check the NATS and UserDefinableApiEndpoint services there",
                sent=False,
            )
        if answer.status in NOT_ANSWERING_STATUSES:
            return NotAnswering(
                where,
                operation,
                f"route {path} answered HTTP {answer.status}",
                sent=answer.status in NOT_TAKEN_STATUSES,
            )
        said = f": {error.detail}" if error.detail else ""
        node = f" (faulting node {error.faulting_node})" if error.faulting_node else ""
        return AdapterError(
            f"The DMS failed while {operation}: route {path} on {where} answered HTTP "
            f"{answer.status}{said}{node}."
        )


def _path(path: str | None) -> str:
    assert path is not None, "the adapter asks only for routes that are configured"
    return path


class _UploadJob(BaseModel):
    job_id: str
    finished: bool
    report: UploadReport | None = None


class _Backup(BaseModel):
    agent: str
    latest_backup: datetime | None


def _error_of(answer: Answer) -> _RouteError:
    payload = snake_keys(answer.payload_or_none())
    errors = payload.get("errors") if isinstance(payload, dict) else None
    try:
        return _RouteError.model_validate(errors[0] if errors else {})
    except (ValidationError, TypeError, KeyError):
        return _RouteError()


def _typed(error: _RouteError, operation: str, timeout_seconds: float) -> AdapterError:
    agents = error.agents or ["(unnamed)"]
    if error.reason == "agent_unreachable":
        return AgentUnreachable(agents[0], operation, agents[1:])
    if error.reason == "agent_timeout":
        return AdapterTimeout(operation, timeout_seconds, agents[0])
    if error.reason == "upgrade_in_progress":
        return UpgradeInProgress(error.run_id, error.package)
    if error.reason == "unknown_run":
        return UnknownRun(error.run_id)
    if error.reason == "invalid_package":
        return InvalidPackage(error.package, error.detail.rstrip("."))
    return AdapterError(f"The DMS refused {operation}: {error.detail or error.title}")


def _parse(path: str, shape: type[T], value: Any) -> T:
    try:
        parsed: T = TypeAdapter(shape).validate_python(value)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        raise AdapterError(
            f"The route {path} answered JSON that does not follow "
            f"docs/udapi-routes.openapi.yaml ({where}: {first['msg']})."
        ) from None
    return parsed


_IN_FLIGHT = (UpgradeStage.PENDING, UpgradeStage.UPLOADING, UpgradeStage.INSTALLING)


def while_silent(run: UpgradeRun) -> UpgradeRun:
    """The last snapshot of a run whose Agents all stopped answering: they are installing
    (DataMiner stops its web API while it installs). Percentages stay where they were."""
    silent = {
        "stage": UpgradeStage.INSTALLING,
        "message": "Installing; its web API does not answer (expected while upgrading)",
    }
    agents = [
        progress.model_copy(update=silent) if progress.stage in _IN_FLIGHT else progress
        for progress in run.agents
    ]
    return run.model_copy(update={"agents": agents})


# --- without routes: what a person does in Cube ----------------------------------------------

# Cube's own labels (Upgrading_a_DataMiner_Agent_in_System_Center.md, Advanced Failover options).
_CUBE_POLICIES = {
    "simultaneously": "Upgrade main and backup Agent simultaneously",
    "backup_first": "Upgrade backup Agent first, switch over and upgrade main",
    "backup_first_with_switchback": (
        "Upgrade backup Agent first, switch over, upgrade main, then switch back again"
    ),
    "use_default": "Default policy",
}
# KI_SLNetIPC_Errors_During_Upgrade.md: a Cube connected to "localhost" loses the upgrade.
CONNECT_BY_HOST_NAME = (
    "Connect Cube to the DMA by its host name (or IP), not `localhost`, so the upgrade window "
    "stays attached while DataMiner restarts."
)


def _upgrade_window_steps(
    packages: Sequence[str], options: UpgradeOptions, button: str
) -> list[str]:
    agents = (
        "*All Agents in cluster*"
        if options.all_agents
        else f"*Individual Agents*, expand *DataMiner Agents* and tick {', '.join(options.agents)}"
    )
    policy = _CUBE_POLICIES[options.failover_policy]
    return [
        CONNECT_BY_HOST_NAME,
        "Go to *Apps* > *System Center* > *Agents*; in the *Manage* tab select a DMA and click "
        "*Upgrade* in the panel on the right.",
        "In the *Schedule* tab, under *Upgrade package*, select *New package* and click *...* "
        f"to browse to {', '.join(packages)} (or pick it under *Available packages*).",
        f"Under *Upgrade DataMiner Agents*, select {agents}.",
        f"Open *Advanced Failover options* and select *{policy}*.",
        f"Click *{button}*.",
    ]


def manual_upload(packages: Sequence[PackageFile]) -> ManualStepRequired:
    names = [package.name for package in packages]
    steps = _upgrade_window_steps(names, UpgradeOptions(), "Upload only")
    steps.append(
        'Check that the upload report says "Upload has been completed successfully" for every '
        "Agent (any package marked Failed fails the whole upload), then acknowledge here."
    )
    return ManualStepRequired("upload_only", "uploads packages, so do *Upload only* in Cube", steps)


def manual_upgrade(package: PackageFile, options: UpgradeOptions) -> ManualStepRequired:
    steps = _upgrade_window_steps([package.name], options, "Upgrade")
    steps.append(
        "Keep Cube's upgrade window open until it reports completion, then acknowledge here. "
        "Meanwhile the bot watches every Agent's state and version through the web API."
    )
    return ManualStepRequired("start_upgrade", "starts upgrades, so start it in Cube", steps)


_MANUAL_READS = {
    "requirements": (
        "reads the servers' software, so check it by hand on every Agent",
        [
            "Run the BPA test *DataMiner Agent Minimum Requirements* in *System Center > Agents > "
            "BPA*, or look on each server:",
            "the .NET Framework release and the ASP.NET Core Hosting Bundles in *Programs and "
            "Features*, the newest Visual C++ 2015+ redistributable, the Windows version and the "
            "free space on the DataMiner drive.",
            "Compare them with the requirements the bot listed for each step, then tick the item.",
        ],
    ),
    "backups": (
        "finds backups, so check them by hand on every Agent",
        [
            "Look for the newest `.dmbackup` file in `C:\\Skyline DataMiner\\Backup` and in the "
            "backup's network path (a folder per DMA ID), or in *System Center > Backup*.",
            "Confirm it is recent enough, or take a backup (and a VM snapshot) now.",
        ],
    ),
    "history": (
        "reads the upgrade history, so read it by hand",
        [
            "In Cube, *About > Versions* per Agent, or "
            "`C:\\Skyline DataMiner\\Upgrades\\VersionHistory.txt` on each server.",
        ],
    ),
    "progress": (
        "follows upgrades, so follow it in Cube",
        [
            "Watch the *Progress* tab of the upgrade window. To re-attach: *System Center > "
            "Agents*, right-click the Agent > *Upgrades*, right-click the package > *Attach*.",
            CONNECT_BY_HOST_NAME,
            "Each Agent's log is `progress.log` in the run's folder under "
            "`C:\\Skyline DataMiner\\Upgrades\\Packages`. The bot keeps watching states and "
            "versions.",
        ],
    ),
}


def manual_read(step: str) -> ManualStepRequired:
    summary, steps = _MANUAL_READS[step]
    return ManualStepRequired(step, summary, steps)
