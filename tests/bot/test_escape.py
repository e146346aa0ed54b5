"""Nothing a person wrote comes out of a renderer as Slack markup (issue 11).

Every renderer is called twice, once with hostile text where a person's words go (reasons,
names, errors a DMS returned) and once with plain words; each text object is then rendered the
way Slack reads it (the sandbox's mrkdwn renderer: plain_text as is, mrkdwn parsed) and the
markup in the two is counted. The bot's own mentions, links and bold stay; the hostile text adds
none, and no control character or bidirectional mark gets through.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import messages
from bot.domain.errors import InputError, InvalidTime, UnknownSystem
from bot.domain.estimates import estimate_duration
from bot.domain.models import Acknowledgement, GateId, Window, WindowState
from bot.domain.paths import plan_upgrade
from bot.domain.proposal import AgentLine, ProposalDetails
from bot.escape import escape
from bot.flows.approve.modals import reject_modal
from bot.flows.details.blocks import details_blocks, details_text
from bot.flows.details.modals import waive_modal
from bot.flows.execute.blocks import halt_blocks
from bot.flows.go.blocks import go_blocks
from bot.flows.go.modals import go_modal
from bot.flows.propose import blocks as propose_blocks
from bot.flows.verify.modals import problem_modal
from bot.guard import error_text
from bot.releases import load_catalog
from bot.sandbox.mrkdwn import Names, to_html_text
from checks.checklist import Item, ItemStatus
from storage.steps import UpgradeStep

HOSTILE = (
    "<!channel> <!here> <!everyone> <!subteam^S123> <@U123> <#C999> "
    "<https://evil.example|click> &amp; *bold* _italic_ ~strike~ > quote\n> again "
    "\x00\x07\x1b\u202e\u2066\u200f reversed"
)
LONG = "A" * 4000
PLAIN = "plain words"
TZ = ZoneInfo("Europe/Brussels")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MARKUP = re.compile(r'<(a|b|i|s|blockquote|time|code|pre)\b|class="(mention|channel-link)"')
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def window(text: str, state: WindowState = WindowState.REJECTED) -> Window:
    return Window(
        id=3,
        system=text,
        target="10.5.0 CU18",
        start=T0 + timedelta(days=1),
        end=T0 + timedelta(days=1, hours=4),
        state=state,
        proposer="U0PAT",
        created_at=T0,
        decided_by="U0ANNA",
        decided_at=T0,
        reason=text,
    )


def details() -> ProposalDetails:
    catalog = load_catalog()
    plan = plan_upgrade(catalog, {"dma-01": "10.3.0.0-13012"}, catalog.resolve("10.5"))
    return ProposalDetails(
        agents=[
            AgentLine(name="dma-01", version="10.3.0 CU0", raw_version="10.3.0.0-13012", state="x")
        ],
        plan=plan,
        estimate=estimate_duration(plan, 1, timedelta(minutes=10)),
        warnings=[],
    )


def step(text: str) -> UpgradeStep:
    return UpgradeStep(
        id=1,
        window_id=3,
        position=1,
        attempt=1,
        package="DataMiner 10.5.0.0-15230 Full Upgrade.dmupgrade",
        status="failed",
        run_id=None,
        started_at=T0,
        error=text,
    )


def item(text: str) -> Item:
    return Item(
        "hotfixes", "Hotfixes identified", False, ItemStatus.WAIVED, by="U0OLGA", reason=text
    )


def ack(text: str) -> Acknowledgement:
    return Acknowledgement(
        id=1, window_id=3, gate=GateId.G1, user="U0ANNA", decision="reject", at=T0, reason=text
    )


def refusal(text: str) -> str:
    return error_text(UnknownSystem(text, ["lab"]), "propose") + error_text(
        InvalidTime(text), "propose"
    )


# Each renderer, given the text a person wrote; the result is blocks, a view or a string.
RENDERERS: dict[str, Callable[[str], Any]] = {
    "proposal": lambda t: propose_blocks.proposal(window(t), details(), TZ),
    "proposal_text": lambda t: propose_blocks.proposal_text(window(t), details(), TZ),
    "rejected line": lambda t: propose_blocks.decision_line(window(t)),
    "cancelled line": lambda t: propose_blocks.decision_line(
        window(t, WindowState.CANCELLED), "U0PAT"
    ),
    "failed line": lambda t: propose_blocks.decision_line(window(t, WindowState.FAILED)),
    "expired line": lambda t: propose_blocks.decision_line(window(t, WindowState.EXPIRED)),
    "window list": lambda t: propose_blocks.window_list("Open", [window(t)], TZ, "none"),
    "status": lambda t: propose_blocks.status(window(t), [ack(t)], TZ),
    "details": lambda t: details_blocks(window(t, WindowState.APPROVED), [item(t)]),
    "details_text": lambda t: details_text(window(t), [item(t)]),
    "halt": lambda t: halt_blocks(window(t, WindowState.EXECUTING), step(t), None, []),
    "go": lambda t: go_blocks(window(t, WindowState.READY)),
    "go modal": lambda t: go_modal(window(t, WindowState.READY), "C0OPS"),
    "reject modal": lambda t: reject_modal(3, "#3", "C0OPS"),
    "waive modal": lambda t: waive_modal(3, "hotfixes", "Hotfixes identified", "C0OPS", "1.2"),
    "problem modal": lambda t: problem_modal(3, "#3", "C0OPS"),
    "typed-input refusals": refusal,
    "unknown subcommand": lambda t: error_text(
        InputError(messages.unknown_subcommand(t), syntax=True), "help"
    ),
    "adapter unreachable": lambda t: messages.adapter_unreachable(t, t),
    "working on": lambda t: messages.working_on(t, t),
    "unknown item": messages.unknown_item,
    "cannot confirm": messages.cannot_confirm_automatic,
}


def text_objects(node: Any) -> list[Any]:
    """Every text Slack reads in a rendering: text objects, and bare strings (a message's
    ``text``)."""
    if isinstance(node, str):
        return [node]
    found: list[Any] = []
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            return [node]
        for value in node.values():
            found.extend(text_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(text_objects(value))
    return found


def markup(rendering: Any) -> list[str]:
    shown = [to_html_text(obj, Names()) for obj in text_objects(rendering)]
    return [m.group(0) for html in shown for m in MARKUP.finditer(html)]


@pytest.mark.parametrize("name", sorted(RENDERERS))
@pytest.mark.parametrize("hostile", [HOSTILE, LONG], ids=["markup", "4000 characters"])
def test_text_a_person_wrote_never_becomes_markup(name: str, hostile: str) -> None:
    render = RENDERERS[name]
    rendered, plain = render(hostile), render(PLAIN)

    # Hostile text may break the bot's own emphasis around it, never add any markup.
    added = Counter(markup(rendered)) - Counter(markup(plain))
    assert not added, (name, added)
    for obj in text_objects(rendered):
        text = obj if isinstance(obj, str) else obj["text"]
        assert not INVISIBLE.search(text), (name, text)
        assert len(text) <= 3000, (name, len(text))


def test_every_message_that_takes_words_is_walked() -> None:
    """A new sentence in messages.py that quotes what a person typed must join RENDERERS."""
    quoting = {"unknown_subcommand", "adapter_unreachable", "working_on", "unknown_item"}
    quoting |= {"cannot_confirm_automatic", "with_usage"}
    ids_only = {"user", "by", "channel", "window_label", "message_ts", "ref", "state", "gate"}
    ids_only |= {"approvers", "operators", "who", "decision", "titles", "role"}  # bot-made
    takes_words = {
        name
        for name, function in vars(messages).items()
        if callable(function)
        and getattr(function, "__module__", "") == messages.__name__
        and set(function.__annotations__) - {"return"} - ids_only
        and any(
            v in ("str", "str | None")
            for k, v in function.__annotations__.items()
            if k not in ids_only and k != "return"
        )
    }
    # Sentences about the plan and the window's deadlines take only bot-made text, or text the
    # caller escaped first (bot/flows/propose/flow.py recheck escapes what the DMS reported).
    bot_made = {"plan_changed", "nothing_to_do", "plan_blocked", "expired", "postponed_to"}
    bot_made |= {"export_failed", "proposal_refused"}  # Slack's own error code
    assert takes_words - quoting - bot_made <= {"postponed", "go_changed", "missing_arguments"}


def test_escape_keeps_the_characters_and_drops_what_cannot_be_seen() -> None:
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert escape("&amp;") == "&amp;amp;"
    assert escape("*bold*") == "*\u200bbold*"
    assert escape("dma_lab_01") == "dma_lab_01"
    assert escape("> quote") == "\u200b&gt; quote"
    assert escape("line\nbreak\u202e") == "line break"
    assert escape("x" * 20, limit=5) == "xxxx…"


def test_the_bots_own_mentions_still_work() -> None:
    line = propose_blocks.decision_line(window("vendor delay"))
    html = to_html_text({"type": "mrkdwn", "text": line}, Names())

    assert 'class="mention" data-user="U0ANNA"' in html
    assert "vendor delay" in html
