"""Running the checks for a window: gather a snapshot, judge it, upload if asked, store the run."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.agents.models import AdapterError, ManualStepRequired, UploadReport
from bot.context import BotContext
from bot.domain.estimates import estimate_duration
from bot.domain.models import Window
from bot.domain.proposal import ProposalDetails
from bot.packages import (
    PackageStoreUnavailable,
    compare_with_records,
    package_files,
    read_packages,
)
from bot.snapshot import take_snapshot
from checks import (
    PRECHECKS,
    CheckResult,
    CheckSettings,
    CheckStatus,
    ClusterSnapshot,
    PackageState,
    evidence_digest,
    needed_packages,
    run_checks,
    worst_first,
)
from storage import CheckRun, list_hotfixes, record_check_run

DETAIL_KEYS = ("agents_running", "alarms", "requirements", "known_issues")


async def _scan(ctx: BotContext, names: list[str]) -> tuple[list[PackageState] | None, str | None]:
    """The package store's state; hashing multi-GB files runs in a thread, off the loop."""
    directory = ctx.config.packages.dir
    try:
        found = await asyncio.to_thread(read_packages, directory, names)
    except PackageStoreUnavailable as error:
        return None, str(error)
    return compare_with_records(ctx.db, found, directory, now=ctx.now()), None


def estimate_result(
    ctx: BotContext, window: Window, details: ProposalDetails, hotfix_count: int = 0
) -> CheckResult:
    """Does the estimate (with the hotfixes attached at G2) fit the window?"""
    high = details.estimate.high
    if hotfix_count:
        agents = max(len(details.agents), 1)
        startup = ctx.system(window.system).startup_time
        high = estimate_duration(details.plan, agents, startup, hotfix_count=hotfix_count).high
    fits = high <= window.length
    return CheckResult(
        key="estimate_fits",
        title="Estimated duration fits the window",
        status=CheckStatus.PASS if fits else CheckStatus.FAIL,
        summary=(
            f"Estimate up to {_minutes(high)} in a window of {_minutes(window.length)}."
            if fits
            else f"The estimate (up to {_minutes(high)}) is longer than the window "
            f"({_minutes(window.length)}): lengthen the window or waive with a reason."
        ),
    )


def _minutes(value: timedelta) -> str:
    return f"{int(value.total_seconds() // 60)} min"


def upload_result(report: UploadReport | None, error: str | None) -> CheckResult:
    title = "Packages uploaded (upload only) and verified on every agent"
    if report is None:
        return CheckResult(
            key="upload",
            title=title,
            status=CheckStatus.ERROR,
            summary=error or "The upload did not run.",
        )
    if report.ok:
        return CheckResult(
            key="upload",
            title=title,
            status=CheckStatus.PASS,
            summary=f"{len(report.packages)} package(s) on {len({r.agent for r in report.results})}"
            " agent(s): upload has been completed successfully.",
            details=[f"{r.agent}: {r.package} ok" for r in report.results],
        )
    failures = [r for r in report.results if not r.ok]
    return CheckResult(
        key="upload",
        title=title,
        status=CheckStatus.FAIL,
        summary=f"Upload failed on {', '.join(sorted({r.agent for r in failures}))}; "
        "DataMiner fails the whole cluster when one agent fails.",
        details=[
            f"{r.agent}: {r.package}: {r.message}"
            + (f" ({'; '.join(r.prerequisite_failures)})" if r.prerequisite_failures else "")
            for r in failures
        ],
        facts={r.agent: ("ok" if r.ok else "failed") for r in report.results},
    )


async def check_window(
    ctx: BotContext,
    window: Window,
    *,
    kind: str,
    upload: bool = False,
    keys: tuple[str, ...] | None = None,
) -> CheckRun:
    """Gather, judge and store one run of checks for ``window``; ``kind`` names the run."""
    details = ProposalDetails.model_validate(window.plan)
    system = ctx.system(window.system)
    now = ctx.now()
    hotfixes = list_hotfixes(ctx.db, window.id)
    needs_store = upload or (keys is not None and "packages" in keys)
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
    )
    wanted = DETAIL_KEYS if kind == "details" else keys
    chosen = [c for c in PRECHECKS if wanted is None or c[0] in wanted]
    results = run_checks(snapshot, details.plan, settings, chosen)
    results = [by_hand(r, snapshot) for r in results]
    if kind == "details":
        results.append(estimate_result(ctx, window, details, len(hotfixes)))
    if upload:
        results.append(await _upload(ctx, window, packages))
    results = worst_first(results)
    return record_check_run(
        ctx.db,
        window_id=window.id,
        kind=kind,
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
            ctx.adapter(window.system).upload_only(files), ctx.adapter_timeout_seconds * 6
        )
    except TimeoutError:
        return upload_result(None, "The upload did not finish in time.")
    except ManualStepRequired as manual:
        return CheckResult(
            key="upload",
            title="Packages uploaded (upload only) and verified on every agent",
            status=CheckStatus.WARN,
            summary="Upload only is done by a person on this system; accept the pre-check "
            "once Cube reports “Upload has been completed successfully”.",
            details=manual.instructions,
        )
    except AdapterError as error:
        return upload_result(None, str(error))
    return upload_result(report, None)


# Which checks stand on which part of the snapshot, for parts a person reads by hand.
_PART_KEYS = {"requirements": ("requirements", "disk_space"), "backups": ("backups",)}


def by_hand(result: CheckResult, snapshot: ClusterSnapshot) -> CheckResult:
    """A check whose input this adapter cannot read (no route on a real DMS) becomes a warning
    that says what to check by hand, instead of an error that blocks the gate."""
    for part, instructions in snapshot.manual.items():
        if result.key in _PART_KEYS.get(part, ()) and result.status is CheckStatus.ERROR:
            return result.model_copy(
                update={
                    "status": CheckStatus.WARN,
                    "summary": f"Check by hand: {result.title.lower()} cannot be read here.",
                    "details": instructions.splitlines(),
                }
            )
    return result


def baseline(snapshot: ClusterSnapshot) -> dict[str, Any]:
    """What a later verification compares with: versions, states and alarm counts."""
    cluster, alarms = snapshot.cluster, snapshot.alarms
    return {
        "versions": {a.name: a.version for a in cluster.agents} if cluster else {},
        "states": {a.name: str(a.state) for a in cluster.agents} if cluster else {},
        "alarm_counts": {str(k): v for k, v in alarms.counts.items()} if alarms else {},
    }
