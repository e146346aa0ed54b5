"""Never act on stale truth: the plan a window was approved with, compared with what the agents
run now, at every gate that acts and before every step the bot triggers.

:func:`recheck_plan` answers at a gate: still the same path, a changed path (a fresh approval of
the new plan is needed), or nothing left to do. :func:`step_refusal` answers just before a step
is triggered: the step may start only when every agent runs exactly the release that step was
planned from, so a trigger is always an upgrade of every agent, never a downgrade or a repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.catalog import Catalog, Release
from bot.domain.errors import UpgradeBotError
from bot.domain.known_issues import KnownIssues
from bot.domain.paths import UpgradePlan, cluster_release, plan_upgrade


class PlanVerdict(StrEnum):
    SAME = "same"  # the agents still run what the plan starts from
    CHANGED = "changed"  # the path from what they run now differs: approve the new plan
    DONE = "done"  # every agent already runs the target: nothing to do
    IMPOSSIBLE = "impossible"  # mixed, unknown, or above the target: no plan can be made


@dataclass(frozen=True)
class PlanCheck:
    verdict: PlanVerdict
    reason: str = ""  # one sentence: what changed, for the thread
    new_plan: UpgradePlan | None = None

    @property
    def holds(self) -> bool:
        return self.verdict is PlanVerdict.SAME


def path_line(plan: UpgradePlan) -> str:
    """``10.3.0 CU22 → 10.4.0 CU21 → 10.5.0 CU18``"""
    return " → ".join([plan.current.label, *(step.to_label for step in plan.steps)])


def _shape(plan: UpgradePlan) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(s.to_label, s.package, tuple(s.prerequisite_packages)) for s in plan.steps]


def recheck_plan(
    catalog: Catalog,
    stored: UpgradePlan,
    agent_versions: Mapping[str, str],
    known_issues: KnownIssues | None = None,
) -> PlanCheck:
    """The stored plan against the agents' versions now (``name → raw version``)."""
    try:
        current = cluster_release(catalog, agent_versions)
    except UpgradeBotError as error:
        return PlanCheck(PlanVerdict.IMPOSSIBLE, error.message)
    target = stored.target
    if current.version == target.version:
        return PlanCheck(
            PlanVerdict.DONE,
            f"Every agent already runs {current.label}, the target: nothing to do.",
        )
    if current.version > target.version:
        return PlanCheck(
            PlanVerdict.IMPOSSIBLE,
            f"The agents now run {current.label}, above the target {target.label}: this window "
            "would be a downgrade.",
        )
    try:
        fresh = plan_upgrade(catalog, agent_versions, target, known_issues)
    except UpgradeBotError as error:
        return PlanCheck(PlanVerdict.IMPOSSIBLE, error.message)
    if current.version == stored.current.version and _shape(fresh) == _shape(stored):
        return PlanCheck(PlanVerdict.SAME)
    return PlanCheck(
        PlanVerdict.CHANGED,
        f"The agents now run {current.label} (the plan was made from {stored.current.label}); "
        f"the path would now be {path_line(fresh)} instead of {path_line(stored)}.",
        fresh,
    )


def step_start(plan: UpgradePlan, number: int) -> Release:
    """The release every agent must run for step ``number`` (1-based) to start."""
    return plan.current if number == 1 else plan.steps[number - 2].release


class StepVerdict(StrEnum):
    GO = "go"  # trigger it (on ``agents``, or on every agent when that is empty)
    DONE = "done"  # every agent already runs this step's release after a partial run: go on
    REFUSE = "refuse"  # triggering it would not be an upgrade of every agent it touches


@dataclass(frozen=True)
class StepDecision:
    verdict: StepVerdict
    reason: str = ""
    agents: tuple[str, ...] = ()  # GO on these agents only (a retry after a partial run)


def decide_step(
    catalog: Catalog,
    plan: UpgradePlan,
    number: int | None,
    agent_versions: Mapping[str, str],
    *,
    retry: bool = False,
    partners: Mapping[str, str] | None = None,
) -> StepDecision:
    """Whether plan step ``number`` (1-based; None: the hotfixes after the last step) may be
    triggered over agents that report ``agent_versions`` now.

    Every agent must run the release the step was planned from. Only on a ``retry`` of the same
    step may some agents already run the step's own release (DataMiner leaves a cluster partly
    upgraded when one agent fails): the step then goes to the others only, or is done. An agent
    left behind takes its Failover partner (``partners``) along: DataMiner upgrades a pair
    together, so the partner gets the release it already runs again, never a lower one."""
    refuse = StepVerdict.REFUSE
    if not agent_versions:
        return StepDecision(refuse, "No agent reported its version, so nothing can be started.")
    expected = plan.target if number is None else step_start(plan, number)
    goal = plan.target if number is None else plan.steps[number - 1].release
    what = "the hotfixes" if number is None else f"step {number} ({goal.label})"
    behind: list[str] = []
    for agent, raw in sorted(agent_versions.items()):
        try:
            running = catalog.identify(raw)
        except UpgradeBotError:
            return StepDecision(
                refuse,
                f"{agent} reports {raw.strip()!r}, a version the catalog cannot place, so {what} "
                "is not started.",
            )
        if number is not None and running.version == goal.version and retry:
            continue  # this same step already reached it, before the failure
        if number is not None and running.version >= goal.version:
            return StepDecision(
                refuse,
                f"{agent} already runs {running.label}, at or past {goal.label}: {what} would "
                "not be an upgrade, so it is not started.",
            )
        if running.version != expected.version:
            return StepDecision(
                refuse,
                f"{agent} runs {running.label}, but {what} was planned from {expected.label}: "
                "the cluster is not where the plan expects it, so it is not started.",
            )
        behind.append(agent)
    if not behind:
        return StepDecision(StepVerdict.DONE, f"Every agent already runs {goal.label}.")
    pairs = partners or {}
    behind += [
        pairs[a] for a in behind if pairs.get(a) in agent_versions and pairs[a] not in behind
    ]
    partial = tuple(sorted(behind)) if len(behind) < len(agent_versions) else ()
    return StepDecision(StepVerdict.GO, agents=partial)


def step_refusal(
    catalog: Catalog, plan: UpgradePlan, number: int | None, agent_versions: Mapping[str, str]
) -> str | None:
    """Why step ``number`` may not be triggered now (a first attempt), or None when it may."""
    decision = decide_step(catalog, plan, number, agent_versions)
    return decision.reason if decision.verdict is StepVerdict.REFUSE else None
