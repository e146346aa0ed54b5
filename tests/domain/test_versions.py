"""Version parsing, labels and ordering (facts §1, "Version string formats seen in the docs")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.errors import InvalidVersion
from bot.domain.versions import (
    MAX_VERSION_TEXT,
    ReleaseKind,
    Version,
    VersionRange,
    _parse_cached,
    main_line,
    parse_version,
)

MAIN, FEATURE = ReleaseKind.MAIN, ReleaseKind.FEATURE

# text -> (kind, major, minor, feature, cu, build, is_main_line_only)
FORMS = [
    ("10.3.0.0-13012", (MAIN, 10, 3, 0, None, 13012, False)),
    ("10.2.0.0-11897-CU4", (MAIN, 10, 2, 0, 4, 11897, False)),
    ("10.5.0 CU3", (MAIN, 10, 5, 0, 3, None, False)),
    ("10.5.0 [CU3]", (MAIN, 10, 5, 0, 3, None, False)),
    ("10.6.4", (FEATURE, 10, 6, 4, 0, None, False)),
    ("10.6.4.0-16700", (FEATURE, 10, 6, 4, None, 16700, False)),
    ("9.6", (MAIN, 9, 6, 0, None, None, True)),
    ("10.5", (MAIN, 10, 5, 0, None, None, True)),
    ("10.5.0.0 CU3", (MAIN, 10, 5, 0, 3, None, False)),
    ("10.5.0CU3", (MAIN, 10, 5, 0, 3, None, False)),
    ("   10.5.0 CU3  ", (MAIN, 10, 5, 0, 3, None, False)),
    ("10.5.0  \t CU3", (MAIN, 10, 5, 0, 3, None, False)),
    ("10.5.4.0-15588-20250319-release", (FEATURE, 10, 5, 4, None, 15588, False)),
    (
        "2025-03-19 10:02:11;10.5.4.0-15588-20250319-release",
        (FEATURE, 10, 5, 4, None, 15588, False),
    ),
    ("10.5.5.0(CU0)-15664", (FEATURE, 10, 5, 5, 0, 15664, False)),
    ("DataMiner 10.4.9.0-14794", (FEATURE, 10, 4, 9, None, 14794, False)),
    ("10.5.0", (MAIN, 10, 5, 0, 0, None, False)),
    ("10.5 CU3", (MAIN, 10, 5, 0, 3, None, False)),
    ("10.5.12 CU1", (FEATURE, 10, 5, 12, 1, None, False)),
    ("10.3.0 (build 13012)", (MAIN, 10, 3, 0, None, 13012, False)),
    ("10.5.0 cu3", (MAIN, 10, 5, 0, 3, None, False)),
    ("10.4.0.0-15230 CU10", (MAIN, 10, 4, 0, 10, 15230, False)),
]

NONSENSE = [
    "",
    "   ",
    "latest",
    "10",
    "ten.five",
    "10.5.0 CU",
    "10.5.0 CU3 CU4",
    "10.2.0.0-11897-CU4 CU5",
    "10.5-15000",
    "0.5.0",
    "10.5.0.0.0",
    "10.5.0 (build 1) (build 2)",
    "10.5.0.0-123-CU4 (build 9)",
    "10.5.0;",
    "DataMiner",
    "10.5.0 Full Upgrade",
    "10.5.0 CU3; DROP TABLE",
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_every_documented_form_parses_to_its_parts(text: str, expected: tuple[object, ...]) -> None:
    v = parse_version(text)
    got = (v.kind, v.major, v.minor, v.feature, v.cu, v.build, v.is_main_line_only)
    assert got == expected


@pytest.mark.parametrize(("text", "_"), FORMS)
def test_the_label_of_every_form_parses_back_to_the_same_version(text: str, _: object) -> None:
    v = parse_version(text)
    assert parse_version(v.label) == v
    assert str(v) == v.label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("10.5.0 [CU3]", "10.5.0 CU3"),
        ("10.6.4", "10.6.4"),
        ("10.3.0.0-13012", "10.3.0 (build 13012)"),
        ("10.5", "10.5"),
        ("10.5.0", "10.5.0"),
        ("10.2.0.0-11897-CU4", "10.2.0 CU4 (build 11897)"),
        ("10.5.5.0(CU0)-15664", "10.5.5 CU0 (build 15664)"),
    ],
)
def test_labels_are_canonical(text: str, label: str) -> None:
    assert parse_version(text).label == label


@pytest.mark.parametrize("text", NONSENSE)
def test_nonsense_is_an_invalid_version_with_a_valid_example(text: str) -> None:
    with pytest.raises(InvalidVersion) as caught:
        parse_version(text)
    assert "is not a DataMiner version" in caught.value.message
    assert caught.value.hint is not None and "10.5.0 CU3" in caught.value.hint


@pytest.mark.parametrize(
    "garbage",
    [
        "9" * 5000,
        "1." * 2500,
        "10.5.0 " + "CU" * 2496,
        "-" * 5000,
        "10.5.0.0-" + "1-" * 2495,
        "[" * 2500 + "]" * 2500,
        "10." * 1666 + "5",
    ],
)
def test_five_thousand_characters_of_garbage_are_refused_before_any_matching(
    garbage: str,
) -> None:
    # Deterministic instead of a stopwatch: text over the limit never reaches the regular
    # expressions (nor the parse cache), so matching time cannot grow with the input.
    misses = _parse_cached.cache_info().misses
    with pytest.raises(InvalidVersion):
        parse_version(garbage)
    assert _parse_cached.cache_info().misses == misses
    assert len(garbage.strip()) > MAX_VERSION_TEXT


def test_long_surrounding_whitespace_is_still_tolerated() -> None:
    assert parse_version(" " * 4990 + "10.5" + "\n" * 5) == main_line(10, 5)


@given(st.text(max_size=200))
def test_any_text_either_parses_or_raises_invalid_version(text: str) -> None:
    try:
        v = parse_version(text)
    except InvalidVersion:
        return
    assert parse_version(v.label) == v


def _versions() -> st.SearchStrategy[Version]:
    majors, minors = st.integers(1, 99), st.integers(0, 99)
    main = st.builds(
        lambda a, b, cu, build: Version(kind=MAIN, major=a, minor=b, cu=cu, build=build),
        majors,
        minors,
        st.integers(0, 999),
        st.none() | st.integers(1, 9_999_999),
    )
    build_only = st.builds(
        lambda a, b, f, build: Version(
            kind=FEATURE if f else MAIN, major=a, minor=b, feature=f, cu=None, build=build
        ),
        majors,
        minors,
        st.integers(0, 99),
        st.integers(1, 9_999_999),
    )
    feature = st.builds(
        lambda a, b, f, cu: Version(kind=FEATURE, major=a, minor=b, feature=f, cu=cu),
        majors,
        minors,
        st.integers(1, 99),
        st.integers(0, 999),
    )
    lines = st.builds(main_line, majors, minors)
    return main | build_only | feature | lines


@given(_versions())
def test_round_trip_parse_label(v: Version) -> None:
    assert parse_version(v.label) == v


@given(_versions(), _versions())
def test_ordering_is_total_and_consistent_with_equality(a: Version, b: Version) -> None:
    assert sum([a < b, a == b, a > b]) == 1
    assert (a <= b) == (a < b or a == b)
    assert (a >= b) == (a > b or a == b)


def test_ordering_follows_dataminer_numbering_then_cu() -> None:
    texts = [
        "9.6.0",
        "9.6",
        "10.0.0 CU5",
        "10.0.0 CU19",
        "10.3.0.0-13012",
        "10.3.0 CU0",
        "10.3.0 CU20",
        "10.3",
        "10.3.12",
        "10.4.0 CU6",
        "10.4.0 CU21",
        "10.4.12",
        "10.5.0 CU3",
        "10.5.1",
        "10.5.12",
        "10.5.12 CU2",
        "10.6.0 CU6",
        "10.6.9",
    ]
    versions = [parse_version(t) for t in texts]
    assert sorted(reversed(versions)) == versions


def test_fr_of_a_minor_is_above_every_cu_of_its_main_release() -> None:
    assert parse_version("10.3.12") > parse_version("10.3.0 CU99")
    assert parse_version("10.5") > parse_version("10.5.0 CU18")
    assert parse_version("10.5") < parse_version("10.5.1")


def test_comparing_with_something_else_is_not_supported() -> None:
    v = parse_version("10.5.0 CU3")
    text: object = "10.5.0 CU3"
    assert v != text
    for op in ("__lt__", "__le__", "__gt__", "__ge__"):
        assert getattr(v, op)("10.5.0 CU3") is NotImplemented
    with pytest.raises(TypeError):
        _ = v < 3


def test_inconsistent_versions_cannot_be_built() -> None:
    with pytest.raises(ValidationError):
        Version(kind=MAIN, major=10, minor=5, feature=3)
    with pytest.raises(ValidationError):
        Version(kind=FEATURE, major=10, minor=5, feature=0)
    with pytest.raises(ValidationError):
        Version(kind=MAIN, major=10, minor=5, cu=3, is_main_line_only=True)
    with pytest.raises(ValidationError):
        Version(kind=MAIN, major=10, minor=5, cu=None)


def test_line_and_without_build() -> None:
    v = parse_version("10.2.0.0-11897-CU4")
    assert v.line == (10, 2) and v.line_label == "10.2"
    assert v.without_build == parse_version("10.2.0 CU4")
    unknown_cu = parse_version("10.3.0.0-13012")
    assert unknown_cu.without_build is unknown_cu


def test_a_main_line_spec_means_latest_cu() -> None:
    spec = parse_version("10.5")
    assert spec.is_main_line_only and spec.kind is MAIN and spec.cu is None
    assert spec == main_line(10, 5)


class TestVersionRange:
    def test_bounds_are_inclusive_and_before_is_exclusive(self) -> None:
        r = VersionRange.of("10.4.9", "10.4.12")
        assert parse_version("10.4.9") in r and parse_version("10.4.12") in r
        assert parse_version("10.4.8") not in r and parse_version("10.5.0") not in r
        before = VersionRange.of(before="10.6.1")
        assert parse_version("10.5.12 CU2") in before and parse_version("10.6.1") not in before

    def test_the_track_is_derived_from_bounds_that_agree(self) -> None:
        fr = VersionRange.of("10.4.11", "10.5.2")
        assert fr.kind is FEATURE
        assert parse_version("10.5.0 CU1") not in fr
        mixed = VersionRange.of("10.4.0", "10.4.4")
        assert mixed.kind is None
        assert parse_version("10.4.0 CU21") in mixed and parse_version("10.4.3") in mixed
        assert VersionRange.of().kind is None

    def test_the_track_can_be_given(self) -> None:
        assert VersionRange.of("10.4.0", kind="any").kind is None
        assert VersionRange.of("10.4.0", kind=FEATURE).kind is FEATURE
        assert parse_version("10.5.0 CU1") not in VersionRange.of("10.4.0", kind=FEATURE)

    def test_a_main_line_upper_bound_covers_every_cu(self) -> None:
        r = VersionRange.of("10.4.0 CU6", "10.4")
        assert parse_version("10.4.0 CU21") in r and parse_version("10.4.0 CU5") not in r

    def test_labels(self) -> None:
        assert VersionRange.of("10.4.9", "10.4.12").label == "10.4.9 – 10.4.12"
        assert VersionRange.of("10.2.4").label == "10.2.4 onwards"
        assert VersionRange.of(before="10.6.1").label == "any version – before 10.6.1"

    def test_wrong_ranges_are_refused(self) -> None:
        with pytest.raises(ValueError, match="not both"):
            VersionRange.of("10.4.0", "10.4.4", before="10.4.5")
        with pytest.raises(ValueError, match="empty"):
            VersionRange.of("10.5.0", "10.4.0")

    def test_only_versions_can_be_in_a_range(self) -> None:
        assert "10.4.9" not in VersionRange.of("10.4.9", "10.4.12")
