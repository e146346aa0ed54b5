"""Following one step of the night: progress in one coalesced message, the step's deadline,
the DMS going silent, the halt with Retry and Abort (written with the step's end, one
transaction), and watching a step a person runs in Cube. ``flow.py`` triggers steps and calls
these; nothing here starts anything on the DMS."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.agents.models import (
    AdapterError,
    UpgradeRun,
)
from bot.blocks import mention
from bot.context import BotContext
from bot.domain.models import Window
from bot.domain.proposal import ProposalDetails
from bot.domain.windows import to_slack_date
from bot.flows.execute.blocks import (
    halt_blocks,
    progress_blocks,
    progress_text,
    watch_blocks,
)
from bot.flows.propose.flow import refresh_proposal
from bot.threads import post_keyed
from storage import (
    Database,
    UpgradeStep,
    finish_step,
    list_steps,
)

log = logging.getLogger(__name__)


def step_allowance(window: Window, total: int, factor: float) -> timedelta:
    """How long one step may take before the bot stops waiting for it: ``factor`` times its
    share of the estimate's high end, and never under ten minutes."""
    estimate = ProposalDetails.model_validate(window.plan).estimate
    share = estimate.high / max(total, 1)
    return max(share * factor, MIN_STEP_ALLOWANCE)


MIN_STEP_ALLOWANCE = timedelta(minutes=10)
SILENT_POLLS = 3  # progress reads failing in a row before the thread is told


async def follow(ctx: BotContext, window: Window, step: UpgradeStep, total: int) -> bool:
    """Monitor one run until it ends; True when it succeeded. Past the step's deadline (from the
    estimate) the step is halted as not finished in time, with Retry (which attaches to the same
    run) and Abort, and the operators are mentioned (issue 15, D6)."""
    adapter = ctx.adapter(window.system)
    last_edit = 0.0
    last_shown = ""
    run: UpgradeRun | None = None
    startup = StartupWatch()
    deadline = step.started_at + step_allowance(window, total, ctx.step_deadline_factor)
    silent = 0
    while True:
        if ctx.now() >= deadline:
            await _out_of_time(ctx, window, step, run, deadline)
            return False
        try:
            run = await adapter.get_progress(step.run_id or "")
            silent = 0
        except AdapterError as error:
            # While agents restart their web API may not answer: expected, keep watching.
            log.info("%s: progress unavailable (%s); still watching", window.label, error)
            silent += 1
            if silent == SILENT_POLLS:
                await _say_silent(ctx, window, step, error, deadline)
            await asyncio.sleep(ctx.poll_seconds)
            continue
        except Exception:
            # A malformed answer or an adapter bug must not end the watch (issue 15, D5).
            log.exception("%s: reading progress failed unexpectedly; still watching", window.label)
            await asyncio.sleep(ctx.poll_seconds)
            continue
        startup.see(run)
        text, blocks = (
            progress_text(window, step, total, run),
            progress_blocks(window, step, total, run),
        )
        shown = f"{text}{blocks}"
        if shown != last_shown and (
            run.finished or time.monotonic() - last_edit >= ctx.progress_edit_seconds
        ):
            # Coalesced: no edit while nothing changed, at most one per progress_edit_seconds.
            try:
                await post_keyed(ctx, window, "progress", text, blocks)
                last_edit, last_shown = time.monotonic(), shown
            except Exception:
                log.exception("%s: the progress message could not be queued", window.label)
        # A failed run still settles on the other agents; report once DataMiner is done with it.
        if run.failed and run.finished:
            await finish_and_halt(
                ctx,
                window,
                step,
                run,
                status="failed",
                error=run.error or "the upgrade reported a failure",
                detail={"log_path": run.log_path},
            )
            return False
        if run.finished and not run.failed:
            await ctx.write(
                finish_step, step.id, status="done", at=ctx.now(), detail=startup.detail()
            )
            return True
        await asyncio.sleep(ctx.poll_seconds)


async def _say_silent(
    ctx: BotContext, window: Window, step: UpgradeStep, error: Exception, deadline: datetime
) -> None:
    """Once per step: the DMS stopped answering; the bot keeps watching until the deadline."""
    try:
        await post_keyed(
            ctx,
            window,
            f"silent:{step.id}",
            f"⚠️ {window.label} step {step.position}: the DMS does not answer ({error}). The bot "
            f"keeps watching until {to_slack_date(deadline)} and then stops the step.",
        )
    except Exception:
        log.exception("%s: could not queue the notice that the DMS is silent", window.label)


