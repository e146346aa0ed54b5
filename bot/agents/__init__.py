"""The agent adapter port (``AgentAdapter``), its models and errors, and the adapters behind it.

``build_adapter`` turns a system's ``adapter:`` block of the config file into an adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.agents.base import (
    AdapterError,
    AdapterTimeout,
    AgentAdapter,
    AgentUnreachable,
    InvalidPackage,
    UnknownRun,
    UpgradeInProgress,
)
from bot.agents.dataminer import DataMinerAdapter, DataMinerOptions
from bot.agents.models import (
    AgentInfo,
    AgentProgress,
    AgentRequirements,
    AgentState,
    Alarm,
    AlarmSummary,
    Cluster,
    HistoryEntry,
    InstalledSoftware,
    PackageFile,
    PackageKind,
    Severity,
    UpgradeOptions,
    UpgradeRun,
    UpgradeStage,
    UploadReport,
    UploadResult,
)
from bot.agents.simulated import SimulatedAdapter
from bot.agents.simulated.faults import SimAgent, SimFaults, check_layout

__all__ = [
    "AdapterError",
    "AdapterTimeout",
    "AgentAdapter",
    "AgentInfo",
    "AgentProgress",
    "AgentRequirements",
    "AgentState",
    "AgentUnreachable",
    "Alarm",
    "AlarmSummary",
    "Cluster",
    "HistoryEntry",
    "InstalledSoftware",
    "InvalidPackage",
    "PackageFile",
    "PackageKind",
    "Severity",
    "SimAgent",
    "SimFaults",
    "SimulatedAdapter",
    "SimulatedOptions",
    "UnknownRun",
    "UpgradeInProgress",
    "UpgradeOptions",
    "UpgradeRun",
    "UpgradeStage",
    "UploadReport",
    "UploadResult",
    "build_adapter",
]

ADAPTER_KINDS = ("simulated", "dataminer")


class SimulatedOptions(BaseModel):
    """The ``adapter:`` block of a system with ``kind: simulated``."""

    model_config = ConfigDict(extra="forbid")

    step_seconds: float = Field(2.0, ge=0, description="how long each simulated stage takes")
    latency_seconds: float = Field(0.0, ge=0, description="added to every simulated request")
    timeout_seconds: float = Field(30.0, gt=0, description="slower answers fail with a timeout")
    check_requirements: bool = Field(
        True, description="fail .NET and OS prerequisite checks that the servers do not meet"
    )
    agents: list[SimAgent] = Field(min_length=1)
    faults: SimFaults = Field(default_factory=SimFaults)

    @model_validator(mode="after")
    def _layout_is_sound(self) -> SimulatedOptions:
        check_layout(self.agents)
        return self


def build_adapter(
    kind: str,
    name: str,
    options: Mapping[str, Any],
    clock: Callable[[], datetime] | None = None,
) -> AgentAdapter:
    """The adapter for system ``name``. Raises ValueError naming the offending key.

    ``clock`` is the bot's clock; the simulator stamps backups and history with it, so the
    sandbox's time travel and the tests see a consistent world."""
    if kind == "simulated":
        block = {key: value for key, value in options.items() if key != "kind"}
        try:
            parsed = SimulatedOptions.model_validate(block)
        except ValidationError as error:
            raise ValueError(_describe(name, error)) from error
        return SimulatedAdapter(
            name,
            parsed.agents,
            step_seconds=parsed.step_seconds,
            latency_seconds=parsed.latency_seconds,
            timeout_seconds=parsed.timeout_seconds,
            check_requirements=parsed.check_requirements,
            faults=parsed.faults,
            clock=clock,
        )
    if kind == "dataminer":
        block = {key: value for key, value in options.items() if key != "kind"}
        try:
            dataminer = DataMinerOptions.model_validate(block)
        except ValidationError as error:
            raise ValueError(_describe(name, error)) from error
        return DataMinerAdapter.from_options(name, dataminer)
    raise ValueError(
        f"systems.{name}.adapter.kind: unknown adapter kind {kind!r}; "
        f"expected one of {', '.join(ADAPTER_KINDS)}."
    )


def _describe(name: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in (f"systems.{name}.adapter", *item["loc"]))
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)
