"""The release catalog: which DataMiner releases exist, their builds, and which one an agent runs.

The catalog is data (``bot/data/catalog.yml``, loaded by ``bot/releases.py``); this module only
turns an already-parsed mapping into indexes. Why a build table at all: an MR agent reports
``x.y.0.0-build``, and the CU cannot be derived from that (facts §1, "Consequence [I]").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.domain.errors import ConfigError, InvalidVersion, UnknownVersion
from bot.domain.versions import ReleaseKind, Version, parse_version

Line = tuple[int, int]
PackageKind = Literal["full", "cu"]


class Release(BaseModel):
    """A release in the catalog, or the approximation of one an agent runs (``exact=False``)."""

    model_config = ConfigDict(frozen=True)

    version: Version
    label: str
    build: int | None = None
    released: date | None = None
    preview: bool = False
    exact: bool = True

    @property
    def kind(self) -> ReleaseKind:
        return self.version.kind

    @classmethod
    def of(
        cls,
        version: Version,
        build: int | None = None,
        released: date | None = None,
        preview: bool = False,
    ) -> Release:
        return cls(
            version=version, label=version.label, build=build, released=released, preview=preview
        )


class Lifecycle(BaseModel):
    """Support dates of a main release (facts §1, ``Software_support_life_cycles.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regular_updates_until: date
    supported_until: date
    limited_support_until: date


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    version: str
    build: int | None = None
    released: date | None = None
    preview: bool = False


def package_name(release: Release, kind: PackageKind = "full") -> str:
    """The ``.dmupgrade`` file name a step needs (DESIGN "Packages and hotfixes").

    Pattern from Skyline's storage tool (facts §2): ``DataMiner <a.b.c.d>[(CU<n>)]-<build>
    <Full|Web> Upgrade.dmupgrade``. Our choices [I]: a CU release always carries its ``(CU<n>)``
    tag, because the CU cannot be read from ``x.y.0.0``; the smaller cumulative-update package
    is named ``... CU Upgrade.dmupgrade``; a build the catalog lacks is written ``*`` so the
    pre-check can match the file with a glob.
    """
    v = release.version
    tag = f"(CU{v.cu})" if v.cu else ""
    build = "*" if release.build is None else str(release.build)
    word = "Full" if kind == "full" else "CU"
    return f"DataMiner {v.major}.{v.minor}.{v.feature}.0{tag}-{build} {word} Upgrade.dmupgrade"


def _rank(line: Line) -> int:
    """Release lines in order on one axis: 10.6 is next to 10.5, 11.0 next to 10.6."""
    return line[0] * 1000 + line[1]


def _key(v: Version) -> tuple[int, int, int, int | None]:
    return (v.major, v.minor, v.feature, v.cu)


class Catalog:
    """Indexes over the releases; lookups are dictionary reads so planning stays cheap."""

    def __init__(self, releases: Iterable[Release], lifecycles: Mapping[Line, Lifecycle]) -> None:
        self.releases: tuple[Release, ...] = tuple(sorted(releases, key=lambda r: r.version))
        self.lifecycles = dict(lifecycles)
        self._by_key = {_key(r.version): r for r in self.releases}
        self._by_build = {r.build: r for r in self.releases if r.build is not None}
        released = [r for r in self.releases if not r.preview]
        self._latest_cu: dict[Line, Release] = {}
        self._latest_fr: dict[Line, Release] = {}
        for r in released:  # sorted ascending, so the last one written wins
            table = self._latest_cu if r.kind is ReleaseKind.MAIN else self._latest_fr
            table[r.version.line] = r
        self._lines = {r.version.line for r in self.releases}
        self._labels = [r.label for r in released]
        self._identified: dict[str, Release] = {}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "the catalog") -> Catalog:
        """Build from ``{"lifecycle": {"10.5": {...}}, "releases": [{"version": ...}, ...]}``."""
        unknown = set(data) - {"lifecycle", "releases"}
        if unknown:
            raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}.")
        entries = data.get("releases")
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{source}: `releases` must be a non-empty list.")
        releases = [_release(entry, i, source) for i, entry in enumerate(entries)]
        seen: dict[tuple[int, int, int, int | None], str] = {}
        builds: dict[int, str] = {}
        for r in releases:
            if _key(r.version) in seen or (r.build is not None and r.build in builds):
                raise ConfigError(f"{source}: release `{r.label}` is listed twice.")
            seen[_key(r.version)] = r.label
            if r.build is not None:
                builds[r.build] = r.label
        return cls(releases, _lifecycles(data.get("lifecycle") or {}, source))

    def find(self, version: Version) -> Release | None:
        return self._by_key.get(_key(version))

    def latest_cu(self, line: Line) -> Release | None:
        """The newest released CU of main release ``line`` (previews never count)."""
        return self._latest_cu.get(line)

    def latest_feature(self, line: Line) -> Release | None:
        """The newest released feature release (or FR CU) numbered ``line.x``."""
        return self._latest_fr.get(line)

    def lines(self) -> list[Line]:
        """Every main-release number the catalog lists anything for, oldest first."""
        return sorted(self._lines)

    def main_lines(self) -> list[Line]:
        """Main releases that have at least one released CU, oldest first."""
        return sorted(self._latest_cu)

    def known_labels(self) -> list[str]:
        """Released versions, oldest first (what UnknownVersion lists)."""
        return list(self._labels)

    def resolve(self, text: str) -> Release:
        """The release a person means: ``10.5`` is the latest released 10.5 CU."""
        v = parse_version(text)
        if v.is_main_line_only:
            found = self.latest_cu(v.line)
        elif v.cu is None:
            found = self._by_build.get(v.build or 0)
            if found is not None and not _same_number(found.version, v):
                found = None
        else:
            found = self.find(v)
        if found is None:
            raise UnknownVersion(text.strip(), self.nearest_labels(v))
        return found

    def nearest_labels(self, version: Version, count: int = 8) -> list[str]:
        """The released versions closest to one the catalog does not know, oldest first: those
        of its own release line (nearest CU or build first), else of the nearest line."""
        released = [r for r in self.releases if not r.preview]
        lines = {r.version.line for r in released}
        line = min(
            lines, key=lambda ln: (abs(_rank(ln) - _rank(version.line)), ln), default=version.line
        )
        same = [r for r in released if r.version.line == line]
        wanted = version.cu if version.cu is not None else 10**6 * version.is_main_line_only

        def distance(r: Release) -> tuple[bool, int, int]:
            if version.build is not None:
                return (r.build is None, abs((r.build or 0) - version.build), 0)
            return (
                False,
                abs(version.feature - r.version.feature),
                abs((r.version.cu or 0) - wanted),
            )

        nearest = sorted(same, key=distance)[:count]
        return [r.label for r in sorted(nearest, key=lambda r: r.version)]

    def identify(self, raw: str) -> Release:
        """The release an agent reporting ``raw`` runs; ``exact=False`` when approximated.

        An unknown build falls back to the closest known release of the same number at or
        below that build, else to its first release (CU0), else to the parsed version itself;
        only a main release the catalog has never heard of raises UnknownVersion.
        """
        cached = self._identified.get(raw)
        if cached is None:
            cached = self._identify(raw)
            self._identified[raw] = cached
        return cached

    def _identify(self, raw: str) -> Release:
        v = parse_version(raw)
        hit = self._by_build.get(v.build) if v.build is not None else None
        if hit is not None and _same_number(hit.version, v):
            return hit
        found = self.find(v) if v.cu is not None else None
        if found is not None:
            return found
        if v.line not in self._lines:
            raise UnknownVersion(raw.strip(), self.nearest_labels(v))
        if v.cu is not None:  # a CU the catalog does not list yet: the version itself is certain
            plain = v.without_build
            return Release(version=plain, label=plain.label, build=v.build, exact=False)
        return self._closest(v)

    def _closest(self, v: Version) -> Release:
        """CU unknown: the known release with the highest build at or below ``v.build``."""
        same = [r for r in self.releases if _same_number(r.version, v)]
        below = [r for r in same if r.build is not None and v.build and r.build <= v.build]
        if below:
            version = max(below, key=lambda r: r.build or 0).version
        elif same:
            version = same[0].version
        else:
            version = Version(kind=v.kind, major=v.major, minor=v.minor, feature=v.feature, cu=0)
        shown = f"{v.major}.{v.minor}.{v.feature}"
        label = f"{shown} (build {v.build})" if v.build else f"{shown} (CU unknown)"
        return Release(version=version, label=label, build=v.build, exact=False)


