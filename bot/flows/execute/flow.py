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
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.agents.models import (
    AdapterError,
    AdapterTimeout,
    ManualStepRequired,
    UpgradeOptions,
    UpgradeRun,
)
from bot.agents.run_match import begun_run
from bot.blocks import mention
from bot.context import BotContext
from bot.domain.errors import NotAllowed, UpgradeBotError
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.package_names import hotfix_refusal
from bot.domain.proposal import ProposalDetails
from bot.domain.replan import StepDecision, StepVerdict, decide_step
from bot.domain.windows import to_slack_date
from bot.evidence.packages import package_files
from bot.flows.execute.blocks import (
    halt_blocks,
    manual_blocks,
    progress_blocks,
    progress_text,
    watch_blocks,
)
from bot.flows.propose.flow import refresh_proposal
from bot.flows.verify.flow import finish_execution, run_verification
from bot.threads import post_keyed, retire
from bot.transitions import move
from storage import (
    Database,
    StepAlreadyTriggered,
    UpgradeStep,
    begin_step,
    finish_step,
    get_window,
    list_hotfixes,
    list_messages,
    list_steps,
    list_windows,
    record_ack,
    set_step_run,
)
from storage.outbox import is_owed_or_sent

log = logging.getLogger(__name__)


MANUAL = "manual"  # the run id of a step a person runs in Cube
NOT_STARTED = (
    "Nothing was started. Abort this window and propose a new one from what the agents run now."
)
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


def item_steps(window: Window, hotfixes: Sequence[str] = ()) -> list[int | None]:
    """For each item of :func:`execution_plan`, the plan step it belongs to (a step's
    prerequisite-only packages belong to it); None for the hotfixes after the last step."""
    plan = ProposalDetails.model_validate(window.plan).plan
    numbers: list[int | None] = []
    for step in plan.steps:
        numbers.extend(step.number for _ in [*step.prerequisite_packages, step.package])
    return numbers + [None for _ in hotfixes]


async def decide_trigger(
    ctx: BotContext, window: Window, number: int | None, *, retry: bool
) -> StepDecision:
    """Whether the item of plan step ``number`` (None: the hotfixes) may be triggered now: the
    agents are read again and must all run the release that step was planned from (DESIGN:
    nothing is triggered that is not an upgrade of every agent it touches)."""
    plan = ProposalDetails.model_validate(window.plan).plan
    try:
        cluster = await asyncio.wait_for(
            ctx.adapter(window.system).get_cluster(), ctx.adapter_timeout_seconds
        )
    except (AdapterError, TimeoutError) as error:
        detail = str(error) or "no answer in time"
        reason = f"The agents' versions could not be read ({detail}), so nothing was started."
        return StepDecision(StepVerdict.REFUSE, reason)
    versions = {agent.name: agent.version for agent in cluster.agents}
    partners = {a.name: a.failover_partner for a in cluster.agents if a.failover_partner}
    return decide_step(ctx.catalog, plan, number, versions, retry=retry, partners=partners)


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
    hotfixes = list_hotfixes(ctx.db, window.id)
    items = execution_items(window, hotfixes)
    numbers = item_steps(window, hotfixes)
    for index in range(position, len(items) + 1):
        name = _store_name(ctx, items[index - 1])
        this_attempt = attempt if index == position else 1
        step = await trigger(
            ctx, window, index, this_attempt, name, actor, number=numbers[index - 1]
        )
        if step is not None and step.status == "done":
            continue  # a retry found every agent already past this item: nothing to start
        if step is None or not await follow(ctx, window, step, len(items)):
            return

    await finish_execution(ctx, window)


