"""The agent adapter port: how the bot reads and drives a DataMiner System, whatever is behind it.

Failures the port raises (defined in ``models.py``, importable from either module; each builds
its own sentence, so a listener shows ``str(error)``)::

    UpgradeBotError                 bot/domain/errors.py
    └── AdapterError                the DMS could not do what was asked
        ├── AgentUnreachable        one Agent (or every Agent) did not answer
        ├── AdapterTimeout          an answer took longer than the adapter waits
        ├── UpgradeInProgress       DataMiner runs one upgrade at a time
        ├── UnknownRun              no upgrade run with that id
        └── InvalidPackage          the file is not something DataMiner installs

How an unreachable Agent shows, the same for every adapter:

- ``get_cluster`` and ``get_alarms`` never raise for one Agent: the Agent is listed as
  ``disconnected`` (but ``upgrading`` while an upgrade run installs on it, its web API being
  down then, and ``stopped`` when the install failed there) and its alarms are left out. They
  raise ``AgentUnreachable`` only when no Agent answers.
- ``get_requirements``, ``get_latest_backups`` and ``get_history`` need every Agent's own
  answer, so they raise ``AgentUnreachable`` naming the Agent (the first in cluster order;
  ``others`` lists the rest), or ``AdapterTimeout`` for an Agent that answers too slowly.
- ``upload_only`` never raises for an Agent: the report is the per-Agent verdict, and an
  Agent that did not answer gets a failed result saying so (which fails the report).
- ``start_upgrade`` raises ``AgentUnreachable`` before anything starts, and
  ``AdapterTimeout`` when the request may have reached the DMS but no answer came back (it is
  then never sent again, to this Agent or another: the run may exist).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.agents.models import (
    AdapterError,
    AdapterTimeout,
    AgentRequirements,
    AgentUnreachable,
    AlarmSummary,
    Cluster,
    HistoryEntry,
    InvalidPackage,
    PackageFile,
    UnknownRun,
    UpgradeInProgress,
    UpgradeOptions,
    UpgradeRun,
    UploadReport,
)

__all__ = [
    "AdapterError",
    "AdapterTimeout",
    "AgentAdapter",
    "AgentUnreachable",
    "InvalidPackage",
    "UnknownRun",
    "UpgradeInProgress",
]


class AgentAdapter(Protocol):
    """One DataMiner System. Every call is a request to the DMS; calls that touch several
    Agents ask them concurrently, so their cost is the slowest Agent's, not the sum."""

    async def get_cluster(self) -> Cluster:
        """Every Agent with its version, state and Failover partner."""
        ...

    async def get_alarms(self) -> AlarmSummary:
        """Active alarms of the cluster, counted by severity."""
        ...

    async def get_requirements(self) -> list[AgentRequirements]:
        """What is installed on every Agent's server (.NET, OS, free disk), in cluster order."""
        ...

    async def get_latest_backups(self) -> dict[str, datetime | None]:
        """When each Agent's newest DataMiner backup was taken; None if it has none."""
        ...

    async def upload_only(self, packages: list[PackageFile]) -> UploadReport:
        """Copy the packages to every Agent without installing ("Upload only"). Each package's
        prerequisite checks run on every Agent; one result per Agent and package."""
        ...

    async def start_upgrade(self, package: PackageFile, options: UpgradeOptions) -> str:
        """Start installing one package and return the run id at once; the run continues on
        the DMS. Raises ``UpgradeInProgress`` while another run is active."""
        ...

    async def get_progress(self, run_id: str) -> UpgradeRun:
        """Where a run stands, per Agent. Raises ``UnknownRun`` for an id the DMS never had."""
        ...

    async def find_runs(self) -> list[UpgradeRun]:
        """Every run the DMS knows, oldest first, so a restarted bot can re-attach to an
        active one (never re-trigger it)."""
        ...

    async def get_history(self) -> list[HistoryEntry]:
        """Every Agent's upgrade history (VersionHistory.txt), oldest first."""
        ...

    async def close(self) -> None:
        """Release connections. An upgrade run in progress carries on on the DMS. Idempotent."""
        ...
