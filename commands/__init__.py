"""The /upgrade grammar: one module per subcommand, each with parse -> run -> reply."""

from __future__ import annotations

from types import ModuleType

from commands import cancel, export, help, history, postpone, precheck, propose, status, systems
from commands import list as list_

_ORDER = (help, systems, propose, list_, status, precheck, postpone, cancel, history, export)
SUBCOMMANDS: dict[str, ModuleType] = {module.NAME: module for module in _ORDER}
