"""Loading the release catalog and the known-issue list from YAML (the shell around the domain).

Both files ship in ``bot/data/``; a team can point its config at its own copies, for instance
to add a CU before upgradebot's next release. Every problem becomes a ConfigError that names the
file and the entry, so the bot refuses to start with a sentence instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.domain.catalog import Catalog
from bot.domain.errors import ConfigError
from bot.domain.known_issues import KnownIssues

DATA_DIR = Path(__file__).resolve().parent / "data"
CATALOG_FILE = DATA_DIR / "catalog.yml"
KNOWN_ISSUES_FILE = DATA_DIR / "known_issues.yml"


def load_catalog(path: Path | None = None) -> Catalog:
    """The release catalog from ``path`` (default: the one shipped in ``bot/data``)."""
    source = path or CATALOG_FILE
    return Catalog.from_mapping(_read(source), source=str(source))


def load_known_issues(path: Path | None = None) -> KnownIssues:
    """The known-issue list from ``path`` (default: the one shipped in ``bot/data``)."""
    source = path or KNOWN_ISSUES_FILE
    return KnownIssues.from_mapping(_read(source), source=str(source))


def _read(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must hold a YAML mapping at the top level.")
    return data
