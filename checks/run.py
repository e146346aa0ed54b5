"""Running the checks as one pre-check, and what is said about a set of results: worst first, a
one-line tally, a digest that pins what a person acknowledged, and what changed between runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.paths import UpgradePlan
from checks.common import plural
from checks.health import check_agents_running, check_alarms, check_backups, check_failover
from checks.key_functions import check_key_functions
from checks.models import CheckResult, CheckSettings, CheckStatus, ClusterSnapshot
from checks.packages import check_packages
from checks.requirements import check_disk_space, check_known_issues, check_requirements
from checks.stability import check_cluster_stable

Check = Callable[[ClusterSnapshot, UpgradePlan | None, CheckSettings], CheckResult]

PRECHECKS: tuple[tuple[str, str, Check], ...] = (
    ("agents_running", "Agents", check_agents_running),
    ("alarms", "Alarms", check_alarms),
    ("requirements", "Minimum requirements", check_requirements),
    ("disk_space", "Free disk", check_disk_space),
    ("failover", "Failover pairs", check_failover),
    ("cluster_stable", "Cluster stable for the BrokerGateway migration", check_cluster_stable),
    ("known_issues", "Known issues", check_known_issues),
    ("backups", "Backups", check_backups),
    ("packages", "Packages", check_packages),
    ("key_functions", "Key functionality", check_key_functions),
)
"""(key, title, check) in the order a person reads them; the key and title are repeated here so
a check that blows up still yields a result under its own name."""


def run_checks(
    snapshot: ClusterSnapshot,
    plan: UpgradePlan | None,
    settings: CheckSettings,
    checks: Sequence[tuple[str, str, Check]] = PRECHECKS,
) -> list[CheckResult]:
    """Every check over one snapshot. A check that raises becomes an ``error`` result naming it,
    so one bug never hides the other checks' results, nor passes silently."""
    return [_guarded(key, title, check, snapshot, plan, settings) for key, title, check in checks]


def _guarded(
    key: str,
    title: str,
    check: Check,
    snapshot: ClusterSnapshot,
    plan: UpgradePlan | None,
    settings: CheckSettings,
) -> CheckResult:
    try:
        return check(snapshot, plan, settings)
    except Exception as error:  # a bug in one check must not take down the pre-check
        return CheckResult(
            key=key,
            title=title,
            status=CheckStatus.ERROR,
            summary=f"The {title} check broke and could not decide; this is a bug in upgradebot.",
            details=[f"{type(error).__name__}: {error}"],
        )


def findings_differ(before: Sequence[CheckResult], after: Sequence[CheckResult]) -> bool:
    """A different verdict or different findings on any check of ``after`` (alarms that came
    or went, an agent in another state): what stops a go and reopens G3."""
    old = {r.key: (r.status, tuple(r.details)) for r in before}
    return any(old.get(r.key) != (r.status, tuple(r.details)) for r in after)


