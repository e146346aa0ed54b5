"""What an agent adapter reports about a DataMiner System (DMS), as frozen pydantic models.

Names follow DataMiner: an Agent (DMA) has an ID, a name, a primary IP and a raw version such as
``10.3.0.0-13012``; a cluster upgrade is driven by one ``.dmupgrade`` package at a time.
What a package is, and the cluster's verdict on uploading it, live in ``upgrade_packages`` and
are importable from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.agents.upgrade_packages import PackageFile as PackageFile
from bot.agents.upgrade_packages import PackageKind as PackageKind
from bot.agents.upgrade_packages import UploadReport as UploadReport
from bot.agents.upgrade_packages import UploadResult as UploadResult
from bot.agents.upgrade_packages import is_upgrade_package as is_upgrade_package
from bot.agents.upgrade_packages import package_kind as package_kind
from bot.agents.upgrade_packages import package_version as package_version
from bot.agents.upgrade_packages import prerequisite_check as prerequisite_check
from bot.domain.errors import UpgradeBotError

_FROZEN = ConfigDict(frozen=True)


class AgentState(StrEnum):
    """An Agent's state as DMAInfo ``Status`` and Cube's node states name it.

    ``upgrading`` is ours: DataMiner shows such an Agent as Disconnected because its web API is
    down while it installs, but the adapter knows it is in an upgrade run it watches.
    """

    RUNNING = "running"
    STARTING = "starting"
    STOPPED = "stopped"  # Cube: "Not running"
    SWITCHING = "switching"  # a Failover pair is changing its online Agent
    DISCONNECTED = "disconnected"  # no answer from the Agent
    UNKNOWN = "unknown"
    UPGRADING = "upgrading"

    @property
    def label(self) -> str:
        """DataMiner's own wording, for messages."""
        return _STATE_LABELS[self]

    @classmethod
    def from_dataminer(cls, text: str) -> AgentState:
        """Reads DMAInfo ``Status`` or a Cube node state; anything unfamiliar is ``unknown``."""
        wanted = text.strip().casefold()
        for state, label in _STATE_LABELS.items():
            if label.casefold() == wanted:
                return state
        return cls.UNKNOWN


_STATE_LABELS: dict[AgentState, str] = {
    AgentState.RUNNING: "Running",
    AgentState.STARTING: "Starting",
    AgentState.STOPPED: "Not running",
    AgentState.SWITCHING: "Switching",
    AgentState.DISCONNECTED: "Disconnected",
    AgentState.UNKNOWN: "Unknown",
    AgentState.UPGRADING: "Upgrading",
}


class AgentInfo(BaseModel):
    """One DMA as the cluster sees it.

    ``version`` is raw, exactly as the Agent reports it; for an Agent that does not answer it
    is the last version the adapter knew. ``is_online`` is True or False for the two members of
    a Failover pair and None for an Agent outside a pair.
    """

    model_config = _FROZEN

    id: int
    name: str
    address: str
    version: str
    state: AgentState
    failover_partner: str | None = None
    is_online: bool | None = None


class Cluster(BaseModel):
    model_config = _FROZEN

    name: str
    agents: list[AgentInfo]

    def agent(self, name: str) -> AgentInfo:
        for info in self.agents:
            if info.name == name:
                return info
        raise KeyError(name)

    @property
    def versions(self) -> dict[str, str]:
        return {info.name: info.version for info in self.agents}


class Severity(StrEnum):
    """Alarm severities, most severe first (the order ``rank`` uses)."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"
    TIMEOUT = "timeout"
    ERROR = "error"
    NOTICE = "notice"
    INFORMATION = "information"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        """0 for critical; a higher number is less severe."""
        return list(Severity).index(self)


class Alarm(BaseModel):
    """An active alarm. ``id`` is DataMiner's ``<DataMinerID>/<AlarmID>``."""

    model_config = _FROZEN

    id: str
    agent: str
    element: str
    parameter: str
    severity: Severity
    value: str
    since: datetime


class AlarmSummary(BaseModel):
    """Active alarms of the cluster. ``counts`` may exceed what ``alarms`` lists when the
    adapter fetched only the first alarms; a severity absent from ``counts`` has none."""

    model_config = _FROZEN

    counts: dict[Severity, int]
    alarms: list[Alarm]

    @classmethod
    def from_alarms(cls, alarms: list[Alarm]) -> AlarmSummary:
        counts: dict[Severity, int] = {}
        for alarm in alarms:
            counts[alarm.severity] = counts.get(alarm.severity, 0) + 1
        return cls(counts=counts, alarms=alarms)

    def count(self, *severities: Severity) -> int:
        """How many active alarms have any of these severities."""
        return sum(self.counts.get(severity, 0) for severity in severities)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def worst(self, n: int) -> list[Alarm]:
        """The ``n`` most severe alarms; among equals, the longest-standing first."""
        return sorted(self.alarms, key=lambda a: (a.severity.rank, a.since))[:n]


class InstalledSoftware(BaseModel):
    """What the upgrade's requirement checks look at on one DMA's server."""

    model_config = _FROZEN

    dotnet_framework: str  # ".NET Framework" release, e.g. "4.8"
    aspnet_core: list[str]  # ASP.NET Core Hosting Bundle versions, e.g. ["6.0.13", "8.0.11"]
    vcpp: str  # newest Visual C++ 2015+ redistributable, e.g. "14.40.33816.0"
    os: str  # e.g. "Windows Server 2022"
    free_disk_bytes: int = Field(ge=0)


