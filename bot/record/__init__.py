"""The change record of one window, built from storage alone (``build``) in the shape
``models`` gives it; exported as Markdown and JSON."""

from bot.record.build import build_record, to_json, to_markdown, to_thread_url
from bot.record.models import SCHEMA_VERSION, ChangeRecord

__all__ = [
    "SCHEMA_VERSION",
    "ChangeRecord",
    "build_record",
    "to_json",
    "to_markdown",
    "to_thread_url",
]