def worst_first(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Errors, then failures, then warnings, then passes; the run's order within each."""
    return sorted(results, key=lambda result: result.status.rank)


def has_blocking(results: Sequence[CheckResult]) -> bool:
    """Whether any result keeps the gate closed (a failure, or a check that could not run)."""
    return any(result.status.blocks for result in results)


def summary_line(results: Sequence[CheckResult]) -> str:
    """``2 failed, 1 could not run, 1 warning, 6 passed``; zero counts are left out."""
    counts = {status: 0 for status in CheckStatus}
    for result in results:
        counts[result.status] += 1
    parts = [
        f"{counts[CheckStatus.FAIL]} failed",
        f"{counts[CheckStatus.ERROR]} could not run",
        plural(counts[CheckStatus.WARN], "warning"),
        f"{counts[CheckStatus.PASS]} passed",
    ]
    order = (CheckStatus.FAIL, CheckStatus.ERROR, CheckStatus.WARN, CheckStatus.PASS)
    shown = [part for part, status in zip(parts, order, strict=True) if counts[status]]
    return ", ".join(shown) or "no checks"


def evidence_digest(results: Sequence[CheckResult]) -> str:
    """SHA-256 (hex) over what a person saw: each result's key, status, summary and details.
    The order of the results does not matter; any change in what they say does."""
    entries = sorted(
        json.dumps(
            [result.key, result.status.value, result.summary, result.details],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for result in results
    )
    canonical = "[" + ",".join(entries) + "]"
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def describe_changes(before: Sequence[CheckResult], after: Sequence[CheckResult]) -> list[str]:
    """Sentences for what changed between two runs, in the later run's order; empty when nothing
    did. ``Alarms: was pass (0 critical, 0 major active.), now fail (1 critical, …)`` and, where a
    check tracks things one by one, ``Agents: dma-lab-02 was running, now disconnected``."""
    old = {result.key: result for result in before}
    new_keys = {result.key for result in after}
    sentences: list[str] = []
    for result in after:
        sentences += _changes(old.get(result.key), result)
    for result in before:
        if result.key not in new_keys:
            sentences.append(f"{result.title}: no longer checked (was {result.status.value}).")
    return sentences


def _changes(old: CheckResult | None, new: CheckResult) -> list[str]:
    title = new.title
    if old is None:
        return [f"{title}: new, {new.status.value} ({_bare(new.summary)})."]
    out: list[str] = []
    if old.status is not new.status:
        out.append(
            f"{title}: was {old.status.value} ({_bare(old.summary)}), "
            f"now {new.status.value} ({_bare(new.summary)})."
        )
    if CheckStatus.ERROR in (old.status, new.status):
        return out  # a check that could not run has no facts to compare
    for subject in new.facts:
        was, now = old.facts.get(subject), new.facts[subject]
        if was is None:
            out.append(f"{title}: {subject} is new, {now}.")
        elif was != now:
            out.append(f"{title}: {subject} was {was}, now {now}.")
    out += [
        f"{title}: {subject} is gone (was {was})."
        for subject, was in old.facts.items()
        if subject not in new.facts
    ]
    if not out and old.summary != new.summary:
        was, now = _bare(old.summary), _bare(new.summary)
        out.append(f"{title}: still {new.status.value}; was {was}, now {now}.")
    return out


def _bare(summary: str) -> str:
    """A summary without its closing full stop, to sit inside a sentence."""
    return summary.rstrip().removesuffix(".")


class RunKind(StrEnum):
    """The runs of checks the procedure makes, each stored under its own name."""

    DETAILS = "details"  # G2: the automatic items of the details checklist
    PRECHECK = "precheck"  # G3: the day-before pre-check, with the upload
    QUICK = "quick"  # G4: the last health check before the go
    POSTCHECK = "postcheck"  # G5: what the verification re-reads after the last step


@dataclass(frozen=True)
class RunSpec:
    """Which checks of :data:`PRECHECKS` a run uses (``None``: all of them), and the results the
    shell adds to it from what it did itself (``extra``: the estimate, the upload)."""

    checks: tuple[str, ...] | None
    extra: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Every result key of the run, in order; a run over all checks lists them all."""
        chosen = self.checks if self.checks is not None else tuple(k for k, _, _ in PRECHECKS)
        return chosen + self.extra

    def chosen(self) -> list[tuple[str, str, Check]]:
        return [c for c in PRECHECKS if self.checks is None or c[0] in self.checks]


RUNS: dict[RunKind, RunSpec] = {
    RunKind.DETAILS: RunSpec(
        ("agents_running", "alarms", "requirements", "known_issues"), extra=("estimate_fits",)
    ),
    RunKind.PRECHECK: RunSpec(None, extra=("upload",)),
    RunKind.QUICK: RunSpec(("agents_running", "alarms", "failover", "cluster_stable")),
    RunKind.POSTCHECK: RunSpec(("agents_running", "failover", "key_functions")),
}
"""The one table of which checks each run uses: a new check is a row in PRECHECKS plus, where a
run other than the pre-check needs it, its key here."""

SNAPSHOT_PARTS: dict[str, tuple[str, ...]] = {
    "requirements": ("requirements", "disk_space"),
    "backups": ("backups",),
}
"""Which checks stand on which part of the snapshot, for the parts an adapter may leave to a
person (``ClusterSnapshot.manual``)."""


def by_hand(result: CheckResult, snapshot: ClusterSnapshot) -> CheckResult:
    """A check whose input this adapter cannot read (no route on a real DMS) becomes a warning
    that says what to check by hand, instead of an error that blocks the gate."""
    for part, instructions in snapshot.manual.items():
        if result.key in SNAPSHOT_PARTS.get(part, ()) and result.status is CheckStatus.ERROR:
            return result.model_copy(
                update={
                    "status": CheckStatus.WARN,
                    "summary": f"Check by hand: {result.title.lower()} cannot be read here.",
                    "details": instructions.splitlines(),
                }
            )
    return result
