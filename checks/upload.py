"""What the day-before "upload only" did, as the pre-check's ``upload`` result."""

from __future__ import annotations

from collections.abc import Sequence

from bot.agents.models import UploadReport
from checks.models import CheckResult, CheckStatus

TITLE = "Packages uploaded (upload only) and verified on every agent"


def upload_result(report: UploadReport | None, error: str | None) -> CheckResult:
    """The adapter's report, or ``error`` when the upload did not run (or not to the end)."""
    if report is None:
        return CheckResult(
            key="upload",
            title=TITLE,
            status=CheckStatus.ERROR,
            summary=error or "The upload did not run.",
        )
    if report.ok:
        return CheckResult(
            key="upload",
            title=TITLE,
            status=CheckStatus.PASS,
            summary=f"{len(report.packages)} package(s) on {len({r.agent for r in report.results})}"
            " agent(s): upload has been completed successfully.",
            details=[f"{r.agent}: {r.package} ok" for r in report.results],
        )
    failures = [r for r in report.results if not r.ok]
    return CheckResult(
        key="upload",
        title=TITLE,
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


def upload_by_hand(instructions: Sequence[str]) -> CheckResult:
    """On a system where a person runs "upload only" in Cube: a warning with what to do."""
    return CheckResult(
        key="upload",
        title=TITLE,
        status=CheckStatus.WARN,
        summary="Upload only is done by a person on this system; accept the pre-check "
        "once Cube reports “Upload has been completed successfully”.",
        details=list(instructions),
    )
