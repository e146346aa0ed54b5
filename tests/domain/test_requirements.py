"""Per-version minimum software (facts §3, ``DataMiner_Compute_Requirements.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.domain.paths import plan_upgrade
from bot.domain.requirements import (
    InstalledSoftware,
    Requirements,
    attributed,
    combined_requirements,
    merge,
    requirements_for,
    unmet_requirements,
)
from bot.domain.versions import parse_version
from bot.releases import load_catalog

CATALOG = load_catalog()

# version -> (.NET Framework, ASP.NET Core majors, keep VC++ 2010, VC++ minimum, Windows Server)
TABLE = [
    ("9.6.0", "4.6.2", (), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.0.0 CU19", "4.6.2", (), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.1.0 CU9", "4.6.2", (), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.1.10", "4.6.2", (), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.1.11", "4.8", (), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.1.12", "4.8", (5,), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.2.0 CU4", "4.8", (5,), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.2.0 CU18", "4.8", (5,), False, "14.0", None),
    ("10.2.9", "4.8", (5,), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.3.0 CU2", "4.8", (5,), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.3.0 CU3", "4.8", (5, 6), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.3.0 CU6", "4.8", (5, 6), False, "14.0", None),
    ("10.3.0 CU11", "4.8", (5, 6), False, "14.0", None),
    ("10.3.0 CU12", "4.8", (6, 8), False, "14.0", None),
    ("10.3.0 CU19", "4.8", (8,), False, "14.0", None),
    ("10.3.2", "4.8", (5,), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.3.5", "4.8", (5, 6), True, "14.0", None),  # D53: VC++ 2010 and 2015+
    ("10.3.9", "4.8", (6,), False, "14.0", None),
    ("10.4.2", "4.8", (6,), False, "14.0", None),
    ("10.4.0", "4.8", (6, 8), False, "14.0", None),
    ("10.4.0 CU6", "4.8", (6, 8), False, "14.0", None),
    ("10.4.0 CU7", "4.8", (8,), False, "14.0", None),
    ("10.4.3", "4.8", (6, 8), False, "14.0", None),
    ("10.4.9", "4.8", (6, 8), False, "14.0", None),
    ("10.4.10", "4.8", (8,), False, "14.0", None),
    ("10.5.0", "4.8", (8,), False, "14.40.33816", None),
    ("10.5.0 CU9", "4.8", (8,), False, "14.40.33816", None),
    ("10.5.0 CU10", "4.8", (8, 10), False, "14.40.33816", None),
    ("10.5.0 CU11", "4.8", (8, 10), False, "14.44.35211.0", None),
    ("10.5.0 CU18", "4.8", (8, 10), False, "14.44.35211.0", None),
    ("10.5.1", "4.8", (8,), False, "14.0", None),
    ("10.5.2", "4.8", (8,), False, "14.40.33816", None),
    ("10.5.12", "4.8", (8,), False, "14.40.33816", 2016),
    ("10.5.12 CU2", "4.8", (8,), False, "14.40.33816", 2016),
    ("10.6.0", "4.8", (8, 10), False, "14.40.33816", 2016),
    ("10.6.0 CU1", "4.8", (8, 10), False, "14.44.35211.0", 2016),
    ("10.6.1", "4.8", (8, 10), False, "14.40.33816", 2016),
    ("10.6.2", "4.8", (8, 10), False, "14.44.35211.0", 2016),
    ("10.7.0", "4.8", (8, 10), False, "14.44.35211.0", 2016),
    ("10.5", "4.8", (8, 10), False, "14.44.35211.0", None),
    ("10.3.0.0-13012", "4.8", (5,), True, "14.0", None),  # CU unknown: read as CU0
]


@pytest.mark.parametrize(("text", "fw", "aspnet", "vc2010", "vcpp", "windows"), TABLE)
def test_the_requirement_tables(
    text: str,
    fw: str,
    aspnet: tuple[int, ...],
    vc2010: bool,
    vcpp: str | None,
    windows: int | None,
) -> None:
    r = requirements_for(parse_version(text))
    assert (r.dotnet_framework, r.aspnet_core, r.vcpp_2010) == (fw, aspnet, vc2010)
    assert (r.vcpp_minimum, r.windows_server_minimum) == (vcpp, windows)


def test_each_item_names_the_version_that_needs_it() -> None:
    r = requirements_for(parse_version("10.6.0 CU1"))
    assert r.needed_by == {
        "dotnet_framework": "10.6.0 CU1",
        "aspnet_core:8": "10.6.0 CU1",
        "aspnet_core:10": "10.6.0 CU1",
        "vcpp_minimum": "10.6.0 CU1",
        "windows_server_minimum": "10.6.0 CU1",
    }
    assert "vcpp_2010" in requirements_for(parse_version("9.6.0")).needed_by
    credited = attributed(r, "step 3: 10.6.0 CU1")
    assert set(credited.needed_by.values()) == {"step 3: 10.6.0 CU1"}


def test_the_union_over_a_plan_keeps_every_step_and_its_first_source() -> None:
    plan = plan_upgrade(CATALOG, {"dma-01": "9.6.0"}, CATALOG.resolve("10.6"))
    union = combined_requirements(plan)
    assert union.dotnet_framework == "4.8"
    assert union.aspnet_core == (5, 8, 10)
    assert union.vcpp_2010 is True
    assert union.vcpp_minimum == "14.44.35211.0"
    assert union.windows_server_minimum == 2016
    assert union.needed_by == {
        "dotnet_framework": "step 2: 10.2.0 CU21",
        "aspnet_core:5": "step 2: 10.2.0 CU21",
        "aspnet_core:8": "step 3: 10.3.0 CU22",
        "aspnet_core:10": "step 5: 10.5.0 CU18",
        "vcpp_2010": "step 1: 10.0.0 CU19",
        "vcpp_minimum": "step 5: 10.5.0 CU18",
        "windows_server_minimum": "step 6: 10.6.0 CU6",
    }


@dataclass
class _Plan:
    steps: list[object] = field(default_factory=list)


def test_the_union_of_nothing_needs_nothing() -> None:
    assert combined_requirements(_Plan()) == Requirements()  # type: ignore[arg-type]
    assert merge([]) == Requirements()


STEP2 = attributed(requirements_for(parse_version("10.5.0 CU18")), "step 2: 10.5.0 CU18")
GOOD = InstalledSoftware(
    agent="dma-01",
    dotnet_framework="4.8.1",
    aspnet_core=("8.0.11", "10.0.0"),
    vcpp_2010=False,
    vcpp="14.44.35211.0",
    windows="Windows Server 2022 Standard",
)


def test_an_agent_that_has_everything_meets_everything() -> None:
    assert unmet_requirements(STEP2, GOOD) == []


def test_a_missing_runtime_is_one_sentence_naming_step_and_agent() -> None:
    installed = GOOD.model_copy(update={"aspnet_core": ("6.0",), "agent": "dma-01"})
    assert unmet_requirements(STEP2, installed) == [
        "needs ASP.NET Core 8.0 (step 2: 10.5.0 CU18); dma-01 has 6.0",
        "needs ASP.NET Core 10.0 (step 2: 10.5.0 CU18); dma-01 has 6.0",
    ]


def test_major_dotnet_versions_are_not_interchangeable() -> None:
    installed = GOOD.model_copy(update={"aspnet_core": ("9.0.1", "10.0.0")})
    assert unmet_requirements(STEP2, installed) == [
        "needs ASP.NET Core 8.0 (step 2: 10.5.0 CU18); dma-01 has 9.0.1, 10.0.0"
    ]


def test_every_kind_of_shortfall_is_explained() -> None:
    required = merge(
        [
            attributed(requirements_for(parse_version("10.0.0 CU19")), "step 1: 10.0.0 CU19"),
            attributed(requirements_for(parse_version("10.6.0 CU6")), "step 2: 10.6.0 CU6"),
        ]
    )
    installed = InstalledSoftware(
        agent="dma-02",
        dotnet_framework="4.7.2",
        aspnet_core=(),
        vcpp_2010=False,
        vcpp="14.38.33130.0",
        windows="Windows Server 2012 R2",
    )
    assert unmet_requirements(required, installed) == [
        "needs .NET Framework 4.8 (step 2: 10.6.0 CU6); dma-02 has 4.7.2",
        "needs ASP.NET Core 8.0 (step 2: 10.6.0 CU6); dma-02 has none",
        "needs ASP.NET Core 10.0 (step 2: 10.6.0 CU6); dma-02 has none",
        "needs the Visual C++ 2010 redistributable (keep it until 10.3.9/10.3.0 CU6/10.2.0 CU18)"
        " (step 1: 10.0.0 CU19); dma-02 has none",
        "needs the Visual C++ 2015-2022 redistributable 14.44.35211.0 or later"
        " (step 2: 10.6.0 CU6); dma-02 has 14.38.33130.0"
        " (the upgrade installs it itself and may reboot the agent)",
        "needs Windows Server 2016 or later (or Windows 10+) (step 2: 10.6.0 CU6);"
        " dma-02 has Windows Server 2012 R2",
    ]


def test_what_an_agent_does_not_report_is_said() -> None:
    required = merge(
        [requirements_for(parse_version("10.0.0 CU19")), requirements_for(parse_version("10.6.0"))]
    )
    unmet = unmet_requirements(required, InstalledSoftware(agent="dma-03"))
    assert len(unmet) == 6
    assert all(line.endswith("dma-03 did not report it") for line in unmet if "reboot" not in line)
    assert "needs ASP.NET Core 8.0 (10.6.0); dma-03 did not report it" in unmet


def test_any_vcpp_2015_satisfies_the_plain_2015_requirement() -> None:
    required = requirements_for(parse_version("10.4.0 CU21"))
    ok = GOOD.model_copy(update={"vcpp": "14.0.24215"})
    assert unmet_requirements(required, ok) == []
    missing = unmet_requirements(required, ok.model_copy(update={"vcpp": None}))
    assert missing == [
        "needs the Visual C++ 2015-2022 redistributable (10.4.0 CU21); dma-01 did not report it"
        " (the upgrade installs it itself and may reboot the agent)"
    ]


@pytest.mark.parametrize(
    ("windows", "ok"),
    [
        ("Windows Server 2016 Datacenter", True),
        ("Windows Server 2025", True),
        ("Microsoft Windows 10 Pro", True),
        ("Windows 11 Enterprise", True),
        ("Windows Server 2012 R2", False),
        ("Windows 8.1", False),
        ("Linux", False),
    ],
)
def test_windows_versions(windows: str, ok: bool) -> None:
    required = requirements_for(parse_version("10.6.0 CU6"))
    unmet = unmet_requirements(required, GOOD.model_copy(update={"windows": windows}))
    assert (unmet == []) is ok


def test_unreadable_versions_count_as_not_met() -> None:
    required = requirements_for(parse_version("10.4.0 CU21"))
    installed = GOOD.model_copy(update={"dotnet_framework": "unknown"})
    assert unmet_requirements(required, installed) == [
        "needs .NET Framework 4.8 (10.4.0 CU21); dma-01 has unknown"
    ]
