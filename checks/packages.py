"""Are the packages of the path in the store, and still the files first seen there?

The store records each file's size and SHA-256 the first time it sees it and refuses a file that
changed since (DESIGN "Packages and hotfixes"): a package swapped under the bot's feet between
the pre-check and the upgrade is exactly what a change record must not hide.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.paths import UpgradePlan
from checks.common import plural, result, to_date, to_size, unreadable, without_plan
from checks.models import CheckResult, CheckSettings, CheckStatus, ClusterSnapshot, PackageState


def needed_packages(plan: UpgradePlan, hotfixes: Sequence[str] = ()) -> list[str]:
    """Every file the path installs, in the order it installs them: each step's prerequisite
    packages, then its package; then the hotfixes, installed after the last step. A file needed
    twice is listed once, where it is first needed."""
    names: list[str] = []
    for step in plan.steps:
        names += [*step.prerequisite_packages, step.package]
    names += list(hotfixes)
    return list(dict.fromkeys(names))


def check_packages(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    """Every needed package is in the store, exactly one file per name, unchanged in size and
    checksum since it was first seen."""
    key, title = "packages", "Packages"
    if plan is None:
        return without_plan(key, title)
    if snapshot.packages is None:
        return unreadable(key, title, snapshot, "packages")
    states = {state.name: state for state in snapshot.packages}
    needed = needed_packages(plan, settings.hotfixes)
    facts: dict[str, str] = {}
    problems: list[str] = []
    fine: list[str] = []
    for name in needed:
        fact, line = _verdict(name, states.get(name))
        facts[name] = fact
        (fine if fact == "ok" else problems).append(line)
    if not needed:
        return result(key, title, CheckStatus.PASS, "The path needs no packages.")
    if problems:
        summary = (
            " ".join(problems)
            if len(problems) == 1
            else (f"{len(problems)} of {len(needed)} packages are missing or refused.")
        )
        return result(key, title, CheckStatus.FAIL, summary, problems + fine, facts)
    summary = (
        f"Every package is in the store, unchanged since first seen "
        f"({plural(len(needed), 'package')})."
    )
    return result(key, title, CheckStatus.PASS, summary, fine, facts)


def _verdict(name: str, state: PackageState | None) -> tuple[str, str]:
    """(fact, sentence) for one needed package."""
    if state is None:
        return "not looked for", f"Not looked for in the store: {name}."
    where = state.directory or "the package store"
    if state.candidates:
        files = ", ".join(state.candidates)
        return "ambiguous", f"Several files in {where} match {name}: {files}; keep exactly one."
    if not state.present:
        return "missing", f"Missing: {name} (not in {where})."
    file = state.file or name
    if state.changed_since_first_seen:
        seen = f" on {to_date(state.first_seen)}" if state.first_seen else ""
        return "changed", (
            f"Refused: {file} changed since first seen{seen} "
            f"(then {_fingerprint(state.first_seen_size, state.first_seen_sha256)}, "
            f"now {_fingerprint(state.size, state.sha256)}). If it was replaced on purpose, "
            f'run `upgradebot accept-package "{file}"` on the bot\'s host.'
        )
    return "ok", f"{file}: {_fingerprint(state.size, state.sha256)}."


def _fingerprint(size: int | None, sha256: str | None) -> str:
    shown_size = "unknown size" if size is None else f"{size:,} bytes ({to_size(size)})"
    return f"{shown_size}, SHA-256 {sha256 or 'unknown'}"