class AgentRequirements(BaseModel):
    model_config = _FROZEN

    agent: str
    installed: InstalledSoftware


FailoverPolicy = Literal[
    "simultaneously", "backup_first", "backup_first_with_switchback", "use_default"
]


class UpgradeOptions(BaseModel):
    """How to run one package step. ``simultaneously`` upgrades both Agents of a Failover pair
    at once, which DataMiner recommends; the backup-first policies are legacy."""

    model_config = _FROZEN

    all_agents: bool = True
    agents: list[str] = Field(default_factory=list)  # only when all_agents is False
    failover_policy: FailoverPolicy = "simultaneously"

    @model_validator(mode="after")
    def _agents_match_all_agents(self) -> UpgradeOptions:
        if self.all_agents == bool(self.agents):
            raise ValueError("name agents exactly when all_agents is false")
        return self


class UpgradeStage(StrEnum):
    PENDING = "pending"  # uploaded; waiting for its turn (backup-first policies)
    UPLOADING = "uploading"  # copying the package and running its prerequisite checks
    INSTALLING = "installing"  # DataMiner stopped; its web API does not answer
    STARTING = "starting"
    DONE = "done"
    FAILED = "failed"
    ABORTED = "aborted"  # stopped because another Agent failed


class AgentProgress(BaseModel):
    model_config = _FROZEN

    agent: str
    stage: UpgradeStage
    percent: int = Field(ge=0, le=100)
    message: str = ""


class UpgradeRun(BaseModel):
    """One package step on the cluster. ``failed`` can turn True before ``finished`` when other
    Agents are still completing their own install; ``finished`` means nothing moves any more.
    ``log_path`` is the run's progress.log on the DMA."""

    model_config = _FROZEN

    run_id: str
    package: str
    agents: list[AgentProgress]
    finished: bool
    failed: bool
    error: str | None = None
    log_path: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return not self.finished

    def progress_of(self, agent: str) -> AgentProgress:
        for progress in self.agents:
            if progress.agent == agent:
                return progress
        raise KeyError(agent)


class HistoryEntry(BaseModel):
    """One line of an Agent's VersionHistory.txt: the version it first started on, and when."""

    model_config = _FROZEN

    agent: str
    version: str
    at: datetime


# --- failures (the tree is drawn in base.py) ----------------------------------------------


class AdapterError(UpgradeBotError):
    """The DMS could not do what was asked; the message says what and where."""


class AgentUnreachable(AdapterError):
    def __init__(
        self, agent: str, operation: str | None = None, others: Sequence[str] = ()
    ) -> None:
        self.agent = agent
        self.operation = operation
        self.others = list(others)
        also = f" (nor did {', '.join(self.others)})" if self.others else ""
        doing = f" while {operation}" if operation else ""
        super().__init__(f"DataMiner Agent {agent} did not answer{doing}{also}.")


class AdapterTimeout(AdapterError):
    def __init__(self, operation: str, timeout_seconds: float, agent: str | None = None) -> None:
        self.operation = operation
        self.timeout_seconds = timeout_seconds
        self.agent = agent
        where = f" on DataMiner Agent {agent}" if agent else ""
        super().__init__(f"No answer within {timeout_seconds:g} s{where} while {operation}.")


class AnswerLost(AdapterTimeout):
    """A request that changes the DMS reached it, but its answer did not come back (the
    connection dropped after the request was sent): the DMS may have done it. Never sent
    again blindly; the caller asks the DMS what it did (issue 15)."""

    def __init__(self, operation: str, timeout_seconds: float, agent: str | None = None) -> None:
        self.operation = operation
        self.timeout_seconds = timeout_seconds
        self.agent = agent
        where = f" from DataMiner Agent {agent}" if agent else ""
        AdapterError.__init__(
            self,
            f"The answer{where} was lost while {operation}: the request was sent, so the DMS "
            "may have done it.",
        )


class UpgradeInProgress(AdapterError):
    def __init__(self, run_id: str, package: str) -> None:
        self.run_id = run_id
        self.package = package
        super().__init__(
            f"An upgrade is already running on this DMS ({package}, run {run_id}); DataMiner "
            "runs one upgrade at a time. Wait for it to finish."
        )


class UnknownRun(AdapterError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"The DMS knows no upgrade run {run_id}.")


class InvalidPackage(AdapterError):
    def __init__(self, package: str, reason: str) -> None:
        self.package = package
        self.reason = reason
        super().__init__(f"DataMiner cannot install {package}: {reason}.")


class ManualStepRequired(AdapterError):
    """No upgradebot route on this DMS does this step, so a person does it in DataMiner Cube.
    The message is the instruction to post (Slack mrkdwn: *bold* UI names, `code` paths);
    ``step`` names what was asked."""

    def __init__(self, step: str, summary: str, instructions: Sequence[str]) -> None:
        self.step = step
        self.instructions = list(instructions)
        lines = "\n".join(f"{n}. {line}" for n, line in enumerate(self.instructions, 1))
        super().__init__(f"No upgradebot route on this DMS {summary}:\n{lines}")
