"""The config file: what is valid loads; every error names the key, the line and a valid form."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.domain.errors import ConfigError
from bot.settings import Settings, load_config, parse_duration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "upgradebot.yml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "upgradebot.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_is_valid_and_read_as_written() -> None:
    config = load_config(EXAMPLE)
    assert config.timezone == "Europe/Brussels"
    assert config.four_eyes is True
    assert config.schedule.precheck_lead == timedelta(hours=24)
    assert config.schedule.reminders == [timedelta(hours=2), timedelta(minutes=15)]
    assert config.systems["lab"].adapter.kind == "simulated"
    assert len(config.systems["lab"].adapter.options()["agents"]) == 3
    assert config.backup_max_age == timedelta(days=7)
    ((name, start, _end),) = config.local_blackouts()
    assert name == "Year-end freeze"
    assert start.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("15m", timedelta(minutes=15)),
        ("7d", timedelta(days=7)),
        ("2s", timedelta(seconds=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (90, timedelta(seconds=90)),
    ],
)
def test_durations_read_as_people_write_them(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "-5m", "5 parsecs", True])
def test_nonsense_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


BASE = """\
timezone: Europe/Brussels
systems:
  lab:
    channel: C0OPS
    adapter: {kind: simulated, agents: [{name: a, version: "10.3.0.0-13012"}]}
"""


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (BASE.replace("Europe/Brussels", "Mars/Olympus"), ["timezone (line 1)", "Europe/Brussels"]),
        (BASE.replace("C0OPS", '"#ops"'), ["systems.lab.channel (line 4)", "Channel ID"]),
        (BASE.replace("simulated", "magic"), ["systems.lab.adapter.kind (line 5)", "simulated"]),
        (BASE + "four_eys: true\n", ["four_eys (line 6)", "not a setting"]),
        (BASE + "roles: {approvers: [anna]}\n", ["roles.approvers (line 6)", "'anna'", "user id"]),
        (BASE + "schedule: {precheck_lead: tomorrow}\n", ["schedule.precheck_lead", "1h30m"]),
        (
            BASE + "blackouts: [{name: x, start: 2026-12-02T10:00, end: 2026-12-01T10:00}]\n",
            ["blackouts.0 (line 6)", "ends before it starts"],
        ),
        (
            BASE.replace("    channel: C0OPS", "    channel: C0OPS\n    current_release: CU18"),
            ["systems.lab.current_release (line 5)", "10.4.0 CU18"],
        ),
        (
            BASE.replace("    channel: C0OPS", "    channel: C0OPS\n    current_release: '10.4'"),
            ["systems.lab.current_release", "is not a release"],
        ),
        ("timezone: UTC\n", ["systems", "is required"]),
        ("systems: {}\n", ["systems (line 1)", "at least one system"]),
        ("- just\n- a list\n", ["must hold a mapping"]),
        ("timezone: [unclosed\n", ["not valid YAML", "line"]),
    ],
)
def test_config_errors_name_the_key_the_line_and_a_valid_form(
    tmp_path: Path, text: str, needles: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    for needle in needles:
        assert needle in caught.value.message


def test_the_step_deadline_factor_is_read_from_the_schedule(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE)).schedule.step_deadline_factor == 2.0
    configured = BASE + "schedule: {step_deadline_factor: 1.5}\n"
    assert load_config(write(tmp_path, configured)).schedule.step_deadline_factor == 1.5
    at_least = BASE + "schedule: {step_deadline_factor: 1}\n"
    assert load_config(write(tmp_path, at_least)).schedule.step_deadline_factor == 1.0


@pytest.mark.parametrize("value", ["0.5", "0", "-2", "twice", "2x", "true", ".nan", ".inf", "101"])
def test_a_step_deadline_factor_below_one_or_not_a_number_is_refused_in_one_sentence(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, BASE + f"schedule:\n  step_deadline_factor: {value}\n"))
    shown = yaml.safe_load(value)
    assert caught.value.message == (
        f"Invalid config {tmp_path / 'upgradebot.yml'}: schedule.step_deadline_factor (line 7): "
        f"{shown!r} is not a deadline factor; write how many times its share of the estimate a "
        "step may take before it is halted, a number from 1 to 100 like 2 or 1.5"
    )


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read"):
        load_config(tmp_path / "absent.yml")


def test_settings_come_from_the_environment_and_hide_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    settings = Settings(_env_file=None)
    assert settings.has_slack_tokens
    assert settings.api_url == "http://127.0.0.1:9/api/"
    assert "xoxb-secret-value" not in repr(settings)


def _cli(
    tmp_path: Path, *args: str, config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env["UPGRADEBOT_CONFIG"] = str(config or EXAMPLE)
    env["UPGRADEBOT_DB"] = str(tmp_path / "bot.db")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_prints_what_it_understood(tmp_path: Path) -> None:
    result = _cli(tmp_path, "check-config")
    assert result.returncode == 0, result.stderr
    assert "time zone: Europe/Brussels" in result.stdout
    assert "system lab: channel C0OPS, adapter simulated, 3 agent(s)" in result.stdout
    assert "SLACK_BOT_TOKEN: not set" in result.stdout


def test_an_invalid_config_refuses_to_start_with_one_message_and_exit_2(tmp_path: Path) -> None:
    bad = write(tmp_path, BASE.replace("C0OPS", "ops-channel"))
    result = _cli(tmp_path, "serve", "--http", "--port", "0", config=bad)
    assert result.returncode == 2
    assert "systems.lab.channel (line 4)" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_invalid_adapter_block_refuses_to_start_naming_the_key(tmp_path: Path) -> None:
    bad = write(tmp_path, BASE.replace("{kind: simulated,", "{kind: simulated, step_secs: 2,"))
    result = _cli(tmp_path, "check-config", config=bad)
    assert result.returncode == 2
    assert "systems.lab.adapter" in result.stderr and "step_secs" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_dataminer_system_without_credentials_in_the_environment_refuses_to_start(
    tmp_path: Path,
) -> None:
    config = BASE.replace(
        'adapter: {kind: simulated, agents: [{name: a, version: "10.3.0.0-13012"}]}',
        'adapter: {kind: dataminer, url: "https://dma01.example", credentials_env: DM_LAB}',
    )
    result = _cli(tmp_path, "check-config", config=write(tmp_path, config))
    assert result.returncode == 2
    assert "DM_LAB_USER" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_system_can_name_the_cu_its_agents_run(tmp_path: Path) -> None:
    """Issue #12: for a build the catalog cannot place, the config may say which CU it is."""
    text = BASE.replace(
        "    channel: C0OPS", "    channel: C0OPS\n    current_release: 10.4.0 [CU18]"
    )
    assert load_config(write(tmp_path, text)).systems["lab"].current_release == "10.4.0 CU18"


def test_check_config_says_which_docs_the_catalog_knows(tmp_path: Path) -> None:
    # a day's age: the shipped catalog's docs are older than that on any day this test runs
    config = write(tmp_path, BASE + "catalog_max_age: 1d\n")
    result = _cli(tmp_path, "check-config", config=config)
    assert result.returncode == 0, result.stderr
    assert "(docs of 2026-08-21); The release catalog was built from Skyline's docs" in (
        result.stdout
    )
    assert "upgradebot catalog build --docs <checkout>" in result.stdout
