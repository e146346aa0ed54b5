"""Signed requests as Slack sends them, checked by slack_sdk's verifier and by a Bolt app."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import (
    is_action,
    is_slash_command,
    is_view_submission,
    to_action,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.signing import trigger_issued_at
from tests.fakes.slack import (
    BOT_TOKEN,
    SlackStub,
    block_action_payload,
    checkboxes_value,
    datepicker_value,
    interaction_body,
    new_trigger_id,
    plain_text_value,
    sign,
    slash_command_body,
    static_select_value,
    timepicker_value,
    view_submission_payload,
)

SECRET = "sandbox-signing-secret"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
APPROVAL: dict[str, Any] = {
    "type": "message",
    "ts": "1733180000.000100",
    "text": "Approve the window?",
    "blocks": [
        {
            "type": "actions",
            "block_id": "gate_g1",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": "w-42",
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": "reject",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "value": "w-42",
                },
            ],
        }
    ],
}


def test_the_signature_matches_the_worked_example_in_slacks_docs() -> None:
    # The example in docs.slack.dev/authentication/verifying-requests-from-slack
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
        "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )

    headers = sign("8f742231b10e8888abcd99yyyzzz85a5", body, 1531420618)

    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


@pytest.mark.parametrize("as_bytes", [False, True])
def test_slack_sdks_verifier_accepts_the_signature_and_refuses_a_tampered_body(
    as_bytes: bool,
) -> None:
    body = slash_command_body("/upgrade", "propose prod 2025-12-01 22:00")
    headers = sign(SECRET, body.encode() if as_bytes else body, int(time.time()))
    verifier = SignatureVerifier(SECRET)

    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace("prod", "test"), headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)


def test_a_slash_command_body_has_the_fields_slack_sends() -> None:
    body = slash_command_body("/upgrade", "status", user_id="U0ANNA", channel_id="C0UPGRADES")

    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    assert set(fields) >= {
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id",
        "user_name", "command", "text", "api_app_id", "response_url", "trigger_id",
    }  # fmt: skip
    assert (fields["command"], fields["text"], fields["user_id"]) == (
        "/upgrade",
        "status",
        "U0ANNA",
    )
    assert is_slash_command(fields)


def test_a_button_click_carries_the_buttons_block_text_and_value() -> None:
    payload = block_action_payload("approve", message=APPROVAL, user_id="U0BOB")

    [action] = payload["actions"]
    assert (action["block_id"], action["value"], action["type"]) == ("gate_g1", "w-42", "button")
    assert action["text"]["text"] == "Approve"
    assert payload["container"]["message_ts"] == APPROVAL["ts"]
    assert payload["user"]["id"] == "U0BOB"
    assert is_action(payload)
    assert to_action(payload) == action


def test_a_view_submission_carries_the_state_values() -> None:
    values = {
        "when": {"date": datepicker_value("2025-12-01"), "time": timepicker_value("22:00")},
        "system": {"pick": static_select_value("prod", "Production")},
        "notes": {"text": plain_text_value(None)},
        "checks": {"items": checkboxes_value("backup", "hotfixes")},
    }

    payload = view_submission_payload("propose", values, private_metadata='{"w": 1}')

    view = payload["view"]
    assert (view["callback_id"], view["private_metadata"]) == ("propose", '{"w": 1}')
    assert view["state"]["values"]["when"]["date"]["selected_date"] == "2025-12-01"
    assert view["state"]["values"]["system"]["pick"]["selected_option"]["value"] == "prod"
    assert is_view_submission(payload)


def test_trigger_ids_remember_when_they_were_issued() -> None:
    assert trigger_issued_at(new_trigger_id(issued_at=1733180000.25)) == 1733180000.25
    assert trigger_issued_at("12466734323.1395872398.2c1c1c9bc1fcf3d0b2c4fc9ce7e0e0b3") is None


async def test_a_bolt_app_accepts_signed_requests_and_refuses_unsigned_ones(
    slack_stub: SlackStub,
) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack_stub.base_url),
        signing_secret=SECRET,
    )
    clicks: list[dict[str, Any]] = []

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        clicks.append(body)
        await respond(text="Approved by Bob", replace_original=True)

    posted = await app.client.chat_postMessage(
        channel="C0UPGRADES", text=APPROVAL["text"], blocks=APPROVAL["blocks"]
    )
    message = slack_stub.messages("C0UPGRADES")[0].to_slack()
    url = slack_stub.response_url("C0UPGRADES", "U0BOB", message_ts=posted["ts"])
    body = interaction_body(block_action_payload("approve", message=message, response_url=url))

    signed = await app.async_dispatch(
        AsyncBoltRequest(body=body, headers={**FORM, **sign(SECRET, body)})
    )
    forged = await app.async_dispatch(
        AsyncBoltRequest(body=body, headers={**FORM, **sign("wrong-secret", body)})
    )

    assert (signed.status, forged.status) == (200, 401)
    assert len(clicks) == 1
    assert clicks[0]["message"]["ts"] == posted["ts"]
    # Bolt answers once the listener acked; the respond() after it may still be on its way.
    await slack_stub.wait_until(
        lambda: slack_stub.messages("C0UPGRADES")[0].text == "Approved by Bob"
    )
    assert slack_stub.messages("C0UPGRADES")[0].text == "Approved by Bob"