async def trigger(
    ctx: BotContext,
    window: Window,
    index: int,
    attempt: int,
    name: str,
    actor: str,
    *,
    number: int | None = None,
) -> UpgradeStep | None:
    """Start one step, or attach to the run an earlier trigger of it began (issue 15): before
    any start the DMS is asked which runs it has, so a lost answer, a Retry or a restart never
    starts a step twice. Then the agents are read again: the step starts only when every agent
    runs the release it was planned from (issue 10; plan step ``number``, None for hotfixes).
    The step to follow (``done`` when a retry finds nothing left to start), or None when the
    night stops here (halted, by hand, or triggered already)."""
    adapter = ctx.adapter(window.system)
    earlier = [s for s in list_steps(ctx.db, window.id) if s.position == index]
    try:
        listed: list[UpgradeRun] | None = await adapter.find_runs()
    except ManualStepRequired:
        listed = None  # no routes: a person starts it in Cube, and start_upgrade says how
    except Exception as error:  # any failure to ask means: do not start
        log.warning("%s: cannot list the DMS's runs before step %s: %s", window.label, index, error)
        try:
            step = await ctx.write(
                begin_step,
                window_id=window.id,
                position=index,
                attempt=attempt,
                package=name,
                at=ctx.now(),
                actor=actor,
            )
        except StepAlreadyTriggered:
            log.error("%s: step %s already triggered; not triggering again", window.label, index)
            return None
        await finish_and_halt(ctx, window, step, None, status="failed", error=_unasked(error))
        return None
    # What the agents run now, read before the step row exists (nothing is decided on it yet:
    # a run an earlier attempt began is attached to first).
    decision = await decide_trigger(ctx, window, number, retry=attempt > 1)
    try:
        step = await ctx.write(
            begin_step,
            window_id=window.id,
            position=index,
            attempt=attempt,
            package=name,
            at=ctx.now(),
            actor=actor,
            runs_before=None if listed is None else [run.run_id for run in listed],
        )
    except StepAlreadyTriggered:
        log.error("%s: step %s already triggered; not triggering again", window.label, index)
        return None
    if listed is not None and earlier:
        # A Retry: an earlier attempt may have started the run after all (its answer lost).
        found = begun_run(listed, name, _baseline(earlier), _claimed(ctx, window, index))
        if found is not None:
            log.warning("%s: step %s already runs as %s; attaching", window.label, index, found)
            return await ctx.write(
                set_step_run, step.id, run_id=found.run_id, at=ctx.now(), attached=True
            )
    if number is None and decision.verdict is StepVerdict.GO:
        target = ProposalDetails.model_validate(window.plan).plan.target.version
        wrong = hotfix_refusal(name, (target.major, target.minor, target.feature, target.cu))
        if wrong is not None:  # never an upgrade past the approved target as a "hotfix"
            decision = StepDecision(StepVerdict.REFUSE, f"{wrong}, so it is not installed.")
    if decision.verdict is StepVerdict.REFUSE:
        log.error("%s: step %s not triggered: %s", window.label, index, decision.reason)
        refused = f"{decision.reason} {NOT_STARTED}"
        await finish_and_halt(ctx, window, step, None, status="failed", error=refused)
        return None
    if decision.verdict is StepVerdict.DONE:
        log.info("%s: step %s not triggered again: %s", window.label, index, decision.reason)
        return await ctx.write(
            finish_step, step.id, status="done", at=ctx.now(), detail={"already": True}
        )
    options = (
        UpgradeOptions(all_agents=False, agents=list(decision.agents))
        if decision.agents
        else UpgradeOptions(all_agents=True)
    )
    try:
        (package,) = package_files(ctx.config.packages.dir, [name])
        run_id = await adapter.start_upgrade(package, options)
    except ManualStepRequired as manual:
        step = await ctx.write(set_step_run, step.id, run_id=MANUAL, at=ctx.now())
        await post_keyed(
            ctx,
            window,
            f"manual:{step.id}",
            f"✋ {window.label} step {step.position}: a person runs it in Cube.",
            manual_blocks(window, step, manual.instructions, None),
        )
        ctx.spawn(watch_by_hand(ctx, window, step))
        return None
    except AdapterTimeout as error:
        # The request may have reached the DMS: ask it, and never offer a blind retry.
        return await _settle(ctx, window, step, f"{error} {UNCONFIRMED}")
    except (UpgradeBotError, OSError, ValueError) as error:
        # Refused before anything started: a missing package, an agent down, a run active.
        await finish_and_halt(ctx, window, step, None, status="failed", error=str(error))
        return None
    except Exception as error:
        log.exception("%s: triggering step %s failed unexpectedly", window.label, index)
        return await _settle(ctx, window, step, f"{type(error).__name__}: {error}. {UNCONFIRMED}")
    return await ctx.write(set_step_run, step.id, run_id=run_id, at=ctx.now())


