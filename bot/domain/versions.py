"""DataMiner version numbers: what people type and what agents report, as one model.

A DataMiner version is ``major.minor.feature.week-build`` (facts §1, "Version string formats";
``develop/api/NotifyTypes/NT_DATAMINER_INFO.md``). Two release tracks share that numbering:

- a **main release** (MR) keeps ``x.y.0.0`` and ships cumulative updates (CUs) on top of it;
  the CU number is *not* part of the four-part number, only of the package name or the Dojo
  slug (``10.2.0.0-11897-CU4``), so an agent's raw version may leave the CU unknown;
- a **feature release** (FR) is ``x.y.z`` with z from 1 to 12 (10.0.2 to 10.0.13 for the 10.0
  cycle, release-audit D4), occasionally with CUs of its own (10.5.12 CU1).

Ordering follows DataMiner's own comparison (``IDma.IsVersionHigher`` compares the numeric parts,
``release-notes/Code_Libraries/.../*Range_1.2.md``) and breaks ties with the CU: so FR 10.3.12 is
above every 10.3.0 CU, which is why the Update Center never offers a 10.3.0 CU to a 10.3.12 agent
(``Upgrading_a_DataMiner_Agent_in_the_Update_Center.md``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from bot.domain.errors import InvalidVersion

# Longer than any real form ("10.5.4.0-15588-20250319-release" is 31 characters); anything
# longer is garbage and is refused before a regular expression ever sees it.
MAX_VERSION_TEXT = 80

# Sort rank of a "10.5"-style spec: above every CU of that main release, below FR x.y.1.
_LATEST = 1_000_000

# Every quantifier is bounded or separated by literal text, and the input is at most
# MAX_VERSION_TEXT characters, so matching time stays linear.
_VERSION_RE = re.compile(
    r"""
    (?P<nums>\d{1,3}(?:\.\d{1,3}){1,3})                 # 10.5 | 10.5.0 | 10.5.0.0
    (?:\ ?[\[(]?CU\ ?(?P<cu_a>\d{1,3})[\])]?)?          # (CU0) | CU3 | [CU3] | " CU3"
    (?:-(?P<build>\d{1,7}))?                            # -15230
    (?:-CU(?P<cu_b>\d{1,3}))?                           # -CU4 (Dojo slug)
    (?:-(?P<stamp>\d{8})-[a-z][a-z0-9_.]{0,30})?        # -20250319-release (VersionHistory)
    (?:\ ?[\[(]?CU\ ?(?P<cu_c>\d{1,3})[\])]?)?          # build first, then " CU4"
    (?:\ \(build\ (?P<build_b>\d{1,7})\))?              # our own label: "(build 13012)"
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SPACES = re.compile(r"\s+")


class ReleaseKind(StrEnum):
    """The release track a version belongs to (facts §1, ``DataMiner_MR_vs_FR.md``)."""

    MAIN = "main"  # x.y.0 plus cumulative updates; recommended for production
    FEATURE = "feature"  # x.y.z, z >= 1; new features every 4-6 weeks


