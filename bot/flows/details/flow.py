"""G2, details established: the MOP's checklist in the window's thread.

Automatic items come from the checks; the items a person must confirm are buttons. Each item is
green (passed or confirmed) or waived with a reason; when all are, the gate closes and the window
becomes ``planned``. Item state is derived from the stored check run and the G2 acknowledgements,
never from Slack.
"""

from __future__ import annotations

from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import Path

from bot import messages
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.package_names import hotfix_description, hotfix_refusal
from bot.domain.proposal import ProposalDetails
from bot.escape import escape
from bot.evidence.runs import check_window
from bot.flows.details.blocks import details_blocks, details_text
from bot.flows.propose.flow import recheck, refresh_proposal
from bot.threads import post_keyed, round_key
from bot.transitions import load_window, move
from checks import CheckResult, RunKind, needed_packages
from checks.checklist import Item, ItemStatus, checklist, is_complete
from storage import latest_check_run, list_acks, list_hotfixes, record_ack, set_hotfixes


async def post_details(ctx: BotContext, window: Window, *, search_thread: bool = False) -> None:
    """Run the automatic items and post (or refresh) the checklist in the thread; first the
    plan is derived again from the agents (it may send the window back to G1)."""
    await recheck(ctx, window, "G2")
    await check_window(ctx, window, kind=RunKind.DETAILS)
    await render(ctx, window, search_thread=search_thread)


async def render(ctx: BotContext, window: Window, *, search_thread: bool = False) -> None:
    run = latest_check_run(ctx.db, window.id, "details")
    results = [CheckResult.model_validate(r) for r in (run.results if run else [])]
    items = with_hotfixes_named(
        checklist(results, list_acks(ctx.db, window.id)), list_hotfixes(ctx.db, window.id)
    )
    await post_keyed(
        ctx,
        window,
        round_key(ctx, window, "details"),
        details_text(window, items),
        details_blocks(window, items),
        search_thread=search_thread,
    )


async def settle_item(
    ctx: BotContext,
    window: Window,
    item: str,
    user: str,
    *,
    waive_reason: str | None = None,
    slack_action: str | None = None,
) -> Window:
    """Confirm (or waive, with a reason) one item; close G2 when every item is settled."""
    if window.state is not WindowState.APPROVED:
        raise NotAllowed(messages.gate_not_open(window.label, "G2", window.state.value))
    await ctx.roles.require(GateId.G2, user)
    run = latest_check_run(ctx.db, window.id, "details")
    results = [CheckResult.model_validate(r) for r in (run.results if run else [])]
    known = {i.key: i for i in checklist(results, list_acks(ctx.db, window.id))}
    if item not in known:
        raise NotAllowed(messages.unknown_item(item))
    if waive_reason is None and known[item].automatic:
        raise NotAllowed(messages.cannot_confirm_automatic(known[item].title))
    decision = f"{'waive' if waive_reason else 'confirm'}:{item}"
    await ctx.write(
        record_ack,
        window_id=window.id,
        gate=GateId.G2,
        user=user,
        decision=decision,
        at=ctx.now(),
        reason=waive_reason,
        digest=run.digest if run else None,
        slack_action=slack_action,
    )
    items = checklist(results, list_acks(ctx.db, window.id))
    if is_complete(items):
        await recheck(ctx, window, "G2")
        try:
            window = await move(
                ctx,
                window,
                WindowEvent.CLOSE_DETAILS,
                actor=user,
                gate=GateId.G2,
                decision="close",
                digest=run.digest if run else None,
                slack_action=slack_action,
            )
        except NotAllowed:
            window = load_window(ctx, window.id)
        else:
            await refresh_proposal(ctx, window, announce=False)  # the parent shows ✅G2
    await render(ctx, window)
    return window


def _target(window: Window) -> tuple[int, int, int, int | None]:
    version = ProposalDetails.model_validate(window.plan).plan.target.version
    return (version.major, version.minor, version.feature, version.cu)


def _store_files(ctx: BotContext) -> list[str]:
    try:
        return sorted(p.name for p in Path(ctx.config.packages.dir).iterdir() if p.is_file())
    except OSError:
        return []


def hotfix_candidates(ctx: BotContext, window: Window) -> list[str]:
    """Packages in the store the path itself does not use that are hotfixes for the window's
    target (by Skyline's package naming: never a package that changes the version)."""

    plan = ProposalDetails.model_validate(window.plan).plan
    used = needed_packages(plan, [])
    files = _store_files(ctx)
    return [
        name
        for name in files
        if hotfix_refusal(name, _target(window)) is None
        and not any(fnmatchcase(name, pattern) for pattern in used)
    ]


async def choose_hotfixes(
    ctx: BotContext, window: Window, names: list[str], user: str, slack_action: str
) -> Window:
    """Attach the hotfixes (possibly none), re-run the items the estimate depends on, and
    confirm the checklist item."""
    if window.state is not WindowState.APPROVED:
        raise NotAllowed(messages.gate_not_open(window.label, "G2", window.state.value))
    await ctx.roles.require(GateId.G2, user)
    unknown = sorted(set(names) - set(hotfix_candidates(ctx, window)))
    if unknown:
        in_store = set(_store_files(ctx))
        refused = [hotfix_refusal(name, _target(window)) for name in unknown if name in in_store]
        reasons = [r for r in refused if r is not None]
        if reasons:
            raise NotAllowed(f"Not attached: {'; '.join(reasons)}. Nothing was changed.")
        raise NotAllowed(
            f"Not in the package store: {', '.join(escape(n) for n in unknown)}; nothing was "
            "changed. Put the file in packages.dir first."
        )
    await ctx.write(set_hotfixes, window.id, names, actor=user, at=ctx.now())
    await check_window(ctx, window, kind=RunKind.DETAILS)
    return await settle_item(ctx, window, "hotfixes", user, slack_action=slack_action)


def hotfix_choices(ctx: BotContext, window: Window) -> list[tuple[str, str]]:
    """The picker's options: each candidate with what it is."""
    return [(name, hotfix_description(name)) for name in hotfix_candidates(ctx, window)]


def with_hotfixes_named(items: list[Item], hotfixes: list[str]) -> list[Item]:
    """The checklist says which hotfixes were chosen (or that there are none) once answered."""
    named = ", ".join(f"`{escape(name)}`" for name in hotfixes) or "none"
    return [
        replace(item, summary=f"Chosen: {named}.")
        if item.key == "hotfixes" and item.status is ItemStatus.OK
        else item
        for item in items
    ]
