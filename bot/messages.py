"""Every sentence the bot says to a person, in one place."""

from __future__ import annotations

from bot.escape import escape
from bot.ids import COMMAND

USAGE = {
    "help": f"`{COMMAND} help`",
    "systems": f"`{COMMAND} systems`",
    "propose": f"`{COMMAND} propose <system> <target> <start> [<length>]` — e.g. "
    f"`{COMMAND} propose lab 10.5 2026-12-02T22:00 4h`, or `{COMMAND} propose` for a form",
    "list": f"`{COMMAND} list [system]`",
    "status": f"`{COMMAND} status <id>` — e.g. `{COMMAND} status #12`",
    "precheck": f"`{COMMAND} precheck <id>` — run the day-before pre-check now",
    "postpone": f"`{COMMAND} postpone <id> <start>` — e.g. `{COMMAND} postpone #12 friday 22:00`",
    "cancel": f"`{COMMAND} cancel <id> [reason]` — e.g. `{COMMAND} cancel #12 vendor delay`",
    "history": f"`{COMMAND} history [system]`",
    "export": f"`{COMMAND} export <id>` — the change record as two files (markdown, JSON)",
}

HELP = "\n".join(
    [
        "*upgradebot* walks the team through a DataMiner upgrade, gate by gate: "
        "propose → approve → details → day-before pre-check → go → verify.",
        "",
        *(f"• {escape(line)}" for line in USAGE.values()),
        "",
        "Times are read in the configured time zone unless they carry an offset; "
        "targets look like `10.5` (latest CU), `10.5.0 CU3` or `10.6.4` (feature release).",
    ]
)

MAX_INPUT = 500


def unknown_subcommand(word: str) -> str:
    """Plain text with ``word`` as typed: the refusal is escaped where it is sent."""
    return (
        f"`{word[:30]}` is not an `{COMMAND}` subcommand. Try one of: "
        + ", ".join(f"`{name}`" for name in USAGE)
        + "."
    )


def too_long(length: int) -> str:
    return f"That command is {length:,} characters long; `{COMMAND}` takes at most {MAX_INPUT}."


def unbalanced_quotes() -> str:
    return 'A quote is not closed. Write the start like `"2026-12-02 22:00"` or `2026-12-02T22:00`.'


def with_usage(sentence: str, hint: str | None, command: str, syntax: bool = True) -> str:
    """A refusal of typed input, escaped for Slack (it quotes what was typed); the usage line
    only when the words were not in the grammar (``syntax``), and then once."""
    parts = [escape(sentence)]
    if hint:
        parts.append(escape(hint))
    if syntax:
        parts.append(f"Usage: {escape(USAGE.get(command, USAGE['help']))}")
    return "\n".join(parts)


def missing_arguments(command: str) -> str:
    return f"`{command}` needs more arguments."


def _ask(who: str, role: str) -> str:
    """Who can act, by mention; or where to name them when nobody is configured."""
    if who:
        return f"Ask one of them: {who}."
    return f"No {role} are configured yet: name them under `roles.{role}` in the config."


def not_an_approver(user: str, approvers: str = "") -> str:
    return f"<@{user}>, only approvers may approve or reject upgrade windows. " + _ask(
        approvers, "approvers"
    )


def four_eyes(user: str) -> str:
    return (
        f"<@{user}>, you proposed this window; four-eyes is on, so another approver must "
        "decide on it."
    )


def not_a_proposer(user: str) -> str:
    return f"<@{user}>, only the configured proposers may propose upgrade windows."


def may_not_cancel(user: str, window_label: str, who: str = "") -> str:
    asked = f" Ask one of them: {who}." if who else ""
    return (
        f"<@{user}>, only the proposer, an approver or an operator may cancel {window_label}."
        + asked
    )


