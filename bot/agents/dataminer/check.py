"""``upgradebot check-dms <system>``: what the dataminer adapter can read on a real DMS with the
configured settings, per Agent and per read, and why what failed failed. Only reads: nothing
on the DMS changes (no upload, no upgrade), and the sessions it made are logged out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.agents.dataminer.adapter import DataMinerAdapter
from bot.agents.models import AdapterError, Cluster, ManualStepRequired


async def check_dms(adapter: DataMinerAdapter) -> tuple[str, bool]:
    """The report, and whether everything the configuration asks for could be read."""
    lines = [f"DataMiner system {adapter.name}: {adapter.url}"]
    healthy = True
    try:
        cluster = await adapter.get_cluster()
    except AdapterError as error:
        lines.append(f"✗ cluster (GetDataMinerAgentsInfo): {error}")
        await adapter.close()
        return "\n".join(lines), False
    lines.append(f"✓ cluster (GetDataMinerAgentsInfo): {len(cluster.agents)} Agent(s)")
    lines += _agents(adapter, cluster)
    healthy &= all(agent.version != "unknown" for agent in cluster.agents)
    healthy &= not adapter.agent_problems and not adapter.route_problems
    for problem in adapter.route_problems.values():
        lines.append(f"✗ optional {problem}")
    reads: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("alarms (GetActiveAlarms)", adapter.get_alarms),
        ("installed software (route requirements)", adapter.get_requirements),
        ("backups (route backups)", adapter.get_latest_backups),
        ("upgrade history (route history)", adapter.get_history),
        ("upgrade runs (route upgrades)", adapter.find_runs),
    ]
    for label, read in reads:
        try:
            result = await read()
        except ManualStepRequired:
            lines.append(f"– {label}: no route configured; checked by hand in manual mode")
        except AdapterError as error:
            healthy = False
            lines.append(f"✗ {label}: {error}")
        else:
            lines.append(f"✓ {label}: {_count(result)}")
    logins = ", ".join(f"{where} {n}" for where, n in sorted(adapter.logins().items()))
    lines.append(f"logins made: {logins or 'none'} (logged out now)")
    await adapter.close()
    return "\n".join(lines), healthy


def _agents(adapter: DataMinerAdapter, cluster: Cluster) -> list[str]:
    lines = []
    for agent in cluster.agents:
        mark = (
            "✓" if agent.version != "unknown" and agent.name not in adapter.agent_problems else "✗"
        )
        partner = f", Failover with {agent.failover_partner}" if agent.failover_partner else ""
        lines.append(
            f"  {mark} {agent.name} (ID {agent.id}, {adapter.agent_url(agent.name, agent.address)})"
            f": {agent.state.label}, version {agent.version}{partner}"
        )
        if (problem := adapter.agent_problems.get(agent.name)) is not None:
            lines.append(f"      {problem}")
    return lines


def _count(result: Any) -> str:
    if hasattr(result, "total"):
        return f"{result.total} active alarm(s)"
    if isinstance(result, dict | list):
        return f"{len(result)} item(s)"
    return "read"
