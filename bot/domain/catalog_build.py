"""Building the release catalog from Skyline's release notes plus a small file of hand-kept facts.

Every Main Release CU and every Feature Release (and FR CU) of DataMiner has a page in
``SkylineCommunications/dataminer-docs`` at ``release-notes/General/General_<Main|Feature>_
Release_<x.y>/General_<Main|Feature>_Release_<x.y.z>[_CU<n>].md`` whose title says whether it is
still a preview (``# General Main Release 10.5.0 CU19 - Preview``). That is the list of releases.
What the release notes do not say (build numbers, which the docs give on other pages; releases
without release notes such as 9.6.0; the support lifecycle) is kept by hand in
``bot/data/catalog_facts.yml``, each fact with its source. This module is the pure part: page
texts in, the catalog mapping (what ``Catalog.from_mapping`` reads) and its YAML text out. The
shell (``bot/catalog_build.py``) reads the checkout and writes the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.domain.errors import ConfigError, InvalidVersion
from bot.domain.versions import Version, parse_version

RELEASE_NOTES = "release-notes/General/"
_PAGE = re.compile(
    r"(?:.*/)?General_(?P<track>Main|Feature)_Release_(?P<number>\d{1,3}\.\d{1,3}\.\d{1,3})"
    r"(?:_CU(?P<cu>\d{1,3}))?\.md"
)
_TITLE = re.compile(
    r"^#[ \t]+General[ \t]+(?P<track>Main|Feature)[ \t]+Release[ \t]+"
    r"(?P<number>\d{1,3}\.\d{1,3}\.\d{1,3})(?:[ \t]+CU(?P<cu>\d{1,3}))?(?P<rest>[^\n]*)$",
    re.MULTILINE,
)


class PageRelease(BaseModel):
    """One release as its release-notes page gives it."""

    model_config = ConfigDict(frozen=True)

    version: Version
    preview: bool
    source: str


class _Facts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    releases: list[dict[str, Any]] = []
    builds: list[dict[str, Any]] = []
    lifecycle: dict[str, Any] = {}


def is_release_page(path: str) -> bool:
    """Whether ``path`` (relative to the checkout) is the main page of one release."""
    return path.startswith(RELEASE_NOTES) and _PAGE.fullmatch(path) is not None


def read_page(path: str, text: str) -> PageRelease:
    """The release a page is about; its title must agree with its file name."""
    named = _PAGE.fullmatch(path)
    title = _TITLE.search(text)
    if named is None or title is None:
        raise ConfigError(f"{path}: no `# General Main|Feature Release x.y.z [CUn]` title.")
    if (named["track"], named["number"], named["cu"]) != (
        title["track"],
        title["number"],
        title["cu"],
    ):
        raise ConfigError(f"{path}: the title names another release than the file name.")
    cu = f" CU{int(named['cu'])}" if named["cu"] else ""
    version = parse_version(f"{named['number']}{cu}")
    if (named["track"] == "Main") != (version.feature == 0):
        raise ConfigError(f"{path}: a {named['track']} Release cannot be {version.label}.")
    return PageRelease(version=version, preview="preview" in title["rest"].casefold(), source=path)


def build_catalog(
    pages: Mapping[str, str], facts: Mapping[str, Any], commit: str, docs_date: date
) -> dict[str, Any]:
    """The catalog mapping from release-notes pages (path → text) and the hand-kept facts."""
    try:
        kept = _Facts.model_validate(dict(facts))
    except ValidationError:
        raise ConfigError(
            "The facts file holds `releases`, `builds` and `lifecycle` and nothing else."
        ) from None
    found: dict[Version, dict[str, Any]] = {}
    for path in sorted(p for p in pages if is_release_page(p)):
        page = read_page(path, pages[path])
        if page.version in found:
            raise ConfigError(f"{path}: {page.version.label} has a second page.")
        entry: dict[str, Any] = {"version": page.version.label}
        if page.preview:
            entry["preview"] = True
        entry["source"] = path
        found[page.version] = entry
    if not found:
        raise ConfigError(f"No release-notes pages under {RELEASE_NOTES}: is this a docs checkout?")
    for fact in kept.releases:
        version = _version(fact, "releases")
        found.setdefault(version, {"version": version.label, "source": _source(fact)})
    for fact in kept.builds:
        version = _version(fact, "builds")
        if version not in found:
            raise ConfigError(f"builds: {version.label} has no release-notes page or fact.")
        builds = fact.get("builds")
        if not isinstance(builds, list) or not all(isinstance(b, int) for b in builds):
            raise ConfigError(f"builds: {version.label} needs `builds: [number, ...]`.")
        entry = found[version]
        entry["builds"] = sorted({*entry.get("builds", []), *builds})
        entry["build_source"] = _source(fact)
    return {
        "docs": {
            "repository": "SkylineCommunications/dataminer-docs",
            "commit": commit,
            "date": docs_date,
        },
        "lifecycle": dict(kept.lifecycle.get("lines") or {}),
        "lifecycle_source": kept.lifecycle.get("source"),
        "releases": [found[v] for v in sorted(found)],
    }


def _version(fact: Mapping[str, Any], where: str) -> Version:
    try:
        version = parse_version(str(fact.get("version", "")))
    except InvalidVersion:
        raise ConfigError(f"{where}: `{fact.get('version')}` is not a DataMiner version.") from None
    if version.is_main_line_only or version.build is not None:
        raise ConfigError(f"{where}: write `{fact.get('version')}` like 10.5.0 CU3 or 10.5.4.")
    return version


def _source(fact: Mapping[str, Any]) -> str:
    source = fact.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"`{fact.get('version')}`: every hand-kept fact needs its `source`.")
    return source


HEADER = """\
# The release catalog: every DataMiner release upgradebot can plan from or to.
#
# GENERATED by `upgradebot catalog build --docs <dataminer-docs checkout>`; do not edit by hand.
# Releases and their preview flags come from the release-notes pages (`source`); builds,
# releases without release notes and the support lifecycle come from bot/data/catalog_facts.yml,
# each with its source (`build_source`, `lifecycle_source`). To add a fact, edit that file and
# build again. A config can point at its own copy (`catalog:` in upgradebot.yml).
"""


def to_yaml(catalog: Mapping[str, Any]) -> str:
    """The catalog as YAML, one release a line, so a rebuild's diff reads as what changed."""
    docs = catalog["docs"]
    lines = [
        HEADER,
        f"docs: {{repository: {docs['repository']}, commit: {docs['commit']}, "
        f"date: {docs['date'].isoformat()}}}",
        "",
    ]
    lifecycle = catalog["lifecycle"]
    if catalog.get("lifecycle_source"):
        lines.append(f"# lifecycle source: {catalog['lifecycle_source']}")
    lines.append("lifecycle:" + ("" if lifecycle else " {}"))
    for line, dates in lifecycle.items():
        shown = ", ".join(f"{key}: {_scalar(value)}" for key, value in dates.items())
        lines.append(f'  "{line}": {{{shown}}}')
    lines += ["", "releases:"]
    for entry in catalog["releases"]:
        shown = ", ".join(f"{key}: {_scalar(value)}" for key, value in entry.items())
        lines.append(f"  - {{{shown}}}")
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, str) and re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){2}(?: CU\d{1,3})?", value):
        return value
    return json.dumps(value)
