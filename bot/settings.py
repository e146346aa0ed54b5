"""Settings: the environment (tokens, paths) and the YAML config file, each loaded once in main.

Every config error names the key, the line in the file and what would be valid; the bot refuses to
start on an invalid config (exit code 2), see ``bot.cli``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain import durations
from bot.domain.errors import ConfigError, InvalidVersion
from bot.domain.versions import parse_version
from checks.models import KeyCheck

SLACK_API_DEFAULT = "https://slack.com/api/"


class Settings(BaseSettings):
    """The environment (and ``.env``). Tokens are secrets: never logged, never shown."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    slack_bot_token: SecretStr | None = Field(None, description="Bot token, xoxb-…")
    slack_signing_secret: SecretStr | None = Field(None, description="Verifies Slack's requests")
    slack_app_token: SecretStr | None = Field(None, description="App token xapp-…: Socket Mode")
    slack_api_url: str = Field(SLACK_API_DEFAULT, description="Web API base URL")
    upgradebot_config: Path | None = Field(None, description="The YAML config file")
    upgradebot_db: Path = Field(Path("upgradebot.db"), description="The SQLite database")
    upgradebot_calendar_token: SecretStr | None = Field(
        None, description="The secret a calendar subscription of GET /calendar.ics must carry"
    )

    @property
    def api_url(self) -> str:
        return self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"

    @property
    def has_slack_tokens(self) -> bool:
        return self.slack_bot_token is not None and self.slack_signing_secret is not None

    def secret_values(self) -> list[str]:
        """Every secret's value, for the log to blank wherever one appears (bot/ops/logs.py)."""
        secrets = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.upgradebot_calendar_token,
        )
        return [s.get_secret_value() for s in secrets if s is not None]

    def config_path(self) -> Path:
        if self.upgradebot_config is not None:
            return self.upgradebot_config
        local = Path("upgradebot.yml")
        return local if local.exists() else Path("examples/upgradebot.yml")


