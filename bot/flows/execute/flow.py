"""The night: each package of the plan in order through the agent adapter, progress in one
edited message, a stop at the first failure, and re-attaching after a restart.

Exactly once: a step's row is written before the adapter is asked to start it, and the run id
after. A restart re-attaches to a running step; a step whose trigger may or may not have reached
the DMS is looked up on the adapter and never triggered blindly again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from bot.agents.models import (
    AdapterError,
    AdapterTimeout,
    ManualStepRequired,
    UpgradeOptions,
    UpgradeRun,
)
from bot.context import BotContext
from bot.domain.errors import NotAllowed, UpgradeBotError
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.proposal import ProposalDetails
from bot.evidence.packages import package_files
from bot.flows.execute.blocks import (
    halt_blocks,
    manual_blocks,
    progress_blocks,
    progress_text,
    watch_blocks,
)
from bot.flows.propose.flow import refresh_proposal
from bot.flows.verify.flow import finish_execution
from bot.threads import post_keyed
from bot.transitions import move
from storage import (
    StepAlreadyTriggered,
    UpgradeStep,
    begin_step,
    finish_step,
    list_hotfixes,
    list_steps,
    list_windows,
    record_ack,
    set_step_run,
)

log = logging.getLogger(__name__)


MANUAL = "manual"  # the run id of a step a person runs in Cube
UNCONFIRMED = (
    "The DMS did not confirm whether the upgrade started: look in Cube (System Center > Agents >"
    " Upgrades) before you retry."
)


def execution_items(window: Window, hotfixes: Sequence[str] = ()) -> list[str]:
    """The packages in the order they run: each step's prerequisite-only packages, then it;
    the hotfixes attached at G2 last."""
    return [package for package, _ in execution_plan(window, hotfixes)]


def execution_plan(window: Window, hotfixes: Sequence[str] = ()) -> list[tuple[str, str | None]]:
    """(package, the version every agent runs after it) in order; None for prerequisite-only
    packages and hotfixes (installed after the last step), which are checked by their run."""
    plan = ProposalDetails.model_validate(window.plan).plan
    items: list[tuple[str, str | None]] = []
    for step in plan.steps:
        items.extend((package, None) for package in step.prerequisite_packages)
        items.append((step.package, step.to_label))
    return items + [(hotfix, None) for hotfix in hotfixes]


def _store_name(ctx: BotContext, wanted: str) -> str:
    """The file in the package store for a (possibly globbed) package name."""
    if not any(c in wanted for c in "*?["):
        return wanted
    matches = sorted(p.name for p in Path(ctx.config.packages.dir).glob(wanted))
    return matches[0] if len(matches) == 1 else wanted


async def run_from(
    ctx: BotContext, window: Window, position: int, attempt: int, actor: str
) -> None:
    """Trigger and follow every item from ``position``; stop at the first failure."""
    items = execution_items(window, list_hotfixes(ctx.db, window.id))
    for index in range(position, len(items) + 1):
        name = _store_name(ctx, items[index - 1])
        try:
            step = begin_step(
                ctx.db,
                window_id=window.id,
                position=index,
                attempt=attempt if index == position else 1,
                package=name,
                at=ctx.now(),
                actor=actor,
            )
        except StepAlreadyTriggered:
            log.error("%s: step %s already triggered; not triggering again", window.label, index)
            return
        try:
            (package,) = package_files(ctx.config.packages.dir, [name])
            run_id = await ctx.adapter(window.system).start_upgrade(
                package, UpgradeOptions(all_agents=True, failover_policy="simultaneously")
            )
        except ManualStepRequired as manual:
            step = set_step_run(ctx.db, step.id, run_id=MANUAL, at=ctx.now())
            await post_keyed(
                ctx,
                window,
                f"manual:{step.id}",
                f"✋ {window.label} step {step.position}: a person runs it in Cube.",
                manual_blocks(window, step, manual.instructions, None),
            )
            ctx.spawn(watch_by_hand(ctx, window, step))
            return
        except AdapterTimeout as error:
            # The request may have reached the DMS: never offer a blind retry as if it had not.
            step = finish_step(
                ctx.db, step.id, status="unknown", at=ctx.now(), error=f"{error} {UNCONFIRMED}"
            )
            await halt(ctx, window, step, None)
            return
        except (UpgradeBotError, OSError, ValueError) as error:
            # Refused before anything started: a missing package, an agent down, a run active.
            step = finish_step(ctx.db, step.id, status="failed", at=ctx.now(), error=str(error))
            await halt(ctx, window, step, None)
            return
        except Exception as error:
            log.exception("%s: triggering step %s failed unexpectedly", window.label, index)
            step = finish_step(
                ctx.db,
                step.id,
                status="unknown",
                at=ctx.now(),
                error=f"{type(error).__name__}: {error}. {UNCONFIRMED}",
            )
            await halt(ctx, window, step, None)
            return
        step = set_step_run(ctx.db, step.id, run_id=run_id, at=ctx.now())
        if not await follow(ctx, window, step, len(items)):
            return

    await finish_execution(ctx, window)


async def follow(ctx: BotContext, window: Window, step: UpgradeStep, total: int) -> bool:
    """Monitor one run until it ends; True when it succeeded."""
    adapter = ctx.adapter(window.system)
    last_edit = 0.0
    run: UpgradeRun | None = None
    startup = StartupWatch()
    while True:
        try:
            run = await adapter.get_progress(step.run_id or "")
        except AdapterError as error:
            # While agents restart their web API may not answer: expected, keep watching.
            log.info("%s: progress unavailable (%s); still watching", window.label, error)
            await asyncio.sleep(ctx.poll_seconds)
            continue
        startup.see(run)
        if run.finished or time.monotonic() - last_edit >= ctx.progress_edit_seconds:
            await post_keyed(
                ctx,
                window,
                "progress",
                progress_text(window, step, total, run),
                progress_blocks(window, step, total, run),
            )
            last_edit = time.monotonic()
        # A failed run still settles on the other agents; report once DataMiner is done with it.
        if run.failed and run.finished:
            done = finish_step(
                ctx.db,
                step.id,
                status="failed",
                at=ctx.now(),
                error=run.error or "the upgrade reported a failure",
                detail={"log_path": run.log_path},
            )
            await halt(ctx, window, done, run)
            return False
        if run.finished and not run.failed:
            finish_step(ctx.db, step.id, status="done", at=ctx.now(), detail=startup.detail())
            return True
        await asyncio.sleep(ctx.poll_seconds)


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


async def halt(ctx: BotContext, window: Window, step: UpgradeStep, run: UpgradeRun | None) -> None:
    """Stop and say what failed, where, the cluster's state, the logs and the choices."""
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
        f"❌ {window.label} stopped: step {step.position} ({step.package}) failed.",
        halt_blocks(window, step, run, agents),
    )


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