class Version(BaseModel):
    """One DataMiner version, or a "latest CU of main release x.y" spec.

    ``cu`` is 0 for the first release of an MR or FR and ``None`` when it is unknown: an agent
    that reports ``10.3.0.0-13012`` runs *some* CU of 10.3.0, and only the catalog's build table
    can say which. ``build`` is the build number when one was given. The fourth (week) part of a
    raw version is not kept: the build identifies the exact build.
    """

    model_config = ConfigDict(frozen=True)

    kind: ReleaseKind
    major: int
    minor: int
    feature: int = 0
    cu: int | None = 0
    build: int | None = None
    is_main_line_only: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Version:
        if (self.feature == 0) != (self.kind is ReleaseKind.MAIN):
            raise ValueError("a main release has feature part 0; a feature release does not")
        if self.is_main_line_only and (self.cu is not None or self.build is not None):
            raise ValueError("a main-line spec like 10.5 carries no CU or build")
        if not self.is_main_line_only and self.cu is None and self.build is None:
            raise ValueError("a version without CU needs a build number")
        return self

    @property
    def line(self) -> tuple[int, int]:
        """The main release this version belongs to, e.g. (10, 5) for 10.5.0 CU3 and 10.5.4."""
        return (self.major, self.minor)

    @property
    def line_label(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def sort_key(self) -> tuple[int, int, int, int, int, bool]:
        cu_rank = -1 if self.cu is None else self.cu
        if self.is_main_line_only:
            cu_rank = _LATEST
        build = -1 if self.build is None else self.build
        return (self.major, self.minor, self.feature, cu_rank, build, self.is_main_line_only)

    @property
    def label(self) -> str:
        """Canonical display that ``parse_version`` reads back to an equal Version."""
        if self.is_main_line_only:
            return self.line_label
        text = f"{self.major}.{self.minor}.{self.feature}"
        if self.cu or (self.cu == 0 and self.build is not None):
            text += f" CU{self.cu}"
        if self.build is not None:
            text += f" (build {self.build})"
        return text

    @property
    def without_build(self) -> Version:
        """The same release without the build number (for a version whose CU is known)."""
        if self.build is None or self.cu is None:
            return self
        return self.model_copy(update={"build": None})

    def __str__(self) -> str:
        return self.label

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key < other.sort_key

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key <= other.sort_key

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key > other.sort_key

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key >= other.sort_key


def main_line(major: int, minor: int) -> Version:
    """The spec "latest CU of main release major.minor" (what ``10.5`` means to users)."""
    return Version(kind=ReleaseKind.MAIN, major=major, minor=minor, cu=None, is_main_line_only=True)


def parse_version(text: str) -> Version:
    """Read any version form users type or agents report; raise InvalidVersion otherwise.

    Accepted: ``10.3.0.0-13012``, ``10.2.0.0-11897-CU4``, ``10.5.0 CU3``, ``10.5.0 [CU3]``,
    ``10.5.0.0 CU3``, ``10.5.0CU3``, ``10.5.5.0(CU0)-15664`` (package names), ``10.6.4``,
    ``10.6.4.0-16700``, ``10.5.4.0-15588-20250319-release`` (a ``VersionHistory.txt`` line, with
    or without its ``date time;`` prefix), ``9.6`` and ``10.5`` (latest CU of that main release),
    an optional leading ``DataMiner``, and our own labels such as ``10.3.0 (build 13012)``.
    """
    stripped = text.strip()
    if len(stripped) > MAX_VERSION_TEXT:
        raise InvalidVersion(stripped)
    return _parse_cached(stripped)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Version:
    cleaned = _SPACES.sub(" ", text)
    if ";" in cleaned:  # "2025-03-19 10:02:11;10.5.4.0-15588-20250319-release"
        cleaned = cleaned.rsplit(";", 1)[1].strip()
    if cleaned[:10].lower() == "dataminer ":
        cleaned = cleaned[10:]
    if not cleaned:
        raise InvalidVersion(text)
    match = _VERSION_RE.fullmatch(cleaned)
    if match is None:
        raise InvalidVersion(text)
    try:
        return _from_match(match)
    except (ValueError, ValidationError):
        raise InvalidVersion(text) from None


def _from_match(match: re.Match[str]) -> Version:
    parts = [int(p) for p in match["nums"].split(".")]
    cus = [int(c) for c in (match["cu_a"], match["cu_b"], match["cu_c"]) if c is not None]
    builds = [int(b) for b in (match["build"], match["build_b"]) if b is not None]
    if len(cus) > 1 or len(builds) > 1 or parts[0] == 0:
        raise ValueError("ambiguous or impossible version")
    cu = cus[0] if cus else None
    build = builds[0] if builds else None
    if len(parts) == 2:
        if build is not None:
            raise ValueError("a build needs the full version")
        if cu is None:
            return main_line(parts[0], parts[1])
        parts.append(0)  # "10.5 CU3" means 10.5.0 CU3
    major, minor, feature = parts[0], parts[1], parts[2]
    if cu is None and build is None:
        cu = 0  # "10.5.0" is the main release itself; "10.6.4" the feature release itself
    kind = ReleaseKind.MAIN if feature == 0 else ReleaseKind.FEATURE
    return Version(kind=kind, major=major, minor=minor, feature=feature, cu=cu, build=build)


class VersionRange(BaseModel):
    """Versions between two bounds on one track, as the docs' "affected versions" tables mean.

    Bounds compare with Version ordering; ``high`` is inclusive unless ``high_inclusive`` is
    False ("before 10.6.1"). A main-line spec as upper bound (``10.4``) covers every CU of that
    main release. ``kind`` restricts the track: FR ranges such as 10.4.11–10.5.2 would otherwise
    also contain MR 10.5.0, which sorts between them.
    """

    model_config = ConfigDict(frozen=True)

    low: Version | None = None
    high: Version | None = None
    high_inclusive: bool = True
    kind: ReleaseKind | None = None

    def __contains__(self, version: object) -> bool:
        if not isinstance(version, Version):
            return False
        if self.kind is not None and version.kind is not self.kind:
            return False
        if self.low is not None and version < self.low:
            return False
        if self.high is None:
            return True
        return version <= self.high if self.high_inclusive else version < self.high

    @property
    def label(self) -> str:
        low = self.low.label if self.low else "any version"
        if self.high is None:
            return f"{low} onwards"
        if self.high_inclusive:
            return f"{low} – {self.high.label}"
        return f"{low} – before {self.high.label}"

    @classmethod
    def of(
        cls,
        low: str | None = None,
        high: str | None = None,
        *,
        before: str | None = None,
        kind: ReleaseKind | Literal["any", "derive"] = "derive",
    ) -> VersionRange:
        """Build from version texts. ``kind="derive"`` takes the track of the bounds when they
        agree (two MR bounds make an MR range) and allows both tracks otherwise."""
        if high is not None and before is not None:
            raise ValueError("give `to` or `before`, not both")
        lo = parse_version(low) if low is not None else None
        upper = high if high is not None else before
        hi = parse_version(upper) if upper is not None else None
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"the range {lo} – {hi} is empty")
        track: ReleaseKind | None = None
        if isinstance(kind, ReleaseKind):
            track = kind
        elif kind == "derive":
            kinds = {b.kind for b in (lo, hi) if b is not None}
            track = kinds.pop() if len(kinds) == 1 else None
        return cls(low=lo, high=hi, high_inclusive=before is None, kind=track)
