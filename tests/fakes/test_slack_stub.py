"""The Slack stand-in, driven through the real slack_sdk AsyncWebClient over loopback."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import BOT_TOKEN, SlackStub, new_trigger_id

CHANNEL = "C0UPGRADES"
SLACK_TS = re.compile(r"^\d{10}\.\d{6}$")
MODAL = {
    "type": "modal",
    "callback_id": "propose",
    "title": {"type": "plain_text", "text": "Propose a window"},
    "submit": {"type": "plain_text", "text": "Propose"},
    "blocks": [
        {
            "type": "input",
            "block_id": "when",
            "label": {"type": "plain_text", "text": "Start"},
            "element": {"type": "datepicker", "action_id": "date"},
        }
    ],
}


def section(text: str, block_id: str = "intro") -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


@asynccontextmanager
async def running(stub: SlackStub) -> AsyncIterator[SlackStub]:
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()


# ---- messages


async def test_a_posted_message_is_answered_like_slack_and_lands_in_the_channel(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    answer = await slack_client.chat_postMessage(
        channel=CHANNEL, text="Window proposed", blocks=[section("*Window* proposed")]
    )

    assert answer["ok"] is True
    assert answer["channel"] == CHANNEL
    assert SLACK_TS.match(answer["ts"])
    assert answer["message"]["bot_id"] == slack_stub.store.workspace.bot_id
    [stored] = slack_stub.messages(CHANNEL)
    assert (stored.ts, stored.text) == (answer["ts"], "Window proposed")
    assert stored.blocks == [section("*Window* proposed")]
    [call] = slack_stub.calls_to("chat.postMessage")
    assert call.token == BOT_TOKEN
    assert call.args["blocks"] == [section("*Window* proposed")]  # decoded, not a JSON string


async def test_timestamps_are_unique_and_increasing(slack_client: AsyncWebClient) -> None:
    answers = [await slack_client.chat_postMessage(channel=CHANNEL, text=str(i)) for i in range(5)]

    stamps = [a["ts"] for a in answers]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5


async def test_form_encoded_bodies_are_read_and_their_json_fields_decoded(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    blocks = [section("from a form")]
    await slack_client.api_call(
        "chat.postMessage",
        data={"channel": CHANNEL, "text": "form", "blocks": json.dumps(blocks)},
    )

    assert slack_stub.messages(CHANNEL)[0].blocks == blocks


async def test_replies_form_a_thread_and_stay_out_of_the_channel_timeline(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    parent = await slack_client.chat_postMessage(channel=CHANNEL, text="parent")
    reply = await slack_client.chat_postMessage(
        channel=CHANNEL, text="reply", thread_ts=parent["ts"]
    )
    await slack_client.chat_postMessage(
        channel=CHANNEL, text="reply to reply", thread_ts=reply["ts"]
    )

    assert [m.text for m in slack_stub.messages(CHANNEL)] == ["parent"]
    thread = slack_stub.thread(CHANNEL, parent["ts"])
    assert [m.text for m in thread] == ["parent", "reply", "reply to reply"]
    assert {m.thread_ts for m in thread} == {parent["ts"]}


async def test_an_update_edits_in_place_and_keeps_what_it_does_not_mention(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(
        channel=CHANNEL, text="step 1 of 3", blocks=[section("progress")]
    )

    answer = await slack_client.chat_update(channel=CHANNEL, ts=posted["ts"], text="step 2 of 3")

    assert answer["ts"] == posted["ts"]
    [stored] = slack_stub.messages(CHANNEL)
    assert stored.text == "step 2 of 3"
    assert stored.blocks == [section("progress")]
    assert stored.edited
    assert [v.text for v in stored.history] == ["step 1 of 3"]
    assert answer["message"]["edited"]["user"] == slack_stub.store.workspace.bot_user_id


async def test_updating_or_deleting_an_unknown_message_fails_with_message_not_found(
    slack_client: AsyncWebClient,
) -> None:
    with pytest.raises(SlackApiError) as update:
        await slack_client.chat_update(channel=CHANNEL, ts="1700000000.000100", text="x")
    with pytest.raises(SlackApiError) as delete:
        await slack_client.chat_delete(channel=CHANNEL, ts="1700000000.000100")

    assert update.value.response["error"] == delete.value.response["error"] == "message_not_found"


async def test_a_deleted_message_leaves_the_channel(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel=CHANNEL, text="oops")

    answer = await slack_client.chat_delete(channel=CHANNEL, ts=posted["ts"])

    assert (answer["channel"], answer["ts"]) == (CHANNEL, posted["ts"])
    assert slack_stub.messages(CHANNEL) == []


async def test_an_ephemeral_is_kept_for_its_user_only(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    answer = await slack_client.chat_postEphemeral(channel=CHANNEL, user="U0ANNA", text="only you")

    assert SLACK_TS.match(answer["message_ts"])
    [ephemeral] = slack_stub.ephemerals("U0ANNA")
    assert (ephemeral.text, ephemeral.message_ts) == ("only you", answer["message_ts"])
    assert slack_stub.ephemerals("U0BOB") == []
    assert slack_stub.messages(CHANNEL) == []


async def test_messages_breaking_block_kit_limits_are_refused_as_slack_does(
    slack_client: AsyncWebClient,
) -> None:
    too_many = [section(str(i), block_id=f"b{i}") for i in range(51)]
    too_long = [section("x" * 3001)]

    with pytest.raises(SlackApiError) as many:
        await slack_client.chat_postMessage(channel=CHANNEL, text="t", blocks=too_many)
    with pytest.raises(SlackApiError) as long:
        await slack_client.chat_postMessage(channel=CHANNEL, text="t", blocks=too_long)
    with pytest.raises(SlackApiError) as empty:
        await slack_client.api_call("chat.postMessage", json={"channel": CHANNEL})

    assert many.value.response["error"] == "invalid_blocks"
    assert "no more than 50 items" in many.value.response["response_metadata"]["messages"][0]
    assert "/blocks/0/text/text" in long.value.response["errors"][0]
    assert empty.value.response["error"] == "no_text"


async def test_a_user_id_as_channel_posts_into_the_direct_message(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    answer = await slack_client.chat_postMessage(channel="U0ANNA", text="reminder")

    assert answer["channel"] == "D0ANNA"
    assert [m.text for m in slack_stub.messages("D0ANNA")] == ["reminder"]


async def test_a_strict_channel_list_refuses_unknown_channels() -> None:
    async with running(SlackStub(channels={CHANNEL: "upgrades"})) as stub:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=stub.base_url)
        with pytest.raises(SlackApiError) as unknown:
            await client.chat_postMessage(channel="C0NOWHERE", text="hi")
        info = await client.conversations_info(channel=CHANNEL)
        by_name = await client.chat_postMessage(channel="#upgrades", text="hi")

    assert unknown.value.response["error"] == "channel_not_found"
    assert info["channel"]["name"] == "upgrades"
    assert by_name["channel"] == CHANNEL


async def test_history_is_newest_first_and_replies_list_the_thread(
    slack_client: AsyncWebClient,
) -> None:
    first = await slack_client.chat_postMessage(channel=CHANNEL, text="first")
    await slack_client.chat_postMessage(channel=CHANNEL, text="second")
    await slack_client.chat_postMessage(channel=CHANNEL, text="in thread", thread_ts=first["ts"])

    # A bot reads only conversations it is a member of; posting (chat:write.public) is not
    # joining.
    for read in (
        slack_client.conversations_history(channel=CHANNEL),
        slack_client.conversations_replies(channel=CHANNEL, ts=first["ts"]),
    ):
        with pytest.raises(SlackApiError) as refused:
            await read
        assert refused.value.response["error"] == "not_in_channel"
    await slack_client.conversations_join(channel=CHANNEL)

    history = await slack_client.conversations_history(channel=CHANNEL)
    replies = await slack_client.conversations_replies(channel=CHANNEL, ts=first["ts"])

    assert [m["text"] for m in history["messages"]] == ["second", "first"]
    assert [m["text"] for m in replies["messages"]] == ["first", "in thread"]


METADATA = {"event_type": "upgradebot_message", "event_payload": {"window": 1, "key": "k"}}


async def test_listings_show_message_metadata_only_when_asked_for_all_of_it(
    slack_client: AsyncWebClient,
) -> None:
    await slack_client.conversations_join(channel=CHANNEL)
    parent = await slack_client.chat_postMessage(channel=CHANNEL, text="p", metadata=METADATA)
    await slack_client.chat_postMessage(
        channel=CHANNEL, text="r", thread_ts=parent["ts"], metadata=METADATA
    )

    plain_history = await slack_client.conversations_history(channel=CHANNEL)
    plain_replies = await slack_client.conversations_replies(channel=CHANNEL, ts=parent["ts"])
    history = await slack_client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    replies = await slack_client.conversations_replies(
        channel=CHANNEL, ts=parent["ts"], include_all_metadata=True
    )

    assert all("metadata" not in m for m in plain_history["messages"] + plain_replies["messages"])
    assert [m["metadata"] for m in history["messages"]] == [METADATA]
    assert [m["metadata"] for m in replies["messages"]] == [METADATA, METADATA]


async def test_history_honours_oldest_latest_inclusive_limit_and_its_cursor(
    slack_client: AsyncWebClient,
) -> None:
    await slack_client.conversations_join(channel=CHANNEL)
    ts = [
        (await slack_client.chat_postMessage(channel=CHANNEL, text=str(n)))["ts"] for n in range(5)
    ]

    def said(answer: Any) -> list[str]:
        return [m["text"] for m in answer["messages"]]

    since = await slack_client.conversations_history(channel=CHANNEL, oldest=ts[1])
    between = await slack_client.conversations_history(
        channel=CHANNEL, oldest=ts[1], latest=ts[3], inclusive=True
    )
    first = await slack_client.conversations_history(channel=CHANNEL, limit=2)
    cursor = first["response_metadata"]["next_cursor"]
    second = await slack_client.conversations_history(channel=CHANNEL, limit=2, cursor=cursor)
    last = await slack_client.conversations_history(
        channel=CHANNEL, limit=2, cursor=second["response_metadata"]["next_cursor"]
    )
    with pytest.raises(SlackApiError) as bad_oldest:
        await slack_client.conversations_history(channel=CHANNEL, oldest="yesterday")
    with pytest.raises(SlackApiError) as bad_cursor:
        await slack_client.conversations_history(channel=CHANNEL, cursor="not-a-cursor")

    assert said(since) == ["4", "3", "2"]  # newest first, the bound itself left out
    assert said(between) == ["3", "2", "1"]
    assert said(first) == ["4", "3"] and first["has_more"] is True
    assert said(second) == ["2", "1"] and said(last) == ["0"]
    assert last["has_more"] is False and "response_metadata" not in last
    assert bad_oldest.value.response["error"] == "invalid_ts_oldest"
    assert bad_cursor.value.response["error"] == "invalid_cursor"


async def test_the_bot_cannot_edit_what_a_person_wrote(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    written = slack_stub.post_as_user(CHANNEL, "U0ANNA", "hello bot")

    with pytest.raises(SlackApiError) as failure:
        await slack_client.chat_update(channel=CHANNEL, ts=written.ts, text="hijacked")

    assert failure.value.response["error"] == "cant_update_message"
    assert slack_stub.messages(CHANNEL)[0].text == "hello bot"


# ---- views


async def test_a_modal_opens_updates_by_id_and_refuses_a_stale_hash(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    opened = await slack_client.views_open(trigger_id=new_trigger_id(), view=MODAL)
    view_id, first_hash = opened["view"]["id"], opened["view"]["hash"]
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Checking…"}}

    updated = await slack_client.views_update(view_id=view_id, view=changed, hash=first_hash)
    with pytest.raises(SlackApiError) as stale:
        await slack_client.views_update(view_id=view_id, view=MODAL, hash=first_hash)

    assert view_id.startswith("V")
    assert opened["view"]["callback_id"] == "propose"
    assert updated["view"]["id"] == view_id
    assert updated["view"]["hash"] != first_hash
    assert slack_stub.views[view_id].view["title"]["text"] == "Checking…"
    assert stale.value.response["error"] == "hash_conflict"


async def test_a_pushed_view_stacks_on_the_open_one(slack_client: AsyncWebClient) -> None:
    root = await slack_client.views_open(trigger_id=new_trigger_id(), view=MODAL)
    pushed = await slack_client.views_push(trigger_id=new_trigger_id(), view=MODAL)

    assert pushed["view"]["previous_view_id"] == root["view"]["id"]
    assert pushed["view"]["root_view_id"] == root["view"]["id"]


async def test_views_stack_three_deep_and_closing_the_root_closes_the_stack(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    root = await slack_client.views_open(trigger_id=new_trigger_id(), view=MODAL)
    for _ in range(2):
        await slack_client.views_push(trigger_id=new_trigger_id(), view=MODAL)
    with pytest.raises(SlackApiError) as fourth:
        await slack_client.views_push(trigger_id=new_trigger_id(), view=MODAL)

    slack_stub.close_view(root["view"]["id"])

    assert fourth.value.response["error"] == "push_limit_reached"
    assert slack_stub.views == {}


async def test_triggers_are_required_single_use_and_expire_after_three_seconds(
    slack_client: AsyncWebClient,
) -> None:
    trigger = new_trigger_id()
    await slack_client.views_open(trigger_id=trigger, view=MODAL)

    errors = []
    for trigger_id in (None, trigger, new_trigger_id(issued_at=time.time() - 4)):
        with pytest.raises(SlackApiError) as failure:
            await slack_client.views_open(trigger_id=trigger_id, view=MODAL)
        errors.append(failure.value.response["error"])

    assert errors == ["invalid_arguments", "trigger_exchanged", "trigger_expired"]


async def test_a_modal_title_longer_than_24_characters_is_refused(
    slack_client: AsyncWebClient,
) -> None:
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "Propose an upgrade window"}}

    with pytest.raises(SlackApiError) as failure:
        await slack_client.views_open(trigger_id=new_trigger_id(), view=long_title)

    assert failure.value.response["error"] == "invalid_arguments"
    [message] = failure.value.response["response_metadata"]["messages"]
    assert message == "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"


# ---- workspace directory


async def test_usergroup_members_come_from_the_map(slack_client: AsyncWebClient) -> None:
    admins = await slack_client.usergroups_users_list(usergroup="S0ADMINS")
    with pytest.raises(SlackApiError) as unknown:
        await slack_client.usergroups_users_list(usergroup="S0NOBODY")

    assert admins["users"] == ["U0ANNA"]
    assert unknown.value.response["error"] == "no_such_subteam"


@pytest.mark.parametrize(
    ("moment", "offset_seconds", "label"),
    [
        (datetime(2025, 1, 15, 12, tzinfo=UTC), 3600, "Central European Time"),
        (datetime(2025, 7, 15, 12, tzinfo=UTC), 7200, "Central European Summer Time"),
    ],
)
async def test_users_live_in_brussels_with_the_offset_of_the_moment(
    moment: datetime, offset_seconds: int, label: str
) -> None:
    stub = SlackStub(users={"U0ANNA": {"real_name": "Anna Peeters"}}, clock=moment.timestamp)
    async with running(stub):
        client = AsyncWebClient(token=BOT_TOKEN, base_url=stub.base_url)
        anna = (await client.users_info(user="U0ANNA"))["user"]
        with pytest.raises(SlackApiError) as bogus:
            await client.users_info(user="not-a-user")

    assert (anna["id"], anna["real_name"], anna["tz"]) == (
        "U0ANNA",
        "Anna Peeters",
        "Europe/Brussels",
    )
    assert (anna["tz_offset"], anna["tz_label"]) == (offset_seconds, label)
    assert bogus.value.response["error"] == "user_not_found"


async def test_auth_test_names_the_bot(slack_stub: SlackStub, slack_client: AsyncWebClient) -> None:
    answer = await slack_client.auth_test()

    assert answer["user_id"] == slack_stub.store.workspace.bot_user_id
    assert answer["bot_id"] == slack_stub.store.workspace.bot_id


async def test_joining_twice_warns_already_in_channel(slack_client: AsyncWebClient) -> None:
    first = await slack_client.conversations_join(channel=CHANNEL)
    second = await slack_client.conversations_join(channel=CHANNEL)

    assert first["channel"]["is_member"] is True
    assert "warning" not in first.data
    assert second["warning"] == "already_in_channel"


async def test_a_reaction_is_added_once(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel=CHANNEL, text="done")

    await slack_client.reactions_add(
        channel=CHANNEL, timestamp=posted["ts"], name="white_check_mark"
    )
    with pytest.raises(SlackApiError) as again:
        await slack_client.reactions_add(
            channel=CHANNEL, timestamp=posted["ts"], name="white_check_mark"
        )

    assert list(slack_stub.messages(CHANNEL)[0].reactions) == ["white_check_mark"]
    assert again.value.response["error"] == "already_reacted"


async def test_an_unknown_method_is_refused(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as failure:
        await slack_client.api_call("chat.postMessageTypo", json={"channel": CHANNEL})

    assert failure.value.response.status_code == 404
    assert failure.value.response["error"] == "unknown_method"


# ---- tokens


@pytest.mark.parametrize(
    ("token", "error"),
    [(None, "not_authed"), ("xoxb-wrong", "invalid_auth"), ("xapp-test", "not_allowed_token_type")],
)
async def test_a_wrong_or_missing_token_is_refused_with_http_200(
    slack_stub: SlackStub, token: str | None, error: str
) -> None:
    client = AsyncWebClient(token=token, base_url=slack_stub.base_url)

    with pytest.raises(SlackApiError) as failure:
        await client.chat_postMessage(channel=CHANNEL, text="hi")

    assert failure.value.response.status_code == 200
    assert failure.value.response["error"] == error
    assert slack_stub.messages(CHANNEL) == []


async def test_socket_urls_need_the_app_token(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as failure:
        await slack_client.apps_connections_open(app_token=BOT_TOKEN)

    answer = await slack_client.apps_connections_open(app_token="xapp-test")

    assert failure.value.response["error"] == "not_allowed_token_type"
    assert answer["url"].startswith("ws://127.0.0.1:")


# ---- faults


async def test_a_rate_limit_is_retried_after_retry_after_by_slack_sdk(
    slack_stub: SlackStub,
) -> None:
    slack_stub.fail("chat.postMessage", status=429, retry_after=0, times=1)
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=slack_stub.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )

    answer = await client.chat_postMessage(channel=CHANNEL, text="after the limit")

    first, second = slack_stub.calls_to("chat.postMessage")
    assert (first.status, first.fault, first.response["error"]) == (429, "http_429", "ratelimited")
    assert (second.status, second.faulted) == (200, False)
    assert [m.ts for m in slack_stub.messages(CHANNEL)] == [answer["ts"]]


async def test_a_rate_limit_carries_the_retry_after_header(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    slack_stub.fail("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as failure:
        await slack_client.chat_postMessage(channel=CHANNEL, text="hi")

    assert failure.value.response.status_code == 429
    assert failure.value.response.headers["Retry-After"] == "7"
    assert failure.value.response["error"] == "ratelimited"


async def test_server_errors_are_retried_by_the_server_error_handler(slack_stub: SlackStub) -> None:
    slack_stub.fail("chat.update", status=500, times=1)
    slack_stub.fail("chat.update", status=503, times=1)
    quick = FixedValueRetryIntervalCalculator(0.01)
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=slack_stub.base_url,
        retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=2, interval_calculator=quick)],
    )
    posted = await client.chat_postMessage(channel=CHANNEL, text="v1")

    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")

    attempts = slack_stub.calls_to("chat.update")
    assert [a.status for a in attempts] == [500, 503, 200]
    assert slack_stub.messages(CHANNEL)[0].text == "v2"


async def test_an_error_fault_answers_ok_false_the_given_number_of_times(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    slack_stub.fail("chat.postMessage", error="channel_not_found", times=2)

    errors = []
    for _ in range(2):
        with pytest.raises(SlackApiError) as failure:
            await slack_client.chat_postMessage(channel=CHANNEL, text="hi")
        errors.append((failure.value.response.status_code, failure.value.response["error"]))
    await slack_client.chat_postMessage(channel=CHANNEL, text="hi")

    assert errors == [(200, "channel_not_found")] * 2
    assert [c.fault for c in slack_stub.calls_to("chat.postMessage")] == [
        "error:channel_not_found",
        "error:channel_not_found",
        None,
    ]


async def test_a_delayed_method_answers_late_until_faults_are_cleared(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    # No stopwatch (issue 11): delayed by 30 s, the answer is not there after 0.2 s; cleared,
    # it comes.
    slack_stub.delay("auth.test", 30)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(slack_client.auth_test(), 0.2)
    slack_stub.clear_faults()
    answer = await asyncio.wait_for(slack_client.auth_test(), 5)

    assert answer["ok"] is True


async def test_a_client_that_gives_up_on_a_slow_answer_is_recorded_as_abandoned(
    slack_stub: SlackStub,
) -> None:
    slack_stub.delay("views.open", 5)
    impatient = AsyncWebClient(token=BOT_TOKEN, base_url=slack_stub.base_url, timeout=0.2)  # type: ignore[arg-type]

    with pytest.raises(asyncio.TimeoutError):
        await impatient.views_open(trigger_id=new_trigger_id(), view=MODAL)
    [attempt] = await slack_stub.wait_for("views.open")

    assert attempt.fault == "abandoned"
    assert slack_stub.views == {}


# ---- waiting and following


async def test_wait_for_returns_once_the_calls_were_made(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await slack_client.chat_postMessage(channel=CHANNEL, text="one")
        await slack_client.chat_postMessage(channel=CHANNEL, text="two")

    task = asyncio.create_task(post_later())
    calls = await slack_stub.wait_for("chat.postMessage", count=2, timeout=5)
    await task

    assert [c.args["text"] for c in calls] == ["one", "two"]


async def test_wait_for_times_out_naming_what_was_called(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    await slack_client.auth_test()

    with pytest.raises(TimeoutError, match=r"chat\.postMessage.*auth\.test"):
        await slack_stub.wait_for("chat.postMessage", timeout=0.05)


async def test_subscribers_see_every_change_in_order(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    events = slack_stub.subscribe()

    posted = await slack_client.chat_postMessage(channel=CHANNEL, text="v1")
    await slack_client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    await slack_client.chat_postEphemeral(channel=CHANNEL, user="U0ANNA", text="psst")
    await slack_client.views_open(trigger_id=new_trigger_id(), view=MODAL)
    await slack_client.chat_delete(channel=CHANNEL, ts=posted["ts"])

    seen = [events.get_nowait() for _ in range(events.qsize())]
    assert [e.kind for e in seen] == [
        "message_posted",
        "message_updated",
        "ephemeral_posted",
        "view_opened",
        "message_deleted",
    ]
    assert seen[1].data["text"] == "v2"
    assert json.loads(json.dumps(seen[0].to_dict()))["channel"] == CHANNEL


async def test_a_response_url_posts_replaces_and_whispers_into_the_workspace(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    original = await slack_client.chat_postMessage(channel=CHANNEL, text="Approve?")
    url = slack_stub.response_url(CHANNEL, "U0ANNA", message_ts=original["ts"])

    said = await AsyncWebhookClient(url).send(text="Approved by Anna", replace_original=True)
    await AsyncWebhookClient(url).send(text="only for Anna")
    await AsyncWebhookClient(url).send(text="for all", response_type="in_channel")

    assert (said.status_code, said.body) == (200, "ok")
    assert [m.text for m in slack_stub.messages(CHANNEL)] == ["Approved by Anna", "for all"]
    assert [e.text for e in slack_stub.ephemerals("U0ANNA")] == ["only for Anna"]
    assert len(slack_stub.calls_to("response_url")) == 3


async def test_a_bad_socket_ticket_is_refused(slack_stub: SlackStub) -> None:
    url = slack_stub.base_url.replace("http", "ws").replace("/api/", "/link/?ticket=forged")

    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)

    assert refused.value.status == 401
