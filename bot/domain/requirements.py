"""What an agent must have installed before it can run a DataMiner version.

Every step of a path has its own needs. Modern upgrades do not install the ASP.NET Core
runtimes (VerifyDotNetVersion blocks instead), so an agent must meet the union of every step's
requirements before the first step starts, not only the target's. Older packages did install
some (.NET Framework 4.8 from 10.1.11/10.2.0, RN 31120, which reboots the agent: counted in the
estimate); demanding them up front is the safe side (release-audit D51). Tables: facts §3,
``dataminer/Reference/DataMiner_Compute_Requirements.md`` and ``Preparing_to_upgrade...md``.
``describe_requirements`` names the page the tables come from (issue #12, item 6).

Rows are read as version ranges. Where a row names only feature releases ("FR 10.1.12–10.3.2"),
main releases whose number falls inside it (MR 10.2.0) are taken to need the same [I]; the rows
that name MR CUs explicitly (10.3.0–10.6.0) win over that reading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bot.domain import sources as src
from bot.domain.versions import ReleaseKind, Version, VersionRange

_R = VersionRange.of
_ANY: Final = "any"
_FW = "dotnet_framework"
_VC2010 = "vcpp_2010"
_VC = "vcpp_minimum"
_OS = "windows_server_minimum"

# (range, .NET Framework minimum, ASP.NET Core Hosting Bundle majors); first match wins.
_DOTNET: tuple[tuple[VersionRange, str, tuple[int, ...]], ...] = (
    (_R("10.3.0", "10.3.0 CU2"), "4.8", (5,)),
    (_R("10.3.0 CU3", "10.3.0 CU11"), "4.8", (5, 6)),
    (_R("10.3.0 CU12", "10.3.0 CU18"), "4.8", (6, 8)),
    (_R("10.3.0 CU19", "10.3"), "4.8", (8,)),
    (_R("10.4.0", "10.4.0 CU6"), "4.8", (6, 8)),
    (_R("10.4.0 CU7", "10.4"), "4.8", (8,)),
    (_R("10.5.0", "10.5.0 CU9"), "4.8", (8,)),
    (_R("10.5.0 CU10", "10.5"), "4.8", (8, 10)),
    (_R("10.6.0", kind=ReleaseKind.MAIN), "4.8", (8, 10)),
    (_R(before="10.1.11", kind=_ANY), "4.6.2", ()),
    (_R("10.1.11", before="10.1.12", kind=_ANY), "4.8", ()),
    (_R("10.1.12", before="10.3.3", kind=_ANY), "4.8", (5,)),
    (_R("10.3.3", before="10.3.9", kind=_ANY), "4.8", (5, 6)),
    (_R("10.3.9", before="10.4.3", kind=_ANY), "4.8", (6,)),
    (_R("10.4.3", before="10.4.10", kind=_ANY), "4.8", (6, 8)),
    (_R("10.4.10", before="10.6.1", kind=_ANY), "4.8", (8,)),
    (_R("10.6.1", kind=_ANY), "4.8", (8, 10)),
)

# Only VC++ 2015+ from 10.3.9/10.3.0 CU6/10.2.0 CU18; before that VC++ 2010 must stay, and
# "both Microsoft Visual C++ 2010 and Microsoft Visual C++ 2015 or newer are required" (D53).
_VCPP_2015_ONLY = (_R("10.2.0 CU18", "10.2"), _R("10.3.0 CU6", "10.3"), _R("10.3.9", kind=_ANY))
# The FR for 14.44 is 10.6.2 on one page and 10.6.3 on the other: the earlier one is kept [I].
_VCPP: tuple[tuple[tuple[VersionRange, ...], str], ...] = (
    (
        (_R("10.5.0 CU11", "10.5"), _R("10.6.0 CU1", "10.6"), _R("10.6.2", kind=_ANY)),
        "14.44.35211.0",
    ),
    ((_R("10.5.0", "10.5"), _R("10.5.2", kind=_ANY)), "14.40.33816"),
    ((_R(kind=_ANY),), "14.0"),
)
# VerifyOSVersion from 10.5.12/10.6.0 blocks anything older than Windows Server 2016 / Windows 10.
_WINDOWS_2016 = (_R("10.5.12", kind=ReleaseKind.FEATURE), _R("10.6.0", kind=ReleaseKind.MAIN))

_NUMBERS = re.compile(r"\d{1,6}(?:\.\d{1,6}){0,3}")


class Requirements(BaseModel):
    """Minimum software for one version, or the union over a path.

    ``needed_by`` says which step (or version) asks for each item, keyed ``dotnet_framework``,
    ``aspnet_core:<major>``, ``vcpp_2010``, ``vcpp_minimum`` and ``windows_server_minimum``.
    """

    model_config = ConfigDict(frozen=True)

    dotnet_framework: str | None = None
    aspnet_core: tuple[int, ...] = ()  # Hosting Bundle majors; majors are not interchangeable
    vcpp_2010: bool = False  # the VC++ 2010 redistributable must still be installed
    vcpp_minimum: str | None = None  # VC++ 2015-2022 (v14) redistributable; "14.0" = any 2015+
    windows_server_minimum: int | None = None  # or the matching client Windows (2016 = 10)
    needed_by: dict[str, str] = Field(default_factory=dict)


class InstalledSoftware(BaseModel):
    """What one agent reports; ``None`` means it did not report that item."""

    model_config = ConfigDict(frozen=True)

    agent: str
    dotnet_framework: str | None = None
    aspnet_core: tuple[str, ...] | None = None  # installed Hosting Bundles, e.g. ("6.0.36",)
    vcpp_2010: bool | None = None
    vcpp: str | None = None  # VC++ 2015-2022 redistributable version, e.g. "14.40.33816.0"
    windows: str | None = None  # e.g. "Windows Server 2019 Standard"


class _HasRequirements(Protocol):
    @property
    def requirements(self) -> Requirements: ...


class _HasSteps(Protocol):
    @property
    def steps(self) -> Sequence[_HasRequirements]: ...


@lru_cache(maxsize=1024)
def requirements_for(version: Version) -> Requirements:
    """The minimum software ``version`` needs; an unknown CU is read as CU0."""
    if version.cu is None and not version.is_main_line_only:
        version = version.model_copy(update={"cu": 0, "build": None})
    framework, aspnet = next((fw, a) for r, fw, a in _DOTNET if version in r)
    vcpp = next((v for ranges, v in _VCPP if any(version in r for r in ranges)), None)
    keep_2010 = not any(version in r for r in _VCPP_2015_ONLY)
    windows = 2016 if any(version in r for r in _WINDOWS_2016) else None
    keys = [_FW, *(f"aspnet_core:{m}" for m in aspnet)]
    keys += [k for k, on in ((_VC2010, keep_2010), (_VC, vcpp), (_OS, windows)) if on]
    return Requirements(
        dotnet_framework=framework,
        aspnet_core=aspnet,
        vcpp_2010=keep_2010,
        vcpp_minimum=vcpp,
        windows_server_minimum=windows,
        needed_by=dict.fromkeys(keys, version.label),
    )


def attributed(requirements: Requirements, source: str) -> Requirements:
    """The same requirements, each item credited to ``source`` (e.g. "step 2: 10.5.0 CU18")."""
    credited = dict.fromkeys(requirements.needed_by, source)
    return requirements.model_copy(update={"needed_by": credited})


def merge(parts: Iterable[Requirements]) -> Requirements:
    """The union: the highest minimum of each item, every runtime major anyone needs. Each item
    keeps the first source that needs its final value."""
    fw: str | None = None
    vcpp: str | None = None
    windows: int | None = None
    majors: dict[int, str] = {}
    keep_2010 = False
    sources: dict[str, str] = {}
    for part in parts:
        src = part.needed_by
        if part.dotnet_framework and (fw is None or _num(part.dotnet_framework) > _num(fw)):
            fw, sources[_FW] = part.dotnet_framework, src[_FW]
        if part.vcpp_minimum and (vcpp is None or _num(part.vcpp_minimum) > _num(vcpp)):
            vcpp, sources[_VC] = part.vcpp_minimum, src[_VC]
        if part.windows_server_minimum and (windows or 0) < part.windows_server_minimum:
            windows, sources[_OS] = part.windows_server_minimum, src[_OS]
        if part.vcpp_2010 and not keep_2010:
            keep_2010, sources[_VC2010] = True, src[_VC2010]
        for major in part.aspnet_core:
            majors.setdefault(major, src[f"aspnet_core:{major}"])
    sources.update({f"aspnet_core:{m}": s for m, s in majors.items()})
    return Requirements(
        dotnet_framework=fw,
        aspnet_core=tuple(sorted(majors)),
        vcpp_2010=keep_2010,
        vcpp_minimum=vcpp,
        windows_server_minimum=windows,
        needed_by=sources,
    )


def combined_requirements(plan: _HasSteps) -> Requirements:
    """What the agents need before step 1: the union of every step of the plan."""
    return merge(step.requirements for step in plan.steps)


def unmet_requirements(required: Requirements, installed: InstalledSoftware) -> list[str]:
    """One sentence per requirement the agent does not meet, or does not report."""
    agent, src = installed.agent, required.needed_by
    out: list[str] = []
    if required.dotnet_framework and not _at_least(
        installed.dotnet_framework, required.dotnet_framework
    ):
        have = installed.dotnet_framework
        out.append(_sentence(f".NET Framework {required.dotnet_framework}", src[_FW], agent, have))
    have_majors = {_num(v)[:1] for v in installed.aspnet_core or ()}
    for major in required.aspnet_core:
        if (major,) not in have_majors:
            listed = ", ".join(installed.aspnet_core or ()) or "none"
            have = None if installed.aspnet_core is None else listed
            need = f"ASP.NET Core {major}.0"
            out.append(_sentence(need, src[f"aspnet_core:{major}"], agent, have))
    if required.vcpp_2010 and not installed.vcpp_2010:
        have = None if installed.vcpp_2010 is None else "none"
        need = "the Visual C++ 2010 redistributable (keep it until 10.3.9/10.3.0 CU6/10.2.0 CU18)"
        out.append(_sentence(need, src[_VC2010], agent, have))
    if required.vcpp_minimum and not _at_least(installed.vcpp, required.vcpp_minimum):
        need = f"the Visual C++ 2015-2022 redistributable{_min_text(required.vcpp_minimum)}"
        note = " (the upgrade installs it itself and may reboot the agent)"
        out.append(_sentence(need, src[_VC], agent, installed.vcpp, note))
    if required.windows_server_minimum and not _windows_ok(
        installed.windows, required.windows_server_minimum
    ):
        need = f"Windows Server {required.windows_server_minimum} or later (or Windows 10+)"
        out.append(_sentence(need, src[_OS], agent, installed.windows))
    return out


def _sentence(need: str, source: str, agent: str, have: str | None, note: str = "") -> str:
    found = "did not report it" if have is None else f"has {have}"
    return f"needs {need} ({source}); {agent} {found}{note}"


def describe_requirements(required: Requirements) -> str:
    """One line for a proposal: what a step needs installed, with the page that says so."""
    parts = [f".NET Framework {required.dotnet_framework}"] if required.dotnet_framework else []
    parts += [f"ASP.NET Core {major}.0 Hosting Bundle" for major in required.aspnet_core]
    if required.vcpp_2010:
        parts.append("Visual C++ 2010")
    if required.vcpp_minimum:
        parts.append(f"Visual C++ 2015-2022{_min_text(required.vcpp_minimum)}")
    if required.windows_server_minimum:
        parts.append(f"Windows Server {required.windows_server_minimum}+ (or Windows 10+)")
    return src.cite(f"Needs {', '.join(parts) or 'nothing listed'}.", src.REQUIREMENTS)


def _min_text(vcpp: str) -> str:
    return "" if vcpp == "14.0" else f" {vcpp} or later"


def _num(text: str) -> tuple[int, ...]:
    match = _NUMBERS.search(text)
    return tuple(int(p) for p in match.group().split(".")) if match else ()


def _at_least(have: str | None, need: str) -> bool:
    return have is not None and _num(have) >= _num(need) and _num(have) != ()


def _windows_ok(have: str | None, server_year: int) -> bool:
    if have is None:
        return False
    text = have.lower()
    numbers = _num(text)
    if not numbers:
        return False
    if "server" in text:
        return numbers[0] >= server_year
    return numbers[0] >= 10  # Windows 10/11 clients pass VerifyOSVersion (facts §3)
