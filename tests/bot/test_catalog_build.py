"""`upgradebot catalog build` on a small docs tree the test writes (no network): the release-notes
pages of a dataminer-docs checkout, a git commit for its date, and the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.catalog_build import FACTS_FILE, build_catalog_file
from bot.domain.catalog import Catalog
from bot.domain.errors import ConfigError

RN = "release-notes/General"
FACTS = """\
releases:
  - {version: 9.6.0, source: "Preparing_to_upgrade_a_DataMiner_Agent.md"}
builds:
  - {version: 10.4.0 CU18, builds: [16295], source: "KI_SLScripting_issue_non_English_system.md"}
  - {version: 10.5.0 CU4, builds: [15943, 16239], source: "KI_ClusterEndpoint_SLNet_leak.md"}
lifecycle:
  source: Software_support_life_cycles.md
  lines:
    "10.5":
      regular_updates_until: 2026-11-20
      supported_until: 2028-02-25
      limited_support_until: 2029-02-23
"""


def write_page(
    docs: Path, track: str, number: str, cu: int | None = None, preview: str = ""
) -> None:
    folder = docs / RN / f"General_{track}_Release_{number.rsplit('.', 1)[0]}"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"General_{track}_Release_{number}" + (f"_CU{cu}" if cu is not None else "")
    title = f"General {track} Release {number}" + (f" CU{cu}" if cu is not None else "")
    # the real pages start with a BOM sometimes and a uid block always
    text = f"\ufeff---\nuid: {stem}\n---\n\n# {title}{preview}\n\nNotes.\n"
    (folder / f"{stem}.md").write_text(text, encoding="utf-8")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "dataminer-docs"
    root.mkdir()
    (tmp_path / "facts.yml").write_text(FACTS, encoding="utf-8")
    write_page(root, "Main", "10.4.0", 18)
    write_page(root, "Main", "10.5.0")
    for cu in range(1, 7):
        write_page(root, "Main", "10.5.0", cu)
    write_page(root, "Main", "10.5.0", 7, " - Preview")
    write_page(root, "Feature", "10.5.9")
    write_page(root, "Feature", "10.5.12", 2)
    (root / RN / "General_Main_Release_10.5" / "General_Main_Release_10.5.0_changes.md").write_text(
        "# General Main Release 10.5.0 – Changes\n", encoding="utf-8"
    )
    return root


def _git(docs: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": "2026-08-21T15:08:19+02:00",
        "GIT_COMMITTER_DATE": "2026-08-21T15:08:19+02:00",
    }
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=docs,
        env=env,
        check=True,
        capture_output=True,
        timeout=30,
    )


def test_a_git_checkout_is_built_with_its_commit_and_date(docs: Path, tmp_path: Path) -> None:
    _git(docs, "init", "-q")
    _git(docs, "add", ".")
    _git(docs, "commit", "-q", "-m", "release notes")
    out = tmp_path / "catalog.yml"
    result = build_catalog_file(docs, out, tmp_path / "facts.yml")
    catalog = Catalog.from_mapping(yaml.safe_load(out.read_text(encoding="utf-8")))
    assert result.docs_date == date(2026, 8, 21) == catalog.docs_date
    assert catalog.source is not None and len(catalog.source.commit) == 40
    # the facts give 10.5.0 CU4 two builds, 10.4.0 CU18 one; 10.5.0 CU7 is a preview
    assert catalog.identify("10.5.0.0-16239").label == "10.5.0 CU4"
    assert catalog.identify("10.4.0.0-16295").label == "10.4.0 CU18"
    assert catalog.latest_cu((10, 5)) == catalog.resolve("10.5.0 CU6")
    assert (result.releases, result.previews) == (len(catalog.releases), 1)


def test_the_command_line_builds_and_says_what_it_wrote(docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "catalog.yml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    command = [sys.executable, "-m", "bot.cli", "catalog", "build", "--docs", str(docs)]
    command += ["--facts", str(tmp_path / "facts.yml")]
    built = subprocess.run(
        [*command, "--output", str(out), "--commit", "abc123", "--date", "2026-08-21"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert f"wrote {out}: 12 releases (1 previews) from docs abc123 of 2026-08-21" in built.stdout
    assert "docs: {repository: SkylineCommunications/dataminer-docs, commit: abc123" in (
        out.read_text(encoding="utf-8")
    )
    not_git = subprocess.run(
        [*command, "--output", str(tmp_path / "x.yml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert not_git.returncode == 2
    assert "is not a git checkout" in not_git.stderr and "Traceback" not in not_git.stderr
    bad_date = subprocess.run(
        [*command, "--commit", "abc", "--date", "21/08/2026"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad_date.returncode == 2 and "is not a date like 2026-08-21" in bad_date.stderr


def test_a_folder_that_is_not_a_docs_checkout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no release-notes/General/ folder"):
        build_catalog_file(tmp_path, tmp_path / "c.yml", commit="a", docs_date=date(2026, 1, 1))


def test_an_unreadable_facts_file_is_refused(docs: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read the facts file"):
        build_catalog_file(
            docs, tmp_path / "c.yml", tmp_path / "none.yml", commit="a", docs_date=date(2026, 1, 1)
        )


def test_the_shipped_catalog_is_what_the_builder_makes_of_its_docs() -> None:
    """The shipped file is generated: it records its docs and every release names its page."""
    data = yaml.safe_load((FACTS_FILE.parent / "catalog.yml").read_text(encoding="utf-8"))
    assert data["docs"]["commit"].startswith("f85ae8d6")
    assert all(entry.get("source") for entry in data["releases"])
    assert all(entry.get("build_source") for entry in data["releases"] if entry.get("builds"))