def _unasked(error: Exception) -> str:
    return (
        f"The DMS could not say which upgrades it runs ({error}), so nothing was started; "
        "retry once it answers."
    )


def _baseline(attempts: Sequence[UpgradeStep]) -> list[str] | None:
    """The run ids the DMS listed before the first attempt of a step: runs not among them are
    candidates for having been begun by this step."""
    return attempts[0].runs_before if attempts else None


def _claimed(ctx: BotContext, window: Window, position: int | None = None) -> set[str]:
    """Run ids other step rows account for. A run of an attempt of ``position`` whose outcome
    is unknown (it did not finish in time) is not: a Retry attaches to it again."""
    return {
        s.run_id
        for s in list_steps(ctx.db, window.id)
        if s.run_id and not (s.position == position and s.status == "unknown")
    }


async def _settle(
    ctx: BotContext, window: Window, step: UpgradeStep, unconfirmed: str
) -> UpgradeStep | None:
    """A trigger whose outcome is unknown: the run it began, if the DMS lists one, is attached
    to; otherwise the step is halted unknown and a Retry asks the DMS again first."""
    try:
        runs = await ctx.adapter(window.system).find_runs()
    except Exception as error:  # cannot ask: the outcome stays unknown
        log.warning("%s: cannot settle step %s: %s", window.label, step.position, error)
        runs = []
    earlier = [s for s in list_steps(ctx.db, window.id) if s.position == step.position]
    found = begun_run(runs, step.package, _baseline(earlier), _claimed(ctx, window))
    if found is not None:
        log.warning("%s: step %s started as %s after all", window.label, step.position, found)
        return await ctx.write(
            set_step_run, step.id, run_id=found.run_id, at=ctx.now(), attached=True
        )
    await finish_and_halt(ctx, window, step, None, status="unknown", error=unconfirmed)
    return None


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


def halt_keys(ctx: BotContext, window: Window) -> list[str]:
    """The thread keys of the window's halt messages (each carries Retry / Abort)."""
    return [key for key in list_messages(ctx.db, window.id) if key.startswith("halt:")]


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
    await ctx.write(
        record_ack,
        window_id=window.id,
        gate=GateId.G4,
        user=user,
        decision=f"step_by_hand:{position}",
        at=ctx.now(),
        slack_action=slack_action,
    )
    step = await ctx.write(finish_step, step.id, status="done", at=ctx.now(), detail={"by": user})
    await post_keyed(
        ctx,
        window,
        f"manual:{step.id}",
        f"✅ {window.label} step {position} done in Cube, confirmed by <@{user}>.",
        manual_blocks(window, step, [], user),
    )
    await supervised(ctx, window.id, run_from(ctx, window, position + 1, 1, user))


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
        return
    if last.status in ("failed", "unknown"):
        await _repost_halt(ctx, window, last)


async def _reattach_unknown(ctx: BotContext, window: Window, step: UpgradeStep, total: int) -> None:
    """A restart found a step ``triggering``: the run it began, by the DMS's run ids (never by
    comparing start times across two clocks), or a halt as unknown."""
    try:
        runs = await ctx.adapter(window.system).find_runs()
    except Exception as error:  # not knowing is halting, never re-triggering
        log.warning("%s: cannot list runs to re-attach: %s", window.label, error)
        runs = []
    earlier = [s for s in list_steps(ctx.db, window.id) if s.position == step.position]
    found = begun_run(runs, step.package, _baseline(earlier), _claimed(ctx, window))
    if found is not None:
        step = await ctx.write(
            set_step_run, step.id, run_id=found.run_id, at=ctx.now(), attached=True
        )
        if await follow(ctx, window, step, total):
            await run_from(ctx, window, step.position + 1, 1, "upgradebot")
        return
    unseen = "the bot stopped while triggering this step and the DMS reports no such run"
    await finish_and_halt(ctx, window, step, None, status="unknown", error=unseen)