# What a window's state means to a person, for refusals (never the state's name alone).
_STATE_WORDS = {
    "proposed": "it still waits for approval (G1)",
    "approved": "its details checklist (G2) is still open",
    "planned": "it waits for the day-before pre-check to be accepted (G3)",
    "ready": "it waits for the go (G4)",
    "executing": "it is being upgraded right now",
    "verifying": "it waits for verification (G5)",
    "done": "it is done: upgraded and verified",
    "failed": "it has failed",
    "cancelled": "it was cancelled",
    "rejected": "it was rejected",
    "expired": "it expired before anyone acted on it",
}
_GATE_WORDS = {
    "G1": "Approval (G1)",
    "G2": "The details checklist (G2)",
    "G3": "The pre-check acceptance (G3)",
    "G4": "The go (G4)",
    "G5": "Verification (G5)",
}
# What already happened to a window, for a click that came second; who decided is named only
# for the decisions ``decided_by`` records (approval, rejection, cancellation).
_DECIDED = {
    "executing": "started: the upgrade is running",
    "verifying": "upgraded: it waits for verification (G5)",
    "done": "done: upgraded and verified",
    "failed": "failed",
    "expired": "expired",
}


def already_decided(window_label: str, state: str, by: str | None) -> str:
    if state in _DECIDED:
        return f"{window_label} was already {_DECIDED[state]}; nothing was changed."
    who = f" by <@{by}>" if by else ""
    decided = state if state in ("rejected", "cancelled") else "approved"
    return f"{window_label} was already {decided}{who}; nothing was changed."


def proposal_posted(window_label: str, channel: str) -> str:
    return f"Proposed {window_label} in <#{channel}>. An approver can sign it off there."


def cancelled(window_label: str) -> str:
    return f"Cancelled {window_label}. The proposal in its channel says so."


def unexpected(ref: str) -> str:
    # Not "nothing was changed": part of it may have been (issue 15, D4); status shows what.
    return (
        f"Something went wrong (ref `{ref}`); the log has details. `/upgrade status <id>` shows "
        "what was stored."
    )


def adapter_unreachable(system: str, detail: str) -> str:
    return (
        f"Could not read the {escape(system)} cluster: {escape(detail)}. Nothing was proposed; "
        "try again when the agents answer."
    )


def working_on(system: str, target: str) -> str:
    return f"Reading the {escape(system)} cluster and planning the upgrade to {escape(target)}…"


def gate_not_open(window_label: str, gate: str, state: str) -> str:
    what = _GATE_WORDS.get(gate, gate)
    why = _STATE_WORDS.get(state, f"it is {state}")
    return f"{what} of {window_label} is not open now: {why}. Nothing was changed."


def decision_words(decision: str, titles: dict[str, str]) -> str:
    """An acknowledgement as a person says it: ``confirm:key_functions`` -> confirmed “Key
    functionalities identified…”."""
    verb, _, item = decision.partition(":")
    title = titles.get(item, item.replace("_", " "))
    if item and verb == "step_by_hand":
        return f"did step {item} by hand"
    settled = {"confirm": "confirmed", "waive": "waived"}
    if item and verb in settled:
        return f"{settled[verb]} “{title}”"
    plain = {
        "approve": "approved",
        "reject": "rejected",
        "go": "gave the go",
        "accept": "accepted",
        "report_problem": "reported a problem",
        "verified": "verified",
        "close": "closed",
    }
    return plain.get(decision, decision.replace("_", " "))


def not_an_operator(user: str, operators: str = "") -> str:
    return f"<@{user}>, only operators may acknowledge this step. " + _ask(operators, "operators")


def unknown_item(item: str) -> str:
    return f"`{escape(item, 40)}` is not an item of the details checklist."


def cannot_confirm_automatic(title: str) -> str:
    return (
        f"“{escape(title)}” is checked by the bot: fix the cause and re-run, or waive it with a "
        "reason."
    )


def details_first(window_label: str) -> str:
    return (
        f"The details checklist (G2) of {window_label} is still open; close it before "
        "accepting the pre-check."
    )


def precheck_blocked(window_label: str, count: int) -> str:
    return (
        f"The pre-check of {window_label} has {count} failing item(s); fix them and press "
        "*Re-run*, then accept the new results."
    )


