"""App Home: opened over loopback (a signed app_home_opened event), published with views.publish
to the stand-in, and published again when a window it shows changes."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.models import WindowState
from bot.home.view import home_view
from bot.ids import Action, HomeAction
from bot.sandbox.signing import app_home_opened_body
from storage import get_window
from tests.fakes.bot import APPROVER, PROPOSER, STRANGER, Harness
from tests.fakes.slack import SlackStub
from tests.scenarios.test_night import OPERATOR, ready_at_start
from tests.scenarios.test_propose_approve import propose, texts

JSON = {"Content-Type": "application/json"}


async def open_home(bot: Harness, user: str, tab: str = "home") -> None:
    status, _ = await bot.post(app_home_opened_body(user, tab), headers=JSON)
    assert status == 200


async def home_of(bot: Harness, user: str, count: int = 1) -> dict[str, Any]:
    """The Home tab of ``user`` once it was published ``count`` times."""
    await bot.stub.wait_until(
        lambda: (
            sum(1 for c in bot.stub.calls_to("views.publish") if c.args["user_id"] == user) >= count
        )
    )
    home = bot.stub.home(user)
    assert home is not None
    return home.view


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b["accessory"] for b in view["blocks"] if "accessory" in b]


async def test_an_approver_sees_the_g1_they_owe_with_a_button_to_the_thread(bot: Harness) -> None:
    message = await propose(bot)
    await open_home(bot, APPROVER)
    view = await home_of(bot, APPROVER)
    assert view["type"] == "home"
    shown = texts(view)
    assert "Waiting for you (1)" in shown
    assert "G1 Window approved* for *#1* lab → 10.5.0 CU" in shown
    assert "before <!date^" in shown  # the deadline, in the reader's zone
    (button,) = buttons(view)
    assert button["action_id"] == HomeAction.OPEN_THREAD
    thread = (
        f"https://upgradebot-sandbox.slack.com/archives/C0OPS/p{message['ts'].replace('.', '')}"
    )
    assert button["url"] == thread
    assert "Coming up" in shown and "starts <!date^" in shown and "_proposed_" in shown
    assert "Nothing finished yet." in shown
    # The click on a link button reaches the app too and is acknowledged, nothing else.
    status = await bot.click(HomeAction.OPEN_THREAD, message, APPROVER)
    assert status == 200


async def test_someone_who_owes_nothing_sees_so_and_what_is_coming(bot: Harness) -> None:
    await propose(bot)
    await open_home(bot, STRANGER)
    view = await home_of(bot, STRANGER)
    shown = texts(view)
    assert f"Nothing is waiting for you, <@{STRANGER}>." in shown
    assert buttons(view) == []
    assert "*<https://upgradebot-sandbox.slack.com/archives/C0OPS/p" in shown  # #1, linked
    # Four eyes: the proposer does not owe the approval of their own window.
    await open_home(bot, PROPOSER)
    assert "Nothing is waiting for you" in texts(await home_of(bot, PROPOSER))


async def test_open_tabs_are_published_again_when_a_window_they_show_changes(
    bot: Harness,
) -> None:
    message = await propose(bot)
    await open_home(bot, APPROVER)
    await open_home(bot, PROPOSER)
    await home_of(bot, APPROVER)
    await home_of(bot, PROPOSER)
    await bot.click(Action.APPROVE, message, APPROVER)
    await bot.stub.wait_until(lambda: get_window(bot.ctx.db, 1).state is WindowState.APPROVED)  # type: ignore[union-attr]
    await bot.stub.wait_until(
        lambda: "G2 Details established" in texts(bot.stub.home(PROPOSER).view)  # type: ignore[union-attr]
    )
    assert "Nothing is waiting for you" in texts(bot.stub.home(APPROVER).view)  # type: ignore[union-attr]
    assert "_approved_" in texts(bot.stub.home(APPROVER).view)  # type: ignore[union-attr]


async def test_the_messages_tab_publishes_nothing(bot: Harness) -> None:
    await open_home(bot, APPROVER, tab="messages")
    await open_home(bot, STRANGER)
    await home_of(bot, STRANGER)
    assert [c.args["user_id"] for c in bot.stub.calls_to("views.publish")] == [STRANGER]


def test_the_home_view_stays_within_slacks_limits_with_many_windows() -> None:
    view = home_view("U0ANNA", [], [], [], {})
    assert len(view["blocks"]) <= 100
    assert "No window is planned." in texts(view)


async def test_views_publish_is_as_strict_as_slack(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    first = await slack_client.views_publish(user_id="U0ANNA", view=home)
    assert first["view"]["type"] == "home" and first["view"]["hash"]
    again = await slack_client.views_publish(
        user_id="U0ANNA", view=home, hash=first["view"]["hash"]
    )
    assert again["view"]["id"] == first["view"]["id"]
    for kwargs, error in (
        ({"user_id": "anna", "view": home}, "invalid_arguments"),
        ({"user_id": "U0ANNA", "view": {**home, "type": "modal"}}, "invalid_arguments"),
        ({"user_id": "U0ANNA", "view": home, "hash": first["view"]["hash"]}, "hash_conflict"),
        (
            {"user_id": "U0ANNA", "view": {"type": "home", "blocks": [{}] * 101}},
            "invalid_arguments",
        ),
    ):
        with pytest.raises(SlackApiError) as caught:
            await slack_client.views_publish(**kwargs)  # type: ignore[arg-type]
        assert caught.value.response["error"] == error, kwargs
    slack_stub.home_tab_enabled = False
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_publish(user_id="U0ANNA", view=home)
    assert caught.value.response["error"] == "not_enabled"


async def test_the_operator_s_tab_follows_the_night_to_the_go_they_owe(bot: Harness) -> None:
    await open_home(bot, OPERATOR)
    assert "Nothing is waiting for you" in texts(await home_of(bot, OPERATOR))
    await ready_at_start(bot)  # details, pre-check accepted, the start: the go prompt is posted
    # READY did not move at the start; the go prompt's post is what brought G4 to the tab.
    await bot.stub.wait_until(lambda: "*G4 Go* for *#1*" in texts(bot.stub.home(OPERATOR).view))  # type: ignore[union-attr]
    view = bot.stub.home(OPERATOR).view  # type: ignore[union-attr]
    assert "Waiting for you (1)" in texts(view) and "_ready_" in texts(view)
    (button,) = buttons(view)
    assert button["url"].startswith("https://upgradebot-sandbox.slack.com/archives/C0NIGHT/p")
