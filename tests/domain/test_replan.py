"""Never act on stale truth (issue 10): a plan re-checked against the agents at every gate, and a
step triggered only from the release it was planned from."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.paths import UpgradePlan, plan_upgrade
from bot.domain.replan import (
    PlanVerdict,
    StepVerdict,
    decide_step,
    path_line,
    recheck_plan,
    step_refusal,
    step_start,
)
from bot.releases import load_catalog

CATALOG = load_catalog()
AGENTS = ("dma-01", "dma-02", "dma-03")
FROM = CATALOG.resolve("10.3").label
MIDDLE = CATALOG.resolve("10.4").label
TARGET = CATALOG.resolve("10.5").label
ABOVE = CATALOG.resolve("10.6").label


def on(label: str) -> dict[str, str]:
    return dict.fromkeys(AGENTS, label)


def plan(frm: str, to: str) -> UpgradePlan:
    return plan_upgrade(CATALOG, on(frm), CATALOG.resolve(to))


def test_a_plan_still_standing_holds() -> None:
    stored = plan(FROM, TARGET)
    check = recheck_plan(CATALOG, stored, on(FROM))
    assert check.verdict is PlanVerdict.SAME and check.holds and check.new_plan is None


def test_agents_moved_on_gives_the_new_plan_and_says_what_changed() -> None:
    stored = plan(FROM, TARGET)
    check = recheck_plan(CATALOG, stored, on(MIDDLE))
    assert check.verdict is PlanVerdict.CHANGED and not check.holds
    assert check.new_plan is not None
    assert check.new_plan.current.label == MIDDLE
    assert f"now run {MIDDLE}" in check.reason
    assert path_line(check.new_plan) in check.reason and path_line(stored) in check.reason


def test_agents_already_on_the_target_leave_nothing_to_do() -> None:
    check = recheck_plan(CATALOG, plan(FROM, TARGET), on(TARGET))
    assert check.verdict is PlanVerdict.DONE
    assert TARGET in check.reason


def test_agents_past_the_target_make_the_window_a_downgrade() -> None:
    check = recheck_plan(CATALOG, plan(FROM, TARGET), on(ABOVE))
    assert check.verdict is PlanVerdict.IMPOSSIBLE
    assert "downgrade" in check.reason


def test_a_path_the_catalog_refuses_is_impossible_not_guessed() -> None:
    # 9.6 can only go to 10.0.0 CU19 first; a window to a 10.0 CU below it has no path.
    low = CATALOG.resolve("10.0.0 CU18")
    stored = plan(FROM, TARGET).model_copy(update={"target": low})
    check = recheck_plan(CATALOG, stored, on("9.6.0 CU0"))
    assert check.verdict is PlanVerdict.IMPOSSIBLE
    assert "10.0.0 CU19" in check.reason


def test_a_mixed_or_unreadable_cluster_cannot_be_planned() -> None:
    mixed = {**on(FROM), "dma-03": MIDDLE}
    assert recheck_plan(CATALOG, plan(FROM, TARGET), mixed).verdict is PlanVerdict.IMPOSSIBLE
    unknown = {**on(FROM), "dma-03": "not a version"}
    assert recheck_plan(CATALOG, plan(FROM, TARGET), unknown).verdict is PlanVerdict.IMPOSSIBLE


def test_a_step_starts_only_from_the_release_it_was_planned_from() -> None:
    stored = plan(FROM, TARGET)
    assert len(stored.steps) >= 2
    assert step_start(stored, 1) == stored.current
    assert step_start(stored, 2) == stored.steps[0].release
    assert step_refusal(CATALOG, stored, 1, on(FROM)) is None
    assert step_refusal(CATALOG, stored, 2, on(stored.steps[0].to_label)) is None
    # step 2 asked for while the agents are still on the start: not where the plan expects
    early = step_refusal(CATALOG, stored, 2, on(FROM))
    assert early is not None and "planned from" in early
    # step 1 over a cluster that another window took past it: never a downgrade
    past = step_refusal(CATALOG, stored, 1, on(ABOVE))
    assert past is not None and "would not be an upgrade" in past
    # hotfixes only once every agent runs the target
    assert step_refusal(CATALOG, stored, None, on(TARGET)) is None
    assert step_refusal(CATALOG, stored, None, on(FROM)) is not None


def test_a_retry_after_a_partial_run_goes_to_the_agents_left_behind_only() -> None:
    stored = plan(FROM, TARGET)
    first = stored.steps[0].to_label
    partial = {"dma-01": first, "dma-02": FROM, "dma-03": first}
    assert step_refusal(CATALOG, stored, 1, partial) is not None  # a first attempt: refused
    again = decide_step(CATALOG, stored, 1, partial, retry=True)
    assert (again.verdict, again.agents) == (StepVerdict.GO, ("dma-02",))
    everyone = decide_step(CATALOG, stored, 1, on(FROM), retry=True)
    assert (everyone.verdict, everyone.agents) == (StepVerdict.GO, ())
    done = decide_step(CATALOG, stored, 1, on(first), retry=True)
    assert done.verdict is StepVerdict.DONE
    paired = decide_step(CATALOG, stored, 1, partial, retry=True, partners={"dma-02": "dma-03"})
    assert paired.agents == ("dma-02", "dma-03")  # a Failover pair is upgraded together
    past = decide_step(CATALOG, stored, 1, {**partial, "dma-03": ABOVE}, retry=True)
    assert past.verdict is StepVerdict.REFUSE


def test_a_step_is_refused_for_an_agent_the_catalog_cannot_place_or_no_agents() -> None:
    stored = plan(FROM, TARGET)
    odd = step_refusal(CATALOG, stored, 1, {**on(FROM), "dma-02": "garbage"})
    assert odd is not None and "dma-02" in odd
    assert step_refusal(CATALOG, stored, 1, {}) is not None


@settings(max_examples=200, deadline=None)
@given(
    start=st.sampled_from([FROM, MIDDLE]),
    targets=st.tuples(st.sampled_from([MIDDLE, TARGET, ABOVE]), st.sampled_from([TARGET, ABOVE])),
    moves=st.lists(st.integers(min_value=0, max_value=1), max_size=12),
    partial_first=st.booleans(),
)
def test_two_windows_on_one_system_never_take_a_step_down(
    start: str, targets: tuple[str, str], moves: list[int], partial_first: bool
) -> None:
    """Two windows planned on day 1 from the same cluster, run in any interleaving: every step
    the guard lets through raises every agent, whatever the other window did before it."""
    versions = on(start)
    plans = []
    for target in targets:
        if CATALOG.resolve(target).version <= CATALOG.identify(start).version:
            return
        plans.append(plan(start, target))
    done = [0, 0]
    retried = -1
    for which in moves:
        number = done[which] + 1
        stored = plans[which]
        if number > len(stored.steps):
            continue
        decision = decide_step(CATALOG, stored, number, versions, retry=which == retried)
        if decision.verdict is StepVerdict.REFUSE:
            continue  # the window halts; a fresh plan would be needed
        goal = stored.steps[number - 1].release.version
        touched = decision.agents or tuple(versions)
        assert all(goal > CATALOG.identify(versions[agent]).version for agent in touched)
        if partial_first and decision.verdict is StepVerdict.GO and len(touched) > 1:
            # one agent fails: the others reach the step, and the window retries it
            versions = {**versions, **dict.fromkeys(touched[1:], stored.steps[number - 1].to_label)}
            retried, partial_first = which, False
            continue
        versions = {**versions, **dict.fromkeys(touched, stored.steps[number - 1].to_label)}
        done[which] = number
