"""G5's own results: every agent on the target, and alarms not worse than the day before."""

from __future__ import annotations

from collections.abc import Mapping

from checks.models import CheckResult, CheckStatus

SEVERE = ("critical", "major")


def versions_result(target: str, labels: Mapping[str, str]) -> CheckResult:
    """``labels``: each agent's version as the catalog names it (the raw text when unknown)."""
    wrong = [f"{agent} runs {label}" for agent, label in sorted(labels.items()) if label != target]
    return CheckResult(
        key="versions",
        title=f"Every agent on {target}",
        status=CheckStatus.FAIL if wrong or not labels else CheckStatus.PASS,
        summary="; ".join(wrong) if wrong else f"{len(labels)} agent(s) on {target}.",
    )


def alarms_result(before: Mapping[str, int], after: Mapping[str, int]) -> CheckResult:
    """Fail when there are more critical or major alarms than in the day-before baseline."""
    worse = [
        f"{s}: {before.get(s, 0)} → {after.get(s, 0)}"
        for s in SEVERE
        if after.get(s, 0) > before.get(s, 0)
    ]
    return CheckResult(
        key="alarms_vs_baseline",
        title="Alarms not worse than the day before",
        status=CheckStatus.FAIL if worse else CheckStatus.PASS,
        summary=("More severe alarms than the day before: " + ", ".join(worse))
        if worse
        else "No more critical or major alarms than the day before.",
    )
