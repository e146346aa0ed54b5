"""Running the checks for a window: gather a snapshot, judge it, upload if asked, store the run."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from bot.agents.models import AdapterError, ManualStepRequired
from bot.context import BotContext
from bot.domain.models import Window
from bot.domain.proposal import ProposalDetails, window_estimate
from bot.evidence.packages import (
    PackageStoreUnavailable,
    compare_with_records,
    package_files,
    read_packages,
)
from bot.evidence.snapshot import take_snapshot
from checks import (
    RUNS,
    CheckResult,
    CheckSettings,
    ClusterSnapshot,
    PackageState,
    RunKind,
    by_hand,
    evidence_digest,
    needed_packages,
    run_checks,
    worst_first,
)
from checks.estimate import estimate_result
from checks.upload import upload_by_hand, upload_result
from storage import CheckRun, list_check_runs, list_hotfixes, record_check_run


async def _scan(ctx: BotContext, names: list[str]) -> tuple[list[PackageState] | None, str | None]:
    """The package store's state; hashing multi-GB files runs in a thread, off the loop."""
    directory = ctx.config.packages.dir
    try:
        found = await asyncio.to_thread(read_packages, directory, names)
    except PackageStoreUnavailable as error:
        return None, str(error)
    return await ctx.write(compare_with_records, found, directory, now=ctx.now()), None


def _estimate_high(
    ctx: BotContext, window: Window, details: ProposalDetails, hotfix_count: int
) -> timedelta:
    """The estimate's upper bound with the hotfixes attached at G2 (the domain's one estimate)."""
    configured = ctx.system(window.system).startup_time
    return window_estimate(details, hotfix_count, configured).high


async def check_window(
    ctx: BotContext,
    window: Window,
    *,
    kind: RunKind,
) -> CheckRun:
    """Gather, judge and store one run of checks for ``window``; ``RUNS[kind]`` says which."""
    details = ProposalDetails.model_validate(window.plan)
    system = ctx.system(window.system)
    now = ctx.now()
    hotfixes = list_hotfixes(ctx.db, window.id)
    spec = RUNS[kind]
    upload = "upload" in spec.extra
    needs_store = upload or "packages" in spec.keys
    packages, store_error = (
        await _scan(ctx, needed_packages(details.plan, hotfixes)) if needs_store else (None, None)
    )
    adapter = ctx.adapter(window.system)
    snapshot = await take_snapshot(
        adapter,
        window.system,
        now=now,
        packages=packages,
        packages_error=store_error,
        timeout_seconds=ctx.adapter_timeout_seconds,
    )
    settings = CheckSettings(
        now=now,
        backup_max_age=ctx.config.backup_max_age,
        key_checks=system.key_checks,
        hotfixes=hotfixes,
        running_since=running_since(ctx, window, snapshot, now),
    )
    results = run_checks(snapshot, details.plan, settings, spec.chosen())
    results = [by_hand(r, snapshot) for r in results]
    if "estimate_fits" in spec.extra:
        high = _estimate_high(ctx, window, details, len(hotfixes))
        results.append(estimate_result(high, window.length))
    if upload:
        results.append(await _upload(ctx, window, packages))
    results = worst_first(results)
    return await ctx.write(
        record_check_run,
        window_id=window.id,
        kind=kind.value,
        at=ctx.now(),
        digest=evidence_digest(results),
        results=[r.model_dump(mode="json") for r in results],
        detail={"snapshot_errors": snapshot.errors, **baseline(snapshot)},
    )


async def _upload(
    ctx: BotContext, window: Window, packages: list[PackageState] | None
) -> CheckResult:
    present = [p for p in packages or [] if p.present and not p.changed_since_first_seen]
    if not packages or len(present) < len(packages):
        return upload_result(
            None,
            "Not uploaded: some packages are missing from the store or "
            "changed since first seen (see the packages check).",
        )
    files = package_files(ctx.config.packages.dir, [p.file or p.name for p in present])
    try:
        report = await asyncio.wait_for(
            ctx.adapter(window.system).upload_only(files), ctx.upload_timeout_seconds
        )
    except TimeoutError:
        minutes = round(ctx.upload_timeout_seconds / 60)
        return upload_result(
            None,
            f"The upload did not finish within {minutes} min; look in Cube whether it is still "
            "running, then Re-run the pre-check.",
        )
    except ManualStepRequired as manual:
        return upload_by_hand(manual.instructions)
    except AdapterError as error:
        return upload_result(None, str(error))
    return upload_result(report, None)


def baseline(snapshot: ClusterSnapshot) -> dict[str, Any]:
    """What a later verification compares with: versions, states and alarm counts."""
    cluster, alarms = snapshot.cluster, snapshot.alarms
    return {
        "versions": {a.name: a.version for a in cluster.agents} if cluster else {},
        "states": {a.name: str(a.state) for a in cluster.agents} if cluster else {},
        "alarm_counts": {str(k): v for k, v in alarms.counts.items()} if alarms else {},
    }


def running_since(
    ctx: BotContext, window: Window, snapshot: ClusterSnapshot, now: datetime
) -> datetime | None:
    """Since when every Agent was Running at each health read stored for the window, up to this
    snapshot; None when they are not all Running now. What the BrokerGateway migration's "stable
    for 15 minutes" is judged on (checks/stability.py)."""
    cluster = snapshot.cluster
    if cluster is None or any(str(a.state) != "running" for a in cluster.agents):
        return None
    since = now
    for run in reversed(list_check_runs(ctx.db, window.id)):
        verdict = next((r["status"] for r in run.results if r["key"] == "agents_running"), None)
        if verdict is None:
            continue
        if verdict != "pass":
            break
        since = min(since, run.at)
    return since