async def confirm_by_hand(
    ctx: BotContext, window: Window, position: int, user: str, slack_action: str
) -> None:
    """An operator says Cube finished a step; the bot checks the agents, then goes on."""
    await ctx.roles.require(GateId.G4, user)
    steps = [s for s in list_steps(ctx.db, window.id) if s.position == position]
    step = steps[-1] if steps else None
    if (
        window.state is not WindowState.EXECUTING
        or step is None
        or step.run_id != MANUAL
        or step.status != "running"
    ):
        raise NotAllowed(f"Step {position} of {window.label} is not waiting for Cube.")
    expected = execution_plan(window, list_hotfixes(ctx.db, window.id))[position - 1][1]
    if expected is not None:
        cluster = await asyncio.wait_for(
            ctx.adapter(window.system).get_cluster(), ctx.adapter_timeout_seconds
        )
        behind = [
            f"{a.name} reports {_label(ctx, a.version)} ({a.state})"
            for a in cluster.agents
            if _label(ctx, a.version) != expected or str(a.state) != "running"
        ]
        if behind:
            raise NotAllowed(
                f"Not yet: {'; '.join(behind)}. Step {position} must leave every agent Running "
                f"on {expected}; click again when Cube reports the upgrade completed."
            )
    record_ack(
        ctx.db,
        window_id=window.id,
        gate=GateId.G4,
        user=user,
        decision=f"step_by_hand:{position}",
        at=ctx.now(),
        slack_action=slack_action,
    )
    step = finish_step(ctx.db, step.id, status="done", at=ctx.now(), detail={"by": user})
    await post_keyed(
        ctx,
        window,
        f"manual:{step.id}",
        f"✅ {window.label} step {position} done in Cube, confirmed by <@{user}>.",
        manual_blocks(window, step, [], user),
    )
    await run_from(ctx, window, position + 1, 1, user)