def parse_duration(value: Any) -> timedelta:
    """A duration in the one grammar (bot/domain/durations.py: ``24h``, ``15m``, ``7d``,
    ``1h30``, ``1.5h``, ``2s``), or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    try:
        return durations.parse_duration(value if isinstance(value, str) else "")
    except durations.InvalidDuration:
        raise ValueError(
            f"{value!r} is not a duration; write it like {durations.ACCEPTED.replace('`', '')}"
        ) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Roles(_Strict):
    approvers: list[str] = Field(default_factory=list)
    operators: list[str] = Field(default_factory=list)
    proposers: list[str] = Field(default_factory=list)

    @field_validator("approvers", "operators", "proposers")
    @classmethod
    def _slack_ids(cls, ids: list[str]) -> list[str]:
        for entry in ids:
            if not re.fullmatch(r"[USW][A-Z0-9]{2,}", entry):
                raise ValueError(
                    f"{entry!r} is not a Slack user id (U…) or user group id (S…); "
                    "copy it from the profile's ⋮ menu → Copy member ID"
                )
        return ids


MAX_STEP_DEADLINE_FACTOR = 100  # a step allowed 100 times its share is watched all week anyway


class Schedule(_Strict):
    precheck_lead: timedelta = timedelta(hours=24)
    reminders: list[timedelta] = Field(
        default_factory=lambda: [timedelta(hours=2), timedelta(minutes=15)]
    )
    # Between the accepted pre-check and the go, health is read again this often (and at each
    # reminder); 0 turns the periodic check off.
    health_every: timedelta = timedelta(minutes=30)
    # A step not finished after this many times its share of the estimate's high end is halted
    # as "not finished in time" (issue 15): 1 holds a step to its share, 2 gives it as long again.
    step_deadline_factor: float = 2.0

    @field_validator("precheck_lead", "health_every", mode="before")
    @classmethod
    def _lead(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("step_deadline_factor", mode="before")
    @classmethod
    def _factor(cls, value: Any) -> float:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if is_number and 1 <= value <= MAX_STEP_DEADLINE_FACTOR:  # also refuses NaN
            return float(value)
        raise ValueError(
            f"{value!r} is not a deadline factor; write how many times its share of the "
            f"estimate a step may take before it is halted, a number from 1 to "
            f"{MAX_STEP_DEADLINE_FACTOR} like 2 or 1.5"
        )

    @field_validator("reminders", mode="before")
    @classmethod
    def _reminders(cls, value: Any) -> list[timedelta]:
        if not isinstance(value, list):
            raise ValueError("reminders is a list of durations, like [2h, 15m]")
        return sorted((parse_duration(v) for v in value), reverse=True)


class BlackoutConfig(_Strict):
    name: str
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> BlackoutConfig:
        if self.end <= self.start:
            raise ValueError(f"blackout {self.name!r} ends before it starts")
        return self


class Packages(_Strict):
    dir: Path = Path("./packages")


class AdapterConfig(BaseModel):
    """The adapter block; its keys beyond ``kind`` belong to the adapter and are checked there."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: Literal["simulated", "dataminer"]

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SystemConfig(_Strict):
    channel: str
    adapter: AdapterConfig
    startup_time: timedelta = Field(timedelta(minutes=10), description="slowest agent start-up")
    key_checks: list[KeyCheck] = Field(default_factory=list)
    current_release: str | None = Field(
        None,
        description="the CU the agents run when the catalog cannot place their build (10.4.0 CU18)",
    )

    @field_validator("current_release")
    @classmethod
    def _release(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            version = parse_version(value)
        except InvalidVersion:
            version = None
        if version is None or version.is_main_line_only or version.build is not None:
            raise ValueError(f"{value!r} is not a release; write it like 10.4.0 CU18 or 10.5.4")
        return version.label

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not re.fullmatch(r"[CG][A-Z0-9]{2,}", value):
            raise ValueError(
                f"{value!r} is not a Slack channel id (C…); in Slack open the channel's "
                "details and copy the Channel ID at the bottom"
            )
        return value

    @field_validator("startup_time", mode="before")
    @classmethod
    def _startup(cls, value: Any) -> timedelta:
        return parse_duration(value)


class Config(_Strict):
    timezone: str = "UTC"
    roles: Roles = Field(default_factory=Roles)
    four_eyes: bool = True
    schedule: Schedule = Field(default_factory=Schedule)
    blackouts: list[BlackoutConfig] = Field(default_factory=list)
    packages: Packages = Field(default_factory=Packages)
    backup_max_age: timedelta = timedelta(days=7)
    catalog: Path | None = None
    catalog_max_age: timedelta = timedelta(days=90)  # older docs: the proposal says so (#12)
    known_issues: Path | None = None
    systems: dict[str, SystemConfig]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone; write it like Europe/Brussels or UTC"
            ) from None
        return value

    @field_validator("backup_max_age", "catalog_max_age", mode="before")
    @classmethod
    def _age(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("systems")
    @classmethod
    def _some_systems(cls, value: dict[str, SystemConfig]) -> dict[str, SystemConfig]:
        if not value:
            raise ValueError("configure at least one system")
        for name in value:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", name):
                raise ValueError(
                    f"system name {name!r} must be lower-case letters, digits, - or _ "
                    "(it is typed in /upgrade commands)"
                )
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_blackouts(self) -> list[tuple[str, datetime, datetime]]:
        """Blackouts with naive times read in the config's zone, as aware datetimes."""
        zone = self.tz
        return [(b.name, _aware(b.start, zone), _aware(b.end, zone)) for b in self.blackouts]


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=zone)


def load_config(path: Path) -> Config:
    """Read and validate the YAML; any problem becomes one ConfigError naming key and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"Cannot read the config file {path}: {error.strerror}.") from None
    try:
        data = yaml.safe_load(text)
        lines = _key_lines(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings (timezone:, systems:, …).")
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(path, error, lines)) from None


def _describe(path: Path, error: ValidationError, lines: dict[tuple[str, ...], int]) -> str:
    parts = []
    for problem in error.errors():
        loc = tuple(str(p) for p in problem["loc"])
        key = ".".join(loc) or "(top level)"
        line = _nearest_line(loc, lines)
        where = f" (line {line})" if line else ""
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "is not a setting upgradebot knows; check the spelling against DESIGN"
        elif problem["type"] == "missing":
            message = "is required"
        elif problem["type"] == "literal_error":
            message = f"must be one of: {problem.get('ctx', {}).get('expected', '')}"
        parts.append(f"{key}{where}: {message}")
    return f"Invalid config {path}: " + "; ".join(parts)


def _nearest_line(loc: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path (and list index) in the YAML to its 1-based line."""
    root = yaml.compose(text)
    found: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        found[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                found[(*path, str(key.value))] = key.start_mark.line + 1
                walk(value, (*path, str(key.value)))
                found[(*path, str(key.value))] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, str(index)))

    if root is not None:
        walk(root, ())
    return found
