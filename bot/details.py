"""G2, details established: the MOP's checklist in the window's thread.

Automatic items come from the checks; the items a person must confirm are buttons. Each item is
green (passed or confirmed) or waived with a reason; when all are, the gate closes and the window
becomes ``planned``. Item state is derived from the stored check run and the G2 acknowledgements,
never from Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import messages
from bot.checking import check_window
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.models import Acknowledgement, GateId, Window, WindowEvent, WindowState
from bot.domain.package_names import is_hotfix
from bot.gate_blocks import details_blocks, details_text
from bot.proposals import ProposalDetails, refresh_proposal
from bot.threads import post_keyed
from bot.transitions import load_window, move
from checks import CheckResult
from storage import latest_check_run, list_acks, record_ack, set_hotfixes

MANUAL_ITEMS: dict[str, str] = {
    "key_functions": "Key functionalities identified (what to check after the upgrade)",
    "hotfixes": "Hotfixes identified (none, or attached to the window)",
    "backup": "Backup or VM snapshot planned before the start",
}
AUTOMATIC_KEYS = ("agents_running", "alarms", "requirements", "known_issues", "estimate_fits")


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    automatic: bool
    status: str  # ok | warn (settled, read it) | open | waived | blocked
    summary: str = ""
    by: str | None = None
    reason: str | None = None

    @property
    def is_settled(self) -> bool:
        return self.status in ("ok", "warn", "waived")


def checklist(results: Sequence[CheckResult], acks: Sequence[Acknowledgement]) -> list[Item]:
    """The items and where each stands, from the latest details run and the G2 acks."""
    decided: dict[str, Acknowledgement] = {}
    for ack in acks:
        if ack.gate is GateId.G2 and ":" in ack.decision:
            decided[ack.decision.split(":", 1)[1]] = ack
    items: list[Item] = []
    by_key = {r.key: r for r in results}
    for key in AUTOMATIC_KEYS:
        result = by_key.get(key)
        if result is None:
            continue
        waiver = decided.get(key)
        if waiver is not None and waiver.decision.startswith("waive:"):
            status = "waived"
        else:
            status = "blocked" if result.status.blocks else str(result.status).replace("pass", "ok")
        items.append(
            Item(
                key,
                result.title,
                True,
                status,
                result.summary,
                waiver.user if waiver else None,
                waiver.reason if waiver else None,
            )
        )
    for key, title in MANUAL_ITEMS.items():
        manual = decided.get(key)
        status = (
            "open"
            if manual is None
            else ("waived" if manual.decision.startswith("waive:") else "ok")
        )
        items.append(
            Item(
                key,
                title,
                False,
                status,
                "",
                manual.user if manual else None,
                manual.reason if manual else None,
            )
        )
    return items


def is_complete(items: Sequence[Item]) -> bool:
    return bool(items) and all(item.is_settled for item in items)


async def post_details(ctx: BotContext, window: Window, *, search_thread: bool = False) -> None:
    """Run the automatic items and post (or refresh) the checklist in the thread."""
    await check_window(ctx, window, kind="details")
    await render(ctx, window, search_thread=search_thread)


async def render(ctx: BotContext, window: Window, *, search_thread: bool = False) -> None:
    run = latest_check_run(ctx.db, window.id, "details")
    results = [CheckResult.model_validate(r) for r in (run.results if run else [])]
    items = checklist(results, list_acks(ctx.db, window.id))
    await post_keyed(
        ctx,
        window,
        "details",
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
    if not await ctx.roles.is_operator(user):
        raise NotAllowed(messages.not_an_operator(user))
    run = latest_check_run(ctx.db, window.id, "details")
    results = [CheckResult.model_validate(r) for r in (run.results if run else [])]
    known = {i.key: i for i in checklist(results, list_acks(ctx.db, window.id))}
    if item not in known:
        raise NotAllowed(messages.unknown_item(item))
    if waive_reason is None and known[item].automatic:
        raise NotAllowed(messages.cannot_confirm_automatic(known[item].title))
    decision = f"{'waive' if waive_reason else 'confirm'}:{item}"
    record_ack(
        ctx.db,
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
        try:
            window = move(
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


def hotfix_candidates(ctx: BotContext, window: Window) -> list[str]:
    """Packages in the store that the path itself does not use."""
    from fnmatch import fnmatchcase
    from pathlib import Path

    from checks import needed_packages

    plan = ProposalDetails.model_validate(window.plan).plan
    used = needed_packages(plan, [])
    try:
        files = sorted(p.name for p in Path(ctx.config.packages.dir).iterdir() if p.is_file())
    except OSError:
        return []
    return [
        name
        for name in files
        if is_hotfix(name) and not any(fnmatchcase(name, pattern) for pattern in used)
    ]


async def choose_hotfixes(
    ctx: BotContext, window: Window, names: list[str], user: str, slack_action: str
) -> Window:
    """Attach the hotfixes (possibly none), re-run the items the estimate depends on, and
    confirm the checklist item."""
    if window.state is not WindowState.APPROVED:
        raise NotAllowed(messages.gate_not_open(window.label, "G2", window.state.value))
    if not await ctx.roles.is_operator(user):
        raise NotAllowed(messages.not_an_operator(user))
    unknown = sorted(set(names) - set(hotfix_candidates(ctx, window)))
    if unknown:
        raise NotAllowed(f"Not in the package store: {', '.join(unknown)}.")
    set_hotfixes(ctx.db, window.id, names, actor=user, at=ctx.now())
    await check_window(ctx, window, kind="details")
    return await settle_item(ctx, window, "hotfixes", user, slack_action=slack_action)
