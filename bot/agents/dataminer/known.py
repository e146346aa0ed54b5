"""What the dataminer adapter last learned of each Agent, and the state it reports for an Agent
that does not answer: DataMiner's word while it answers, else what the watched upgrade run says.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.agents.dataminer.webapi import DmaInfo
from bot.agents.models import AgentState, UpgradeRun, UpgradeStage


@dataclass
class KnownAgent:
    """What the adapter last learned of one Agent. The version is read again when DataMiner
    reports a change on the Agent (status or LastChangeUTC) or after ``version_max_age``."""

    info: DmaInfo
    url: str
    version: str | None = None
    version_key: tuple[str, int] | None = None
    version_read_at: float = 0.0


def agent_state(
    name: str, reported: AgentState, answering: bool, runs: dict[str, UpgradeRun]
) -> AgentState:
    """DataMiner's word, unless the Agent is silent: then what the watched run says."""
    if answering and reported is not AgentState.DISCONNECTED:
        return reported
    if reported in (AgentState.STARTING, AgentState.SWITCHING):
        return reported  # DataMiner knows it is coming up; its web API may lag
    stage, finished = _run_stage(name, runs)
    if stage is UpgradeStage.FAILED:
        return AgentState.STOPPED
    if (
        stage is not None
        and not finished
        and stage not in (UpgradeStage.DONE, UpgradeStage.ABORTED)
    ):
        return AgentState.UPGRADING
    return AgentState.DISCONNECTED


def _run_stage(name: str, runs: dict[str, UpgradeRun]) -> tuple[UpgradeStage | None, bool]:
    """The Agent's stage in the newest run that includes it, and whether that run ended."""
    for run in reversed(runs.values()):
        if not run.agents:
            return UpgradeStage.PENDING, run.finished
        for progress in run.agents:
            if progress.agent == name:
                return progress.stage, run.finished
    return None, True


def answers(info: DmaInfo) -> bool:
    return AgentState.from_dataminer(info.status) is not AgentState.DISCONNECTED


def version_key(info: DmaInfo) -> tuple[str, int]:
    return info.status, info.last_change_utc