async def _out_of_time(
    ctx: BotContext,
    window: Window,
    step: UpgradeStep,
    run: UpgradeRun | None,
    deadline: datetime,
) -> None:
    allowed = deadline - step.started_at
    minutes = round(allowed.total_seconds() / 60)
    error = (
        f"not finished in time: the step was allowed {minutes} min from the estimate and the DMS "
        "does not report it done. Look in Cube (System Center > Agents > Upgrades); Retry "
        "watches the same run again, Abort ends the window."
    )
    await finish_and_halt(ctx, window, step, run, status="unknown", error=error)


class StartupWatch:
    """The slowest agent's start-up in a run ("starting" until done), as seen while polling;
    later estimates of this system use it instead of the configured ``startup_time``."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._seconds: dict[str, float] = {}

    def see(self, run: UpgradeRun) -> None:
        now = time.monotonic()
        for agent in run.agents:
            stage = str(agent.stage)
            if stage == "starting":
                self._started.setdefault(agent.agent, now)
            elif stage == "done" and agent.agent in self._started:
                self._seconds.setdefault(agent.agent, now - self._started[agent.agent])

    def detail(self) -> dict[str, float]:
        return {"startup_seconds": round(max(self._seconds.values()), 3)} if self._seconds else {}


async def halt(
    ctx: BotContext,
    window: Window,
    step: UpgradeStep,
    run: UpgradeRun | None,
    *,
    notify: bool = True,
    together: Callable[[Database], object] | None = None,
) -> None:
    """Stop and say what failed, where, the cluster's state, the logs and the choices;
    ``notify`` mentions the operators (a halted upgrade pings the people who must act), and the
    proposal's status line says it halted. ``together`` is written with the message."""
    try:
        cluster = await asyncio.wait_for(
            ctx.adapter(window.system).get_cluster(), ctx.adapter_timeout_seconds
        )
        agents = [(a.name, str(a.state), a.version) for a in cluster.agents]
    except (AdapterError, TimeoutError):
        agents = []
    await post_keyed(
        ctx,
        window,
        f"halt:{step.id}",
        f"❌ {window.label} stopped: step {step.position} ({step.package}) failed."
        + (f" {mention(ctx.config.roles.operators)}" if notify else ""),
        halt_blocks(window, step, run, agents),
        together=together,
    )
    await refresh_proposal(ctx, window, announce=False)  # the parent says halted


async def finish_and_halt(
    ctx: BotContext,
    window: Window,
    step: UpgradeStep,
    run: UpgradeRun | None,
    *,
    status: str,
    error: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """The step ends ``status`` ("failed" or "unknown") and its halt message, with Retry and
    Abort, is owed in the same transaction: never a halted step without its buttons."""
    now = ctx.now()
    ended = step.model_copy(update={"status": status, "finished_at": now, "error": error})

    def finish(db: Database) -> None:
        finish_step(db, step.id, status=status, at=now, error=error, detail=detail)

    await halt(ctx, window, ended, run, together=finish)


async def watch_by_hand(ctx: BotContext, window: Window, step: UpgradeStep) -> None:
    """While a person runs a step in Cube, show the agents' states and versions as the web API
    reports them (an agent that does not answer while it upgrades is expected)."""
    adapter = ctx.adapter(window.system)
    while _still_by_hand(ctx, window.id, step.id):
        try:
            cluster = await asyncio.wait_for(adapter.get_cluster(), ctx.adapter_timeout_seconds)
            lines = [f"`{a.name}` {a.state} {a.version}" for a in cluster.agents]
        except (AdapterError, TimeoutError):
            lines = ["(the cluster does not answer right now: expected while agents restart)"]
        await post_keyed(
            ctx,
            window,
            "progress",
            f"{window.label}: step {step.position} by hand, watching the agents.",
            watch_blocks(window, step, lines),
        )
        await asyncio.sleep(max(ctx.progress_edit_seconds, ctx.poll_seconds))


def _still_by_hand(ctx: BotContext, window_id: int, step_id: int) -> bool:
    return any(s.id == step_id and s.status == "running" for s in list_steps(ctx.db, window_id))