async def resume_all(ctx: BotContext) -> None:
    for window in list_windows(ctx.db, states=[WindowState.EXECUTING]):
        log.warning("re-attaching to %s, which was executing when the bot stopped", window.label)
        ctx.spawn(supervised(ctx, window.id, resume(ctx, window)))
    for window in list_windows(ctx.db, states=[WindowState.VERIFYING]):
        if not is_owed_or_sent(ctx.db, window.id, "verify"):
            # Stopped between `verifying` and the G5 message (issue 15, D1): post it now.
            log.warning("%s is verifying without its G5 message; verifying again", window.label)
            ctx.spawn(supervised(ctx, window.id, run_verification(ctx, window)))


WATCH_PAUSE_MAX_SECONDS = 30.0


async def supervised(ctx: BotContext, window_id: int, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` (triggering and following the night) so that it cannot die: an unexpected
    error (the database locked past its wait or out of space, a Slack or adapter bug) is logged
    and counted, and after a pause (doubling up to 30 s) the night carries on from what the
    database says, exactly as after a restart (:func:`carry_on`): a step in flight is attached
    to, never triggered again (issue 15, item 2). Refusals meant for the person who clicked
    (``UpgradeBotError``) still reach them."""
    attempt: Coroutine[Any, Any, None] | None = work
    pause = ctx.poll_seconds
    while True:
        try:
            await (attempt if attempt is not None else carry_on(ctx, window_id))
            return
        except UpgradeBotError:
            raise
        except Exception as error:
            ctx.metrics.watcher_restarts.labels(type(error).__name__).inc()
            log.exception(
                "#%s: following the upgrade failed unexpectedly; carrying on from the database "
                "in %.1f s",
                window_id,
                pause,
            )
        attempt = None
        await asyncio.sleep(pause)
        pause = min(pause * 2, WATCH_PAUSE_MAX_SECONDS)


async def carry_on(ctx: BotContext, window_id: int) -> None:
    """What the night still owes, from the database alone: the steps of an executing window
    (re-attached, never re-triggered), the verification of one verifying without its G5."""
    window = get_window(ctx.db, window_id)
    if window is None:
        return
    if window.state is WindowState.EXECUTING:
        await resume(ctx, window)
    elif window.state is WindowState.VERIFYING and not is_owed_or_sent(ctx.db, window_id, "verify"):
        await run_verification(ctx, window)


async def _repost_halt(ctx: BotContext, window: Window, step: UpgradeStep) -> None:
    """A halted step whose Retry/Abort message was never attempted (the bot stopped between
    the two writes): post it now, from the database alone (issue 15, D1)."""
    if not is_owed_or_sent(ctx.db, window.id, f"halt:{step.id}"):
        log.warning("%s: step %s halted without its message; posting it", window.label, step.id)
        await halt(ctx, window, step, None)


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


async def retry(ctx: BotContext, window: Window, position: int, user: str) -> None:
    """Retry a halted step: a new attempt, which first asks the DMS whether an earlier attempt
    began the run after all (then it attaches; issue 15, D7)."""
    await ctx.roles.require(GateId.G4, user)
    position, attempt = halted_step(ctx, window, position)
    note = f"Retried by <@{user}>: the progress below is the current run."
    await retire(ctx, window, note, keys=halt_keys(ctx, window))
    await supervised(ctx, window.id, run_from(ctx, window, position, attempt + 1, user))


async def abort(ctx: BotContext, window: Window, position: int, user: str, action: str) -> Window:
    await ctx.roles.require(GateId.G4, user)
    halted_step(ctx, window, position)
    reason = (
        f"aborted after step {position} failed; follow the rollback plan "
        "(restore the VM snapshot or backup taken before the window)"
    )
    window = await move(
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
