"""The simulated DMS, the embedded default: ``adapter`` (how the DMS behaves over time),
``records`` (its Agents and runs), ``faults`` (what can be injected from config or tests)."""

from bot.agents.simulated.adapter import SimulatedAdapter

__all__ = ["SimulatedAdapter"]
