"""The bot's log, for a person reading it (text) or a log shipper (``--log-format json``).

What a line is for: one line per thing that happened to a window (``storage/audit.py`` logs each
audit entry as it is written: which window, who, what, from which state to which), warnings and
errors with their reference, and the start-up. APScheduler's own bookkeeping (job added, job
run, job removed) goes to DEBUG, where it does not bury the rest.

No secret reaches either form: every record passes ``RedactSecrets``, which blanks Slack tokens
(``xoxb-…``, ``xapp-…``) and the configured secret values wherever they appear, also in what a
library logs at DEBUG.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
_SLACK_TOKEN = re.compile(r"\bx(?:ox[abpers]|app)-[A-Za-z0-9-]+")
# Fields a record may carry through ``extra=`` that the JSON form lifts to the top level.
WINDOW_FIELDS = ("window", "actor", "action", "before", "after", "gate", "slack_action")
_NOISY = ("apscheduler", "aiohttp.access")


class RedactSecrets(logging.Filter):
    """Blanks tokens and secrets in a record's message (and its formatted arguments)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _SLACK_TOKEN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the window's
    fields when the record has them, and the traceback as ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in WINDOW_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure_logging(
    log_format: str = "text",
    *,
    level: int = logging.INFO,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Replace the root logger's handlers with one that writes ``log_format`` to ``stream``
    (stderr by default); returns that handler."""
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: use text or json")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(
            logging.DEBUG if level <= logging.DEBUG else logging.WARNING
        )
    return handler
