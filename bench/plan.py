"""How fast is upgrade planning? Plans 10,000 random (from, to) pairs over the shipped catalog.

Run: ``.venv/bin/python bench/plan.py [--pairs 10000] [--runs 5] [--seed 7]``

Each run resolves the target and plans a three-agent cluster with the known-issue list, as the
bot does per proposal. The baseline, measured in the same process, only parses the two version
strings of each pair; the ratio says how much planning costs next to reading the input. Figures
are the median of the runs. Target: more than 20,000 plans per second.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from bot.domain.catalog import Catalog
from bot.domain.known_issues import KnownIssues
from bot.domain.paths import plan_upgrade
from bot.domain.versions import parse_version
from bot.releases import load_catalog, load_known_issues

Pair = tuple[str, str]


def random_pairs(catalog: Catalog, count: int, seed: int) -> list[Pair]:
    """Upward pairs of released versions; the current side as an agent reports it when the
    catalog knows its build (``10.4.0.0-15230``), else as its label."""
    rng = random.Random(seed)
    released = [r for r in catalog.releases if not r.preview]
    pairs: list[Pair] = []
    while len(pairs) < count:
        a, b = sorted(rng.sample(released, 2), key=lambda r: r.version)
        if a.version.line < (10, 0) <= b.version.line and b.version < parse_version("10.0.0 CU19"):
            continue  # no documented path (9.6 must go to 10.0.0 CU19 or later)
        v = a.version
        raw = f"{v.major}.{v.minor}.{v.feature}.0-{a.build}" if a.build else a.label
        pairs.append((raw, b.label))
    return pairs


def plan_all(catalog: Catalog, issues: KnownIssues, pairs: list[Pair]) -> None:
    for frm, to in pairs:
        agents = {"dma-01": frm, "dma-02": frm, "dma-03": frm}
        plan_upgrade(catalog, agents, catalog.resolve(to), issues)


def parse_all(pairs: list[Pair]) -> None:
    for frm, to in pairs:
        parse_version(frm)
        parse_version(to)


def per_second(work: Callable[[], None], items: int, runs: int) -> tuple[float, float]:
    """(median, first run) items per second; the first run fills the planner's caches."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        rates.append(items / (time.perf_counter() - started))
    return statistics.median(rates), rates[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    catalog, issues = load_catalog(), load_known_issues()
    pairs = random_pairs(catalog, args.pairs, args.seed)
    plans, cold = per_second(lambda: plan_all(catalog, issues, pairs), len(pairs), args.runs)
    baseline, _ = per_second(lambda: parse_all(pairs), len(pairs), args.runs)
    distinct = len(set(pairs))
    print(f"pairs: {len(pairs)} ({distinct} distinct), runs: {args.runs}, median figures")
    print(f"planning:            {plans:12,.0f} plans/s")
    print(f"  first run (cold):  {cold:12,.0f} plans/s")
    print(f"baseline (parsing):  {baseline:12,.0f} pairs/s")
    print(f"ratio plan/baseline: {plans / baseline:12.3f}")
    print(f"target > 20,000 plans/s: {'met' if plans > 20_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
