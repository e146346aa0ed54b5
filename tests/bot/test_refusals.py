"""Refusals in a person's words (issue 11): no state names or internal keys, and who can act."""

from __future__ import annotations

import pytest

from bot import messages
from bot.domain.models import WindowState
from checks.checklist import MANUAL_ITEMS


@pytest.mark.parametrize("state", list(WindowState))
@pytest.mark.parametrize("gate", ["G1", "G2", "G3", "G4", "G5"])
def test_a_closed_gate_says_what_the_window_waits_for(gate: str, state: WindowState) -> None:
    sentence = messages.gate_not_open("#8", gate, state.value)
    assert f"the window is {state.value}" not in sentence
    assert sentence.startswith(("Approval", "The ", "Verification")) and "#8" in sentence
    assert sentence.endswith("Nothing was changed.")


@pytest.mark.parametrize(
    ("decision", "words"),
    [
        ("confirm:key_functions", f"confirmed “{MANUAL_ITEMS['key_functions']}”"),
        ("waive:alarms", "waived “alarms”"),
        ("step_by_hand:2", "did step 2 by hand"),
        ("approve", "approved"),
        ("report_problem", "reported a problem"),
        ("something_new", "something new"),
    ],
)
def test_acknowledgements_read_as_sentences(decision: str, words: str) -> None:
    assert messages.decision_words(decision, MANUAL_ITEMS) == words


def test_ask_one_of_them_names_them_or_says_where_to_configure_them() -> None:
    named = messages.not_an_approver("U0EVE", "<!subteam^S0ADMINS> <@U0ANNA>")
    assert named.endswith("Ask one of them: <!subteam^S0ADMINS> <@U0ANNA>.")
    nobody = messages.not_an_operator("U0EVE", "")
    assert "Ask one of them" not in nobody and "`roles.operators`" in nobody
    assert messages.may_not_cancel("U0EVE", "#3", "<@U0OLGA>").endswith(
        "Ask one of them: <@U0OLGA>."
    )
    assert messages.already_decided("#3", "planned", "U0ANNA") == (
        "#3 was already approved by <@U0ANNA>; nothing was changed."
    )
    assert messages.already_decided("#3", "executing", "U0ANNA") == (
        "#3 was already started: the upgrade is running; nothing was changed."
    )
    assert "already cancelled by <@U0PAT>" in messages.already_decided("#3", "cancelled", "U0PAT")


def test_a_waiver_shorter_than_a_sentence_is_explained() -> None:
    assert "at least 15 characters; this is 2" in messages.waiver_too_short(2)
    assert "15 characters" in messages.waiver_hint()
