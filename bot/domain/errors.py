"""Every failure the bot can explain to a person.

    UpgradeBotError            a sentence for a person; never a traceback
    ├── InputError             what the user typed or clicked was wrong; nothing is stored
    │   ├── InvalidVersion
    │   ├── UnknownVersion
    │   │   └── NewerThanCatalog   a target beyond what the catalog's docs date knows
    │   ├── DowngradeRefused
    │   ├── UnplacedBuild      the agents' build could be at or above the target
    │   ├── UnknownSystem
    │   ├── UnknownWindow
    │   ├── InvalidTime
    │   ├── StartInPast
    │   ├── InvalidLength
    │   ├── WindowConflict
    │   └── InBlackout
    ├── NotAllowed             the clicker lacks the role, or four-eyes forbids it
    ├── IllegalTransition      the window's state does not allow this move
    ├── NoUpgradePath          the catalog has no documented way from here to there
    ├── MixedVersionCluster    agents disagree on their version; never guessed around
    ├── ConfigError            the YAML is wrong; the bot refuses to start
    └── UnusableDatabase       the database cannot be opened or written; the bot refuses to start

Each exception builds its own message from its fields, so the listener only has to show
``str(error)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


class UpgradeBotError(Exception):
    """A failure with a sentence a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(UpgradeBotError):
    """The input was wrong. ``hint`` shows what a right one looks like; ``syntax`` says the
    words were not in the command's grammar (then the usage line helps; for an unknown system
    or a start in the past it would not). Messages hold what was typed as typed: the shell
    escapes them for Slack."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        field: str | None = None,
        syntax: bool = False,
    ) -> None:
        super().__init__(message)
        self.hint = hint
        self.field = field
        self.syntax = syntax


class InvalidVersion(InputError):
    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(
            f"`{text[:60]}` is not a DataMiner version.",
            hint="Write it like `10.5` (latest CU of main release 10.5), `10.5.0 CU3`, "
            "`10.6.4` (feature release) or `10.3.0.0-13012`.",
            field="target",
            syntax=True,
        )


class UnknownVersion(InputError):
    def __init__(self, text: str, known: Sequence[str]) -> None:
        self.text = text
        self.known = list(known)
        shown = ", ".join(self.known[-12:])
        super().__init__(
            f"The release catalog does not know `{text[:60]}`.",
            hint=f"Known versions include: {shown}.",
            field="target",
        )


class DowngradeRefused(InputError):
    def __init__(self, current: str, target: str) -> None:
        self.current = current
        self.target = target
        super().__init__(
            f"{target} is not above the current version {current}; upgradebot does not "
            "plan downgrades.",
            hint="Pick a target above the current version, or follow the downgrade MOP by hand.",
            field="target",
        )


class NewerThanCatalog(UnknownVersion):
    """A target above everything the catalog lists: the catalog may simply be older than it."""

    def __init__(self, text: str, known: Sequence[str], docs_date: str | None) -> None:
        super().__init__(text, known)
        built = f"Skyline's docs of {docs_date}" if docs_date else "Skyline's docs"
        self.message = (
            f"The release catalog does not know `{text[:60]}`: it was built from {built}, and "
            "nothing as new is in it; a maintainer rebuilds it with `upgradebot catalog build`."
        )
        self.args = (self.message,)


class UnplacedBuild(InputError):
    """The agents report a build the catalog cannot place, and the target is not clearly above
    every CU that build could be (issue #12: never plan what could be a downgrade)."""

    def __init__(self, raw: str, number: str, reason: str) -> None:
        self.raw = raw
        self.number = number
        super().__init__(
            f"The release catalog cannot tell which CU of {number} the agents run "
            f"(`{raw[:40]}`), and {reason}; add the build to its release in the catalog (the "
            "`catalog:` setting can point at your own copy) or name the system's CU in "
            "`current_release` in the config, and propose again.",
            hint=f"A target above every {number} CU can be planned without it.",
            field="target",
        )


class UnknownSystem(InputError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = list(known)
        super().__init__(
            f"There is no system called `{name[:40]}`.",
            hint=f"Configured systems: {', '.join(self.known) or '(none)'}.",
            field="system",
        )


class UnknownWindow(InputError):
    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(
            f"There is no window `{text[:20]}`.",
            hint="Use the number shown as `#12`; `/upgrade list` shows open windows.",
        )


class InvalidTime(InputError):
    def __init__(self, text: str, reason: str = "is not a date and time I can read") -> None:
        self.text = text
        super().__init__(
            f"`{text[:40]}` {reason}.",
            hint='Write the start like `2026-12-02T22:00`, `"2026-12-02 22:00"` or '
            "`tomorrow 22:00`; the length like `4h`, `90m` or `1h30`.",
            field="start",
            syntax=True,
        )


class StartInPast(InputError):
    def __init__(self, start: datetime) -> None:
        self.start = start
        super().__init__(
            f"The window would start at {start:%Y-%m-%d %H:%M %Z}, which is in the past.",
            hint="Pick a start in the future.",
            field="start",
        )


class InvalidLength(InputError):
    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(
            f"`{text[:20]}` is not a usable window length.",
            hint="Write a positive length like `4h`, `90m`, `1h30`, `1h30m`, `1.5h` or `2d` "
            "(at most 72h).",
            field="length",
            syntax=True,
        )


class WindowConflict(InputError):
    def __init__(
        self,
        other_id: int,
        other_start: datetime,
        other_end: datetime,
        suggestions: Sequence[datetime] = (),
    ) -> None:
        self.other_id = other_id
        self.other_start = other_start
        self.other_end = other_end
        self.suggestions = list(suggestions)
        free = ", ".join(f"{s:%Y-%m-%d %H:%M}" for s in self.suggestions)
        super().__init__(
            f"It overlaps window #{other_id} "
            f"({other_start:%Y-%m-%d %H:%M}–{other_end:%Y-%m-%d %H:%M %Z}) on the same system.",
            hint=f"Next free starts: {free}." if free else "Pick a time after that window.",
            field="start",
        )


class InBlackout(InputError):
    def __init__(
        self, name: str, start: datetime, end: datetime, suggestions: Sequence[datetime] = ()
    ) -> None:
        self.name = name
        self.start = start
        self.end = end
        self.suggestions = list(suggestions)
        free = ", ".join(f"{s:%Y-%m-%d %H:%M}" for s in self.suggestions)
        super().__init__(
            f"It falls in the blackout “{name}” ({start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M %Z}).",
            hint=f"Next free starts: {free}." if free else "Pick a time outside the blackout.",
            field="start",
        )


class NotAllowed(UpgradeBotError):
    """The clicker may not do this; the sentence says why."""


class IllegalTransition(UpgradeBotError):
    def __init__(self, window_id: int, state: str, action: str) -> None:
        self.window_id = window_id
        self.state = state
        self.action = action
        super().__init__(f"Window #{window_id} is {state}; it cannot be {action} now.")


class NoUpgradePath(UpgradeBotError):
    pass


class MixedVersionCluster(UpgradeBotError):
    def __init__(self, versions: dict[str, str]) -> None:
        self.versions = dict(versions)
        listed = ", ".join(f"{agent} on {v}" for agent, v in sorted(self.versions.items()))
        super().__init__(
            f"The agents do not all run the same version ({listed}). DataMiner requires one "
            "version across the cluster; bring them in line before planning an upgrade."
        )


class ConfigError(UpgradeBotError):
    pass


class UnusableDatabase(UpgradeBotError):
    """The database cannot be opened or written (a read-only file or folder, a full disk, a
    folder or another kind of file at its path): the message says what is wrong and what
    would fix it (storage/health.py), and the command line exits with it, not a traceback."""
