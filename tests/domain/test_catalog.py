"""The release catalog: resolving what people type, identifying what agents run, the data file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalog import Catalog, Release, package_name
from bot.domain.errors import ConfigError, InvalidVersion, UnknownVersion
from bot.domain.versions import ReleaseKind, parse_version
from bot.releases import CATALOG_FILE, load_catalog, load_known_issues

CATALOG = load_catalog()


def _small(*versions: str, **extra: Any) -> dict[str, Any]:
    return {"releases": [{"version": v} for v in versions], **extra}


class TestShippedData:
    def test_the_newest_released_versions_match_the_facts(self) -> None:
        assert CATALOG.resolve("10.5").label == "10.5.0 CU18"
        assert CATALOG.resolve("10.6").label == "10.6.0 CU6"
        assert CATALOG.latest_feature((10, 6)) == CATALOG.resolve("10.6.9")
        assert CATALOG.known_labels()[-1] == "10.6.9"

    def test_previews_are_listed_but_never_latest_or_known(self) -> None:
        previews = [r.label for r in CATALOG.releases if r.preview]
        assert sorted(previews) == ["10.5.0 CU19", "10.6.0 CU7", "10.6.10", "10.7.0"]
        assert not set(previews) & set(CATALOG.known_labels())
        assert CATALOG.latest_cu((10, 7)) is None

    def test_every_main_release_from_9_6_to_10_6_has_a_released_cu(self) -> None:
        expected = [(9, 6), (10, 0), (10, 1), (10, 2), (10, 3), (10, 4), (10, 5), (10, 6)]
        assert CATALOG.main_lines() == expected
        assert CATALOG.lines() == [*expected, (10, 7)]

    def test_documented_builds_are_in_the_catalog(self) -> None:
        builds = {r.label: r.build for r in CATALOG.releases if r.build}
        assert builds == {
            "10.0.0 CU19": 11025,
            "10.2.0 CU4": 11897,
            "10.4.0 CU4": 14511,
            "10.4.0 CU10": 15230,
            "10.1.7": 10523,
            "10.2.7": 11922,
            "10.4.9": 14794,
            "10.5.4": 15588,
            "10.6.1": 16647,
            # re-releases: the newest build is the one a package names (release-audit D18,
            # KI_ClusterEndpoint_SLNet_leak.md, KI_SLScripting_issue_non_English_system.md)
            "10.4.0 CU18": 16295,
            "10.5.0 CU4": 16239,
            "10.5.0 CU5": 16243,
            "10.5.0 CU6": 16294,
            "10.5.9": 16293,
        }

    def test_support_dates_come_from_the_lifecycle_table(self) -> None:
        life = CATALOG.lifecycles[(10, 5)]
        assert life.regular_updates_until == date(2026, 11, 20)
        assert life.supported_until == date(2028, 2, 25)
        assert life.limited_support_until == date(2029, 2, 23)
        assert sorted(CATALOG.lifecycles) == [(10, 3), (10, 4), (10, 5), (10, 6), (10, 7)]

    def test_feature_release_cus_are_known(self) -> None:
        assert CATALOG.latest_feature((10, 5)) == CATALOG.resolve("10.5.12 CU2")
        assert CATALOG.resolve("10.6.2 CU1").kind is ReleaseKind.FEATURE


class TestResolve:
    @pytest.mark.parametrize(
        ("text", "label"),
        [
            ("10.5", "10.5.0 CU18"),
            ("9.6", "9.6.0"),
            ("10.0", "10.0.0 CU21"),  # D2: General_Main_Release_10.0.0_CU21.md
            ("10.1", "10.1.0 CU21"),  # D5: General_Main_Release_10.1.0_CU21.md
            ("10.3", "10.3.0 CU22"),  # D7: General_Main_Release_10.3.0_CU22.md
            ("10.3.0 CU22", "10.3.0 CU22"),
            ("10.5.2 CU1", "10.5.2 CU1"),  # D11: General_Feature_Release_10.5.2_CU1.md
            ("10.0.13", "10.0.13"),  # D3/D4: the 10.0 FR cycle runs 10.0.2-10.0.13
            ("10.5.0 CU3", "10.5.0 CU3"),
            ("10.5.0 [CU3]", "10.5.0 CU3"),
            ("10.5.0.0 CU3", "10.5.0 CU3"),
            ("10.6.4", "10.6.4"),
            ("10.4.0.0-15230", "10.4.0 CU10"),
            ("10.2.0.0-11897-CU4", "10.2.0 CU4"),
            (" 10.5.0 ", "10.5.0"),
        ],
    )
    def test_what_people_type(self, text: str, label: str) -> None:
        assert CATALOG.resolve(text).label == label

    @pytest.mark.parametrize(
        ("text", "line", "nearest"),
        [
            ("10.7", "10.6.", "10.6.0 CU6"),  # 10.7 is only a preview: the line below
            ("11.0", "10.6.", "10.6.0"),
            ("10.5.0 CU40", "10.5.", "10.5.0 CU18"),
            ("10.3.0 CU50", "10.3.", "10.3.0 CU22"),
            ("10.4.0.0-99999", "10.4.", "10.4.0"),
            ("10.5.0.0-15230", "10.5.", "10.5.0"),
            ("10.6.13", "10.6.", "10.6.9"),
            ("9.9", "9.6.", "9.6.0"),
        ],
    )
    def test_unknown_targets_list_the_nearest_known_ones_of_their_release_line(
        self, text: str, line: str, nearest: str
    ) -> None:
        with pytest.raises(UnknownVersion) as caught:
            CATALOG.resolve(text)
        known = caught.value.known
        assert known and len(known) <= 8 and all(label.startswith(line) for label in known)
        assert nearest in known and set(known) <= set(CATALOG.known_labels())
        assert caught.value.hint is not None and nearest in caught.value.hint

    def test_an_explicit_preview_resolves_so_the_planner_can_explain(self) -> None:
        assert CATALOG.resolve("10.7.0").preview is True

    def test_nonsense_stays_invalid(self) -> None:
        with pytest.raises(InvalidVersion):
            CATALOG.resolve("newest please")


class TestIdentify:
    def test_a_known_build_maps_to_its_cu(self) -> None:
        release = CATALOG.identify("10.4.0.0-15230")
        assert release.label == "10.4.0 CU10" and release.exact

    def test_every_build_of_a_re_released_cu_maps_to_it(self) -> None:
        """D18: 10.5.0 CU4 is 15943 and 16239, CU5 16086 and 16243 (KI_ClusterEndpoint_SLNet_
        leak.md): the CU4 re-release is above CU5's first build, and is still CU4."""
        assert CATALOG.identify("10.5.0.0-15943").label == "10.5.0 CU4"
        assert CATALOG.identify("10.5.0.0-16239").label == "10.5.0 CU4"
        assert CATALOG.identify("10.5.0.0-16086").label == "10.5.0 CU5"
        assert CATALOG.resolve("10.5.0 CU4").builds == (15943, 16239)

    def test_a_dojo_slug_with_cu(self) -> None:
        assert CATALOG.identify("10.2.0.0-11897-CU4") == CATALOG.resolve("10.2.0 CU4")

    def test_an_unknown_build_is_never_placed_by_its_number(self) -> None:
        """Issue #12 item 2: it spans every release of its number, lowest to highest."""
        release = CATALOG.identify("10.3.0.0-13012")
        assert not release.exact
        assert release.lowest == parse_version("10.3.0")
        assert release.version == parse_version("10.3.0 CU22")
        assert release.label == "10.3.0 (build 13012)" and release.build == 13012
        between = CATALOG.identify("10.4.0.0-15500")  # between CU10 = 15230 and CU18 = 16295
        assert between.lowest == parse_version("10.4.0")
        assert between.version == parse_version("10.4.0 CU21")

    def test_a_cu_the_catalog_lacks_is_kept_as_reported(self) -> None:
        release = CATALOG.identify("10.5.0 CU25")
        assert release.version == parse_version("10.5.0 CU25") and not release.exact
        with_build = CATALOG.identify("10.5.0.0-17777-CU25")
        assert with_build.label == "10.5.0 CU25" and with_build.build == 17777

    def test_a_known_cu_with_an_unlisted_build_is_exact(self) -> None:
        assert CATALOG.identify("10.5.0.0-16239-CU4") == CATALOG.resolve("10.5.0 CU4")

    def test_a_known_fr_with_an_unlisted_build(self) -> None:
        release = CATALOG.identify("10.6.4.0-16700")
        assert release.version == parse_version("10.6.4") and not release.exact
        assert release.label == "10.6.4 (build 16700)"

    def test_an_fr_the_catalog_lacks_on_a_known_line_is_synthesised(self) -> None:
        release = CATALOG.identify("9.6.5.0-9000")
        assert release.version == parse_version("9.6.5") and release.kind is ReleaseKind.FEATURE
        assert not release.exact

    def test_a_main_line_spec_is_identified_as_its_base_with_unknown_cu(self) -> None:
        release = CATALOG.identify("10.5")
        assert release.label == "10.5.0 (CU unknown)" and not release.exact
        assert release.lowest == parse_version("10.5.0")

    def test_a_version_the_catalog_never_heard_of_is_unknown(self) -> None:
        with pytest.raises(UnknownVersion):
            CATALOG.identify("8.0.0.0-1234")

    def test_garbage_is_invalid(self) -> None:
        with pytest.raises(InvalidVersion):
            CATALOG.identify("Running")

    def test_identification_is_remembered(self) -> None:
        assert CATALOG.identify("10.3.0.0-13012") is CATALOG.identify("10.3.0.0-13012")


