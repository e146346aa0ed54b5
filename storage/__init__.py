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
from storage.audit import (
    ChainReport,
    StateChange,
    append_audit,
    list_audit,
    list_state_changes,
    verify_audit_chain,
)
from storage.db import (
    LOOP_WRITES,
    Database,
    WriteBusy,
    open_database,
    write_async,
    write_now,
    write_transaction,
)
from storage.hotfixes import list_hotfixes, set_hotfixes
from storage.idempotency import claim_request, forget_requests
from storage.migrations import UnknownMigrations, applied_migrations
from storage.packages import PackageRecord, forget_package, get_package, record_package
from storage.runs import (
    CheckRun,
    MessageRef,
    find_message,
    get_check_run,
    latest_check_run,
    list_check_runs,
    list_messages,
    record_check_run,
    remember_message,
)
from storage.steps import (
    StepAlreadyTriggered,
    UpgradeStep,
    begin_step,
    finish_step,
    list_steps,
    measured_startups,
    set_step_run,
)
from storage.windows import (
    StaleState,
    create_window,
    finished_windows,
    get_window,
    list_windows,
    open_windows,
    reopen_for_approval,
    set_message_ref,
    transition,
)

__all__ = [
    "LOOP_WRITES",
    "ActionStatus",
    "ChainReport",
    "CheckRun",
    "Database",
    "MessageRef",
    "PackageRecord",
    "ScheduledAction",
    "StaleState",
    "StateChange",
    "StepAlreadyTriggered",
    "UnknownMigrations",
    "UpgradeStep",
    "WriteBusy",
    "append_audit",
    "applied_migrations",
    "begin_step",
    "cancel_actions",
    "claim_action",
    "claim_request",
    "create_window",
    "find_message",
    "finish_action",
    "finish_step",
    "finished_windows",
    "forget_package",
    "forget_requests",
    "get_action",
    "get_check_run",
    "get_package",
    "get_window",
    "latest_ack",
    "latest_check_run",
    "list_acks",
    "list_actions",
    "list_audit",
    "list_check_runs",
    "list_hotfixes",
    "list_messages",
    "list_state_changes",
    "list_steps",
    "list_windows",
    "measured_startups",
    "open_database",
    "open_windows",
    "pending_actions",
    "record_ack",
    "record_check_run",
    "record_package",
    "remember_message",
    "reopen_for_approval",
    "schedule_action",
    "set_hotfixes",
    "set_message_ref",
    "set_step_run",
    "transition",
    "verify_audit_chain",
    "write_async",
    "write_now",
    "write_transaction",
]
