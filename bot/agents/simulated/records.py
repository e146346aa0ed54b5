"""What the simulated DMS holds: each Agent as it stands now, and each upgrade run with its
progress per Agent. ``adapter`` changes them as simulated time passes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from bot.agents.models import (
    AgentProgress,
    AgentState,
    HistoryEntry,
    InstalledSoftware,
    PackageFile,
    UpgradeRun,
    UpgradeStage,
)


@dataclass
class AgentRecord:
    id: int
    name: str
    address: str
    version: str
    state: AgentState
    installed: InstalledSoftware
    partner: str | None = None
    is_online: bool | None = None
    history: list[HistoryEntry] = field(default_factory=list)


@dataclass
class RunRecord:
    run_id: str
    package: PackageFile
    started_at: datetime
    log_path: str
    progress: dict[str, AgentProgress] = field(default_factory=dict)
    finished: bool = False
    failed: bool = False
    error: str | None = None
    finished_at: datetime | None = None
    task: asyncio.Task[None] | None = None

    def set(self, agent: str, stage: UpgradeStage, percent: int, message: str) -> None:
        self.progress[agent] = AgentProgress(
            agent=agent, stage=stage, percent=percent, message=message
        )

    def fail(self, error: str) -> None:
        """Marks the run failed; the first failure is the one the run reports."""
        self.failed = True
        self.error = self.error or error

    def to_model(self) -> UpgradeRun:
        return UpgradeRun(
            run_id=self.run_id,
            package=self.package.name,
            agents=list(self.progress.values()),
            finished=self.finished,
            failed=self.failed,
            error=self.error,
            log_path=self.log_path,
            started_at=self.started_at,
            finished_at=self.finished_at,
        )
