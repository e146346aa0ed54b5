"""Start and stop the whole sandbox: the Slack stand-in, the real bot in HTTP mode, the page.

The bot is built by ``bot.runtime`` exactly as ``upgradebot serve --http`` builds it; only its
settings differ (a random token and signing secret, ``SLACK_API_URL`` pointing at the stub, a
database of its own) and its clock, which the page can move forward. The simulated DMSs get the
same clock through build_context, so a backup taken "last night" is last night in sandbox time.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.agents import SimulatedAdapter
from bot.runtime import Running
from bot.sandbox.render import Names
from bot.sandbox.slack_stub import SlackStub
from bot.settings import Config

log = logging.getLogger(__name__)

ADMIN_GROUP = "S0ADMINS"
TRAVEL_STEPS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
FAULTS = ("critical_alarm", "unreachable", "failing_prerequisite", "fail_upgrade")
FAILING_CHECK = "VerifyClusterPorts"


@dataclass(frozen=True)
class SandboxUser:
    id: str
    name: str
    role: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})"


# The people of examples/upgradebot.yml: approvers [S0ADMINS, U0ANNA], operators [U0OLGA, U0ALEX].
DEFAULT_USERS = (
    SandboxUser("U0OLGA", "Olga", "proposer/operator"),
    SandboxUser("U0ANNA", "Anna", "approver"),
    SandboxUser("U0ALEX", "Alex", "operator"),
    SandboxUser("U0EVE", "Eve", "no role"),
    SandboxUser("U0BOB", "Bob", f"approver via {ADMIN_GROUP}"),
)


class SandboxClock:
    """Real UTC time plus an offset that only grows: the bot's clock in the sandbox."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        self.offset += delta


def sandbox_users(config: Config) -> list[SandboxUser]:
    """The default people, then anyone else the config names in a role (their own ids)."""
    users = list(DEFAULT_USERS)
    known = {user.id for user in users}
    roles = config.roles
    for role, ids in (
        ("approver", roles.approvers),
        ("operator", roles.operators),
        ("proposer", roles.proposers),
    ):
        for user_id in ids:
            if user_id.startswith(("U", "W")) and user_id not in known:
                users.append(SandboxUser(user_id, user_id, role))
                known.add(user_id)
    return users


def channel_names(config: Config) -> dict[str, str]:
    names: dict[str, str] = {}
    for system, spec in config.systems.items():
        names.setdefault(spec.channel, f"upgrades-{system}")
    return names


def example_command(config: Config, now: datetime) -> str:
    """A propose command that works now: ~7 days ahead at 22:00, outside any blackout."""
    system = sorted(config.systems)[0]
    day = now.astimezone(config.tz).date() + timedelta(days=7)
    blackouts = config.local_blackouts()
    for _ in range(60):
        start = datetime.combine(day, datetime.min.time(), config.tz).replace(hour=22)
        if not any(begin <= start < end for _, begin, end in blackouts):
            break
        day += timedelta(days=1)
    return f"/upgrade propose {system} 10.5 {day.isoformat()}T22:00 4h"


@dataclass
class Sandbox:
    config: Config
    stub: SlackStub
    running: Running
    clock: SandboxClock
    secret: str
    users: list[SandboxUser]
    names: Names
    url: str = ""
    page_runner: web.AppRunner | None = None
    page: Any = None  # bot.sandbox.server.Page: what each open page is sent
    temp_dir: Path | None = None
    travel_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stopped: bool = False

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.running.port}/slack/events"

    @property
    def scheduler(self) -> Any:
        # bot/scheduler.py hangs the scheduler on the context; a Running may carry one too.
        return getattr(self.running, "scheduler", None) or getattr(
            self.running.ctx, "scheduler", None
        )

    # ---- time travel

    async def clock_state(self) -> dict[str, Any]:
        scheduler = self.scheduler
        next_due = await _maybe_await(scheduler.next_due()) if scheduler is not None else None
        return {
            "now": self.clock().isoformat(),
            "offset_seconds": self.clock.offset.total_seconds(),
            "next_due": next_due.isoformat() if next_due else None,
            "has_scheduler": scheduler is not None,
        }

    async def travel(self, amount: str) -> dict[str, Any]:
        """Move the bot's clock (15m, 1h, 1d or next), then let the scheduler run what is due."""
        async with self.travel_lock:
            scheduler = self.scheduler
            if amount == "next":
                due = (
                    await _maybe_await(scheduler.next_due(visible_only=True)) if scheduler else None
                )
                if due is None:
                    return {"moved": False, "ran": 0, "message": "nothing scheduled"}
                self.clock.advance(max(due - self.clock(), timedelta(0)))
            elif amount in TRAVEL_STEPS:
                self.clock.advance(TRAVEL_STEPS[amount])
            else:
                raise ValueError(f"unknown amount {amount!r}; use one of 15m, 1h, 1d, next")
            ran = await self.run_due()
            return {"moved": True, "ran": ran, "message": f"ran {ran} scheduled action(s)"}

    async def run_due(self) -> int:
        scheduler = self.scheduler
        if scheduler is None:
            return 0
        return int(await _maybe_await(scheduler.run_due()) or 0)

    # ---- fault drill

    def simulated(self) -> dict[str, SimulatedAdapter]:
        return {
            name: adapter
            for name, adapter in self.running.ctx.adapters.items()
            if isinstance(adapter, SimulatedAdapter)
        }

    def faults_state(self) -> list[dict[str, Any]]:
        systems = []
        for name, adapter in sorted(self.simulated().items()):
            agents = self.config.systems[name].adapter.options().get("agents") or []
            faults = adapter.faults
            systems.append(
                {
                    "system": name,
                    "agents": [str(a.get("name")) for a in agents if isinstance(a, dict)],
                    "critical_alarm": faults.critical_alarm,
                    "unreachable": sorted(faults.unreachable),
                    "failing_prerequisite": dict(faults.failing_prerequisite),
                    "fail_upgrade": dict(faults.fail_upgrade),
                }
            )
        return systems

    def set_fault(self, system: str, fault: str, agent: str | None, on: bool) -> None:
        """Inject (``on``) or clear one fault; ``fault="all"`` with ``on=False`` clears them all."""
        adapter = self.simulated().get(system)
        if adapter is None:
            raise ValueError(f"{system!r} is not a simulated system")
        faults = adapter.faults
        if fault == "all" and not on:
            faults.critical_alarm = False
            faults.unreachable.clear()
            faults.failing_prerequisite.clear()
            faults.fail_upgrade.clear()
            return
        if fault == "critical_alarm":
            faults.critical_alarm = on
            return
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        agents = next(s["agents"] for s in self.faults_state() if s["system"] == system)
        if agent is None or agent not in agents:
            raise ValueError(f"{agent!r} is not an agent of {system}")
        if fault == "unreachable":
            (faults.unreachable.add if on else faults.unreachable.discard)(agent)
        elif fault == "failing_prerequisite":
            _toggle(faults.failing_prerequisite, agent, FAILING_CHECK, on)
        else:
            _toggle(faults.fail_upgrade, agent, 1, on)

    # ---- lifecycle

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.page_runner is not None:
            await self.page_runner.cleanup()
        await self.running.stop()
        await self.stub.stop()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def _toggle(mapping: dict[str, Any], key: str, value: Any, on: bool) -> None:
    if on:
        mapping[key] = value
    else:
        mapping.pop(key, None)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