def stale_evidence(window_label: str) -> str:
    return (
        f"Those are not the latest pre-check results of {window_label}; accept the newest "
        "summary in the thread."
    )


def no_precheck(window_label: str) -> str:
    return f"{window_label} has no pre-check results yet; run `/upgrade precheck {window_label}`."


def precheck_started(window_label: str) -> str:
    return f"Running the pre-check of {window_label}; the results go into its thread."


MIN_WAIVER_REASON = 15


def waiver_hint() -> str:
    return (
        f"A sentence of at least {MIN_WAIVER_REASON} characters: why it is safe, and who "
        "decided. It is kept in the change record."
    )


def waiver_too_short(length: int) -> str:
    return (
        f"Say in a sentence why it is safe to go on without it (at least {MIN_WAIVER_REASON} "
        f"characters; this is {length})."
    )


def backup_unconfirmed() -> str:
    return (
        "Tick the box to confirm that a backup or VM snapshot was taken; nothing starts without it."
    )


def go_changed(window_label: str, changes: str) -> str:
    return (
        f"No go for {window_label}: the health check just before the start differs from the "
        f"accepted pre-check ({changes}). G3 is open again; review, accept the new results, "
        "then give the go."
    )


def proposal_not_posted(window_label: str) -> str:
    return (
        f"Stored {window_label}; Slack has not confirmed its post yet, so the bot keeps posting "
        f"it until Slack takes it (once). `/upgrade status {window_label}` shows where it stands."
    )


def proposal_refused(window_label: str, channel: str, error: str) -> str:
    return (
        f"Stored {window_label}, but Slack refuses to post it in <#{channel}> ({error}): check "
        f"the system's channel in the config and that the app may post there. "
        f"`/upgrade status {window_label}` shows the window."
    )


def proposal_outcome(window_label: str, channel: str | None, message_ts: str | None) -> str:
    if message_ts is None or channel is None:
        return proposal_not_posted(window_label)
    return proposal_posted(window_label, channel)


def plan_changed(window_label: str, gate: str, reason: str, approvers: str) -> str:
    ask = f" {approvers}, please approve the new plan or reject it." if approvers else ""
    return (
        f"{window_label} did not pass {gate}: {reason} It is back at G1 for a fresh approval of "
        f"the new plan; nothing was started.{ask}"
    )


def nothing_to_do(window_label: str, reason: str) -> str:
    return f"{window_label} is closed: {reason} Nothing was started."


def plan_blocked(window_label: str, gate: str, reason: str) -> str:
    return f"{window_label} did not pass {gate}: {reason} Nothing was started."


def cannot_postpone(window_label: str, state: str) -> str:
    return (
        f"{window_label} can no longer be postponed ({state}): only a window that has not "
        "started can move."
    )


def postponed_to(window_label: str, when: str, by: str, approvers: str) -> str:
    ask = f" {approvers}, please approve the new slot or reject it." if approvers else ""
    return (
        f"{window_label} was postponed by {by} to {when}; it is back at G1 with a plan made "
        f"from what the agents run now, and nothing ran.{ask}"
    )


def postpone_done(window_label: str) -> str:
    return f"Postponed {window_label}; its proposal asks the approvers again."


def expired(window_label: str, reason: str, people: str) -> str:
    tell = f" {people}: propose it again for a new slot if it is still needed." if people else ""
    return f"{window_label} expired: {reason}.{tell}"


def exported(window_id: int, files: tuple[str, ...]) -> str:
    return f"The change record of #{window_id} is in its thread: " + " and ".join(files) + "."


def export_failed(window_id: int, slack_error: str) -> str:
    return (
        f"Slack did not take the change record of #{window_id} ({slack_error}). Check that the "
        f"app has the files:write scope, or run `upgradebot export {window_id}` on the bot's host."
    )


def form_not_ours() -> str:
    return (
        "That form was not opened by upgradebot (or is from another install), so nothing was "
        "done. Open it again from the button in the thread."
    )
