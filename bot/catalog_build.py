"""``upgradebot catalog build``: read a dataminer-docs checkout, write ``bot/data/catalog.yml``.

The parsing is pure (``bot.domain.catalog_build``); this shell only lists and reads the
release-notes pages, asks git which commit and date the checkout is at (unless given), checks
that the result loads as a catalog, and writes it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from bot.domain.catalog import Catalog
from bot.domain.catalog_build import RELEASE_NOTES, build_catalog, is_release_page, to_yaml
from bot.domain.errors import ConfigError
from bot.releases import CATALOG_FILE, DATA_DIR

FACTS_FILE = DATA_DIR / "catalog_facts.yml"


@dataclass(frozen=True)
class BuildResult:
    output: Path
    releases: int
    previews: int
    commit: str
    docs_date: date


def build_catalog_file(
    docs: Path,
    output: Path = CATALOG_FILE,
    facts: Path = FACTS_FILE,
    commit: str | None = None,
    docs_date: date | None = None,
) -> BuildResult:
    """Regenerate the catalog from the checkout at ``docs``; ConfigError says what is wrong."""
    notes = docs / RELEASE_NOTES
    if not notes.is_dir():
        raise ConfigError(
            f"{docs} has no {RELEASE_NOTES} folder; give a checkout of "
            "SkylineCommunications/dataminer-docs."
        )
    pages = {}
    for page in sorted(notes.rglob("*.md")):
        relative = page.relative_to(docs).as_posix()
        if is_release_page(relative):
            pages[relative] = page.read_text(encoding="utf-8-sig")
    if commit is None or docs_date is None:
        found_commit, found_date = _git_head(docs)
        commit, docs_date = commit or found_commit, docs_date or found_date
    try:
        kept = yaml.safe_load(facts.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read the facts file {facts}: {exc}") from None
    mapping = build_catalog(pages, kept, commit, docs_date)
    text = to_yaml(mapping)
    catalog = Catalog.from_mapping(yaml.safe_load(text), source=str(output))
    output.write_text(text, encoding="utf-8")
    previews = sum(1 for r in catalog.releases if r.preview)
    return BuildResult(output, len(catalog.releases), previews, commit, docs_date)


def _git_head(docs: Path) -> tuple[str, date]:
    try:
        shown = subprocess.run(
            ["git", "-C", str(docs), "log", "-1", "--format=%H %cs"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
        return shown[0], date.fromisoformat(shown[1])
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        raise ConfigError(
            f"{docs} is not a git checkout, so its commit and date are unknown; pass "
            "--commit and --date (YYYY-MM-DD)."
        ) from None
