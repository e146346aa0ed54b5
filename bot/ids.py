"""Every name Slack sees: the slash command, action ids, block ids, modal callback ids.

The renderers, the listeners and the manifest test all import these, so a renamed button
cannot silently stop working.
"""

from enum import StrEnum

COMMAND = "/upgrade"


class Action(StrEnum):
    APPROVE = "window_approve"
    REJECT = "window_reject"


class View(StrEnum):
    PROPOSE = "propose_modal"
    REJECT = "reject_modal"


class Block(StrEnum):
    DECISION = "decision"
    # propose modal inputs: errors go back next to these
    SYSTEM = "system"
    TARGET = "target"
    START_DATE = "start_date"
    START_TIME = "start_time"
    LENGTH = "length"
    # reject modal
    REASON = "reason"
    # go modal
    BACKUP = "backup"
    # hotfixes modal
    HOTFIXES = "hotfixes"


class Input(StrEnum):
    """action_id of each modal input element."""

    SYSTEM = "system_select"
    TARGET = "target_input"
    START_DATE = "start_date_pick"
    START_TIME = "start_time_pick"
    LENGTH = "length_input"
    REASON = "reason_input"
    BACKUP = "backup_check"
    HOTFIXES = "hotfix_check"


class GateAction(StrEnum):
    """Buttons in a window's thread, gate by gate."""

    DETAIL_CONFIRM = "details_confirm"
    DETAIL_WAIVE = "details_waive"
    PRECHECK_ACCEPT = "precheck_accept"
    PRECHECK_RERUN = "precheck_rerun"


class GateView(StrEnum):
    WAIVE = "waive_modal"
    HOTFIXES = "hotfixes_modal"


class RunAction(StrEnum):
    """Buttons of the night itself: go, the halted run, verification."""

    GO = "go_start"
    POSTPONE = "go_postpone"
    CANCEL = "go_cancel"
    RETRY = "step_retry"
    ABORT = "step_abort"
    MANUAL_DONE = "step_done_by_hand"
    VERIFIED = "verify_ok"
    PROBLEM = "verify_problem"


class RunView(StrEnum):
    GO = "go_modal"
    PROBLEM = "problem_modal"
    POSTPONE = "postpone_modal"


class HomeAction(StrEnum):
    """Buttons on the App Home tab."""

    OPEN_THREAD = "home_open_thread"  # a link button; Slack still sends the click


class Event(StrEnum):
    """Events API events the app subscribes to (manifest: settings.event_subscriptions)."""

    APP_HOME_OPENED = "app_home_opened"


ACTIONS: frozenset[str] = frozenset(
    a.value for a in (*Action, *GateAction, *RunAction, *HomeAction)
)
EVENTS: frozenset[str] = frozenset(e.value for e in Event)
VIEWS: frozenset[str] = frozenset(v.value for v in (*View, *GateView, *RunView))