def _label(ctx: BotContext, raw: str) -> str:
    try:
        return ctx.catalog.identify(raw).label
    except UpgradeBotError:
        return raw


async def resume(ctx: BotContext, window: Window) -> None:
    """After a restart: re-attach to the step in flight, never trigger it again."""
    steps = list_steps(ctx.db, window.id)
    total = len(execution_items(window, list_hotfixes(ctx.db, window.id)))
    if not steps:
        await run_from(ctx, window, 1, 1, "upgradebot")
        return
    last = steps[-1]
    if last.status == "running" and last.run_id == MANUAL:
        await watch_by_hand(ctx, window, last)
        return
    if last.status == "running":
        if await follow(ctx, window, last, total):
            await run_from(ctx, window, last.position + 1, 1, "upgradebot")
        return
    if last.status == "triggering":
        await _reattach_unknown(ctx, window, last, total)
        return
    if last.status == "done":
        await run_from(ctx, window, last.position + 1, 1, "upgradebot")


async def _reattach_unknown(ctx: BotContext, window: Window, step: UpgradeStep, total: int) -> None:
    runs = await ctx.adapter(window.system).find_runs()
    match = [
        r
        for r in runs
        if r.package == step.package and (r.started_at is None or r.started_at >= step.started_at)
    ]
    if match:
        step = set_step_run(ctx.db, step.id, run_id=match[-1].run_id, at=ctx.now())
        if await follow(ctx, window, step, total):
            await run_from(ctx, window, step.position + 1, 1, "upgradebot")
        return
    step = finish_step(
        ctx.db,
        step.id,
        status="unknown",
        at=ctx.now(),
        error="the bot stopped while triggering this step and the DMS reports no such run",
    )
    await halt(ctx, window, step, None)


async def resume_all(ctx: BotContext) -> None:
    for window in list_windows(ctx.db, states=[WindowState.EXECUTING]):
        log.warning("re-attaching to %s, which was executing when the bot stopped", window.label)
        ctx.spawn(resume(ctx, window))


def halted_step(ctx: BotContext, window: Window, position: int) -> tuple[int, int]:
    """The failed step a Retry/Abort click refers to, and its latest attempt."""
    steps = [s for s in list_steps(ctx.db, window.id) if s.position == position]
    if (
        window.state is not WindowState.EXECUTING
        or not steps
        or steps[-1].status not in ("failed", "unknown")
    ):
        raise NotAllowed(f"{window.label} has no halted step {position}; nothing was changed.")
    return position, steps[-1].attempt


async def abort(ctx: BotContext, window: Window, position: int, user: str, action: str) -> Window:
    await ctx.roles.require(GateId.G4, user)
    halted_step(ctx, window, position)
    reason = (
        f"aborted after step {position} failed; follow the rollback plan "
        "(restore the VM snapshot or backup taken before the window)"
    )
    window = move(
        ctx,
        window,
        WindowEvent.EXECUTION_FAILED,
        actor=user,
        action="abort",
        reason=reason,
        slack_action=action,
    )
    # The reason is stored and shown escaped like a person's; the mention goes beside it.
    said = f"⏹ {window.label} {reason} (<@{user}>)."
    await post_keyed(ctx, window, f"aborted:{position}", said)
    await refresh_proposal(ctx, window, announce=False)
    return window
