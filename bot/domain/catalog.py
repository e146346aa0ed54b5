"""The release catalog: which DataMiner releases exist, their builds, and which one an agent runs.

The catalog is data (``bot/data/catalog.yml``, generated from Skyline's release notes by
``upgradebot catalog build``, loaded by ``bot/releases.py``); this module only turns an
already-parsed mapping into indexes. Why a build table at all: an MR agent reports
``x.y.0.0-build``, and the CU cannot be derived from that (facts §1, "Consequence [I]"). A CU can
have several builds, and a re-release can be higher than the next CU's build (10.5.0 CU4 is
15943 and 16239, CU5 is 16086: ``KI_ClusterEndpoint_SLNet_leak.md``), so an unknown build is
never placed by its number: it could be any CU of its release (issue #12).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.domain.errors import ConfigError, InvalidVersion, NewerThanCatalog, UnknownVersion
from bot.domain.package_names import StepPackage, upgrade_package_name
from bot.domain.versions import ReleaseKind, Version, parse_version

Line = tuple[int, int]
Number = tuple[int, int, int]
PackageKind = StepPackage


class Release(BaseModel):
    """A release in the catalog, or the approximation of one an agent runs (``exact=False``)."""

    model_config = ConfigDict(frozen=True)

    version: Version
    label: str
    build: int | None = None  # the build of its package: the newest known build of the release
    builds: tuple[int, ...] = ()  # every known build (re-releases included)
    released: date | None = None
    preview: bool = False
    exact: bool = True
    # For an agent whose build the catalog cannot place: the lowest release it could run
    # (``version`` is then the highest the catalog knows of that number).
    lowest: Version | None = None

    @property
    def kind(self) -> ReleaseKind:
        return self.version.kind

    @property
    def number(self) -> Number:
        return (self.version.major, self.version.minor, self.version.feature)

    @classmethod
    def of(
        cls,
        version: Version,
        build: int | None = None,
        released: date | None = None,
        preview: bool = False,
        builds: tuple[int, ...] = (),
    ) -> Release:
        every = tuple(sorted({*builds, *((build,) if build is not None else ())}))
        return cls(
            version=version,
            label=version.label,
            build=every[-1] if every else None,
            builds=every,
            released=released,
            preview=preview,
        )


class CatalogSource(BaseModel):
    """The docs checkout a catalog was generated from (``upgradebot catalog build``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str = "SkylineCommunications/dataminer-docs"
    commit: str
    date: date


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
    builds: list[int] = []
    released: date | None = None
    preview: bool = False
    source: str | None = None  # the release-notes page, or the hand-kept fact's source
    build_source: str | None = None  # where the docs give the builds


def package_name(release: Release, kind: PackageKind = "full") -> str:
    """The package file a step needs (DESIGN "Packages and hotfixes"); the grammar is
    ``bot.domain.package_names``, shared with the package store and the executor."""
    return upgrade_package_name(release.number, release.version.cu or 0, release.build, kind)


DEFAULT_MAX_AGE = timedelta(days=90)


def stale_catalog_sentence(
    catalog: Catalog, today: date, max_age: timedelta = DEFAULT_MAX_AGE
) -> str | None:
    """One sentence when the catalog's docs are older than ``max_age`` (issue #12), else None.
    A catalog that records no docs date is stale by definition: nobody can tell what it knows."""
    built = catalog.docs_date
    if built is not None and today - built <= max_age:
        return None
    newest = ", ".join(r.label for r in catalog.newest_released())
    when = f"Skyline's docs of {built.isoformat()}" if built else "docs of an unknown date"
    age = f" ({(today - built).days} days ago)" if built else ""
    return (
        f"The release catalog was built from {when}{age} and knows releases up to {newest}; "
        "anything Skyline shipped since is unknown to it until a maintainer runs "
        "`upgradebot catalog build --docs <checkout>`."
    )


def _rank(line: Line) -> int:
    """Release lines in order on one axis: 10.6 is next to 10.5, 11.0 next to 10.6."""
    return line[0] * 1000 + line[1]


def _key(v: Version) -> tuple[int, int, int, int | None]:
    return (v.major, v.minor, v.feature, v.cu)


class Catalog:
    """Indexes over the releases; lookups are dictionary reads so planning stays cheap."""

    def __init__(
        self,
        releases: Iterable[Release],
        lifecycles: Mapping[Line, Lifecycle],
        source: CatalogSource | None = None,
    ) -> None:
        self.releases: tuple[Release, ...] = tuple(sorted(releases, key=lambda r: r.version))
        self.lifecycles = dict(lifecycles)
        self.source = source
        self._by_key = {_key(r.version): r for r in self.releases}
        self._by_build = {b: r for r in self.releases for b in r.builds}
        self._by_number: dict[Number, list[Release]] = {}
        for r in self.releases:
            self._by_number.setdefault(r.number, []).append(r)
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
        unknown = set(data) - {"docs", "lifecycle", "lifecycle_source", "releases"}
        if unknown:
            raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}.")
        entries = data.get("releases")
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{source}: `releases` must be a non-empty list.")
        releases = [_release(entry, i, source) for i, entry in enumerate(entries)]
        seen: dict[tuple[int, int, int, int | None], str] = {}
        builds: dict[int, str] = {}
        for r in releases:
            if _key(r.version) in seen:
                raise ConfigError(f"{source}: release `{r.label}` is listed twice.")
            seen[_key(r.version)] = r.label
            for build in r.builds:
                if build in builds:
                    raise ConfigError(
                        f"{source}: build {build} is listed for both `{builds[build]}` and "
                        f"`{r.label}`; a build belongs to one release."
                    )
                builds[build] = r.label
        lifecycles = _lifecycles(data.get("lifecycle") or {}, source)
        return cls(releases, lifecycles, _source(data.get("docs"), source))

    @property
    def docs_date(self) -> date | None:
        """The date of the docs the catalog was generated from, when it records one."""
        return self.source.date if self.source else None

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

    def newest_released(self) -> list[Release]:
        """The newest released CU of the newest main release and the newest feature release."""
        found = []
        if self._latest_cu:
            found.append(self._latest_cu[max(self._latest_cu)])
        if self._latest_fr:
            found.append(max(self._latest_fr.values(), key=lambda r: r.version))
        return found

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
            if self._is_beyond(v):
                shown = self.docs_date.isoformat() if self.docs_date else None
                raise NewerThanCatalog(text.strip(), self.nearest_labels(v), shown)
            raise UnknownVersion(text.strip(), self.nearest_labels(v))
        return found

    def _is_beyond(self, v: Version) -> bool:
        """Above everything the catalog lists for that number (or that main release)."""
        if v.is_main_line_only:
            return all(line < v.line for line in self._lines)
        same = self._by_number.get((v.major, v.minor, v.feature))
        if same:
            return v > same[-1].version
        track = [r for r in self.releases if r.version.line == v.line and r.kind is v.kind]
        return all(r.version < v for r in track or self.releases)

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

        A known build is its release. A raw version that names its CU is that CU, listed or
        not. An unknown build is never placed by its number (re-releases break the order): the
        result spans every release of that number, ``lowest`` to ``version`` (the highest the
        catalog knows), and the planner only plans what is above all of them. Only a main
        release the catalog has never heard of raises UnknownVersion.
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
        return self._unplaced(v)

    def _unplaced(self, v: Version) -> Release:
        """CU unknown: any release of that number, from its first to the newest listed."""
        same = self._by_number.get((v.major, v.minor, v.feature), [])
        first = Version(kind=v.kind, major=v.major, minor=v.minor, feature=v.feature, cu=0)
        low = same[0].version if same else first
        high = same[-1].version if same else first
        shown = f"{v.major}.{v.minor}.{v.feature}"
        return Release(
            version=high,
            label=f"{shown} (build {v.build})" if v.build else f"{shown} (CU unknown)",
            build=v.build,
            exact=False,
            lowest=low,
        )


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
    builds = tuple(parsed.builds)
    return Release.of(version, parsed.build, parsed.released, parsed.preview, builds)


def _source(data: object, source: str) -> CatalogSource | None:
    if data is None:
        return None
    try:
        return CatalogSource.model_validate(data)
    except ValidationError:
        raise ConfigError(
            f"{source}: `docs` must give the docs checkout's `commit` and `date` (YYYY-MM-DD)."
        ) from None


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