def _same_number(a: Version, b: Version) -> bool:
    return (a.major, a.minor, a.feature) == (b.major, b.minor, b.feature)


def _release(entry: object, index: int, source: str) -> Release:
    where = f"{source}: releases[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a mapping like {{version: 10.5.0 CU3, build: 15300}}.")
    shown = entry.get("version", "?")
    try:
        parsed = _Entry.model_validate(dict(entry))
        version = parse_version(parsed.version)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where} (`{shown}`): {problem}.") from None
    except InvalidVersion:
        raise ConfigError(f"{where}: `{shown}` is not a DataMiner version.") from None
    if version.is_main_line_only or version.cu is None or version.build is not None:
        raise ConfigError(
            f"{where}: write the version as `10.5.0 CU3` or `10.5.4` and the build separately."
        )
    return Release.of(version, parsed.build, parsed.released, parsed.preview)


def _lifecycles(data: object, source: str) -> dict[Line, Lifecycle]:
    if not isinstance(data, Mapping):
        raise ConfigError(f'{source}: `lifecycle` must map a main release like "10.5" to dates.')
    result: dict[Line, Lifecycle] = {}
    for name, dates in data.items():
        try:
            line = parse_version(str(name))
            if not line.is_main_line_only:
                raise InvalidVersion(str(name))
            result[line.line] = Lifecycle.model_validate(dates)
        except (InvalidVersion, ValidationError):
            raise ConfigError(
                f'{source}: lifecycle `{name}` needs a quoted main release like "10.5" and the '
                "dates regular_updates_until, supported_until, limited_support_until."
            ) from None
    return result
