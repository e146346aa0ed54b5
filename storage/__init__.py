"""Persistence: the only package that imports sqlite_utils.

Functions take a :class:`sqlite_utils.Database` from :func:`open_database` first and return
the pydantic models of :mod:`bot.domain.models`. Datetimes go in and come out aware UTC;
storage never reads the clock. Every multi-row write is one transaction.
"""

from storage.acks import latest_ack, list_acks, record_ack
from storage.actions import (
    ActionStatus,
    ScheduledAction,
    cancel_actions,
    claim_action,
    finish_action,
    get_action,
    list_actions,
    pending_actions,
    schedule_action,
)
from storage.audit import ChainReport, append_audit, list_audit, verify_audit_chain
from storage.db import Database, open_database, write_transaction
from storage.idempotency import claim_request, forget_requests
from storage.migrations import UnknownMigrations, applied_migrations
from storage.windows import (
    StaleState,
    create_window,
    finished_windows,
    get_window,
    list_windows,
    open_windows,
    set_message_ref,
    transition,
)

__all__ = [
    "ActionStatus",
    "ChainReport",
    "Database",
    "ScheduledAction",
    "StaleState",
    "UnknownMigrations",
    "append_audit",
    "applied_migrations",
    "cancel_actions",
    "claim_action",
    "claim_request",
    "create_window",
    "finish_action",
    "finished_windows",
    "forget_requests",
    "get_action",
    "get_window",
    "latest_ack",
    "list_acks",
    "list_actions",
    "list_audit",
    "list_windows",
    "open_database",
    "open_windows",
    "pending_actions",
    "record_ack",
    "schedule_action",
    "set_message_ref",
    "transition",
    "verify_audit_chain",
    "write_transaction",
]