class TestPackageNames:
    def test_full_package_of_a_cu_with_a_known_build(self) -> None:
        name = package_name(CATALOG.resolve("10.4.0 CU10"))
        assert name == "DataMiner 10.4.0.0(CU10)-15230 Full Upgrade.dmupgrade"

    def test_full_package_of_a_feature_release(self) -> None:
        name = package_name(CATALOG.resolve("10.4.9"))
        assert name == "DataMiner 10.4.9.0(CU0)-14794 Full Upgrade.dmupgrade"

    def test_update_package_and_unknown_build(self) -> None:
        """D45: Skyline's grammar knows only Full|Web upgrades; the delta is a .dmupdate
        (dataminer/Administrator_guide/DataMiner_Agents/DataMiner_packages.md)."""
        name = package_name(CATALOG.resolve("10.4.0 CU8"), "cu")
        assert name == "DataMiner 10.4.0.0(CU8)-*.dmupdate"

    def test_a_main_release_base_carries_cu0(self) -> None:
        name = package_name(CATALOG.resolve("10.5.0"))
        assert name == "DataMiner 10.5.0.0(CU0)-* Full Upgrade.dmupgrade"

    def test_a_re_released_cu_names_its_newest_build(self) -> None:
        name = package_name(CATALOG.resolve("10.5.0 CU5"))
        assert name == "DataMiner 10.5.0.0(CU5)-16243 Full Upgrade.dmupgrade"


class TestFromMapping:
    def test_a_small_catalog(self) -> None:
        catalog = Catalog.from_mapping(
            {
                "releases": [
                    {"version": "10.5.0 CU2", "build": 15000, "released": date(2025, 1, 31)},
                    {"version": "10.5.0"},
                    {"version": "10.5.0 CU3", "preview": True},
                ]
            }
        )
        latest = catalog.resolve("10.5")
        assert latest == Release.of(parse_version("10.5.0 CU2"), 15000, date(2025, 1, 31))
        assert catalog.known_labels() == ["10.5.0", "10.5.0 CU2"]
        assert catalog.lifecycles == {}

    @pytest.mark.parametrize(
        ("data", "fragment"),
        [
            ({"releases": []}, "`releases` must be a non-empty list"),
            ({"releases": "10.5.0"}, "`releases` must be a non-empty list"),
            ({"release": [{"version": "10.5.0"}]}, "unknown top-level key(s) release"),
            ({"releases": ["10.5.0"]}, "releases[0] must be a mapping"),
            ({"releases": [{"version": 10.5}]}, "releases[0] (`10.5`): version:"),
            ({"releases": [{"version": "10.5.0", "bild": 1}]}, "releases[0] (`10.5.0`): bild:"),
            ({"releases": [{"version": "10.5.0", "build": "x"}]}, "build:"),
            ({"releases": [{"version": "soon"}]}, "releases[0]: `soon` is not a DataMiner"),
            ({"releases": [{"version": "10.4.0.0-15230"}]}, "the build separately"),
            ({"releases": [{"version": "10.5"}]}, "the build separately"),
            (_small("10.5.0", "10.5.0 CU0"), "`10.5.0` is listed twice"),
            (
                {
                    "releases": [
                        {"version": "10.5.0", "build": 1},
                        {"version": "10.5.1", "build": 1},
                    ]
                },
                "build 1 is listed for both `10.5.0` and `10.5.1`",
            ),
            (_small("10.5.0", lifecycle=["10.5"]), "`lifecycle` must map"),
            (
                _small("10.5.0", lifecycle={"10.5.0": {}}),
                "lifecycle `10.5.0` needs a quoted main release",
            ),
            (
                _small("10.5.0", lifecycle={"10.5": {"supported_until": date(2028, 1, 1)}}),
                "lifecycle `10.5` needs",
            ),
            (_small("10.5.0", lifecycle={"x": {}}), "lifecycle `x`"),
        ],
    )
    def test_errors_name_the_source_and_the_entry(
        self, data: dict[str, Any], fragment: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            Catalog.from_mapping(data, source="team.yml")
        assert caught.value.message.startswith("team.yml")
        assert fragment in caught.value.message


class TestLoader:
    def test_the_default_files_load(self) -> None:
        assert load_catalog(CATALOG_FILE).known_labels() == CATALOG.known_labels()
        assert len(load_known_issues().issues) >= 10

    def test_a_team_copy_is_used(self, tmp_path: Path) -> None:
        copy = tmp_path / "catalog.yml"
        copy.write_text("releases:\n  - {version: 10.5.0 CU19, build: 17000}\n", encoding="utf-8")
        assert load_catalog(copy).resolve("10.5").build == 17000

    def test_a_missing_file_is_a_config_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match=r"Cannot read .*nope\.yml"):
            load_catalog(tmp_path / "nope.yml")

    def test_broken_yaml_names_the_line(self, tmp_path: Path) -> None:
        broken = tmp_path / "catalog.yml"
        broken.write_text("releases:\n  - {version: 10.5.0\n  - x: [\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"catalog.yml is not valid YAML at line \d"):
            load_catalog(broken)

    def test_an_unsafe_yaml_tag_is_refused(self, tmp_path: Path) -> None:
        tagged = tmp_path / "catalog.yml"
        tagged.write_text("releases: !!python/name:os.system\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="is not valid YAML"):
            load_catalog(tagged)

    def test_the_top_level_must_be_a_mapping(self, tmp_path: Path) -> None:
        listing = tmp_path / "known_issues.yml"
        listing.write_text("- id: x\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="must hold a YAML mapping"):
            load_known_issues(listing)

    def test_entry_errors_name_the_file(self, tmp_path: Path) -> None:
        bad = tmp_path / "catalog.yml"
        bad.write_text(
            "releases:\n  - {version: 10.5.0}\n  - {version: banana}\n", encoding="utf-8"
        )
        with pytest.raises(ConfigError) as caught:
            load_catalog(bad)
        assert str(bad) in caught.value.message and "releases[1]" in caught.value.message
