"""Block Kit and mrkdwn to HTML for the sandbox page: every block type, and no way in for markup."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from bot.sandbox.render import (
    Names,
    block_key,
    to_html_blocks,
    to_html_message,
    to_html_mrkdwn,
    to_html_view,
)

NAMES = Names(
    users={"U0ANNA": "Anna", "U0OLGA": "Olga"},
    channels={"C0OPS": "upgrades-lab"},
    groups={"S0ADMINS": "admins"},
)
SAFE_TAGS = {
    "b", "i", "s", "code", "pre", "br", "blockquote", "span", "a", "time", "div", "h3", "hr",
    "button", "template", "h2", "select", "option", "input", "textarea", "label", "form",
    "header", "footer",
}  # fmt: skip


class Tags(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def names(self) -> list[str]:
        return [tag for tag, _ in self.tags]


def assert_inert(html: str) -> None:
    """No script, no image, no event handler, no link a click could run code from."""
    for tag, attrs in Tags(html).tags:
        assert tag in SAFE_TAGS, f"unexpected <{tag}> in {html}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} in {html}"
            if name in ("href", "src", "data-url", "action", "formaction"):
                assert (value or "").startswith(("https://", "http://", "mailto:")), html


# ---- mrkdwn


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold*", "<b>bold</b>"),
        ("_italics_", "<i>italics</i>"),
        ("~strike~", "<s>strike</s>"),
        ("`code`", "<code>code</code>"),
        ("```line 1\nline 2```", "<pre>line 1\nline 2</pre>"),
        ("*Agents*\nnext", "<b>Agents</b><br>next"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("* not bold *", "* not bold *"),
        ("> quoted\nafter", "<blockquote>quoted</blockquote>after"),
        ("&lt;b&gt; &amp; co", "&lt;b&gt; &amp; co"),
        (":white_check_mark: done", "✅ done"),
        (":no_such_emoji:", ":no_such_emoji:"),
        ("`*not bold* <@U0ANNA>`", "<code>*not bold* &lt;@U0ANNA&gt;</code>"),
    ],
)
def test_mrkdwn_formatting_is_rendered_as_slack_does(text: str, html: str) -> None:
    assert to_html_mrkdwn(text, NAMES) == html


def test_links_keep_their_label_and_open_in_a_new_tab() -> None:
    html = to_html_mrkdwn("see <https://docs.dataminer.services/x?a=1&amp;b=2|the docs>", NAMES)
    assert html == (
        'see <a href="https://docs.dataminer.services/x?a=1&amp;b=2" target="_blank" '
        'rel="noopener noreferrer">the docs</a>'
    )
    assert 'href="mailto:ops@example.com"' in to_html_mrkdwn("<mailto:ops@example.com>", NAMES)
    assert ">http://example.com</a>" in to_html_mrkdwn("<http://example.com>", NAMES)


def test_formatting_wraps_mentions_and_links() -> None:
    html = to_html_mrkdwn("*approved by <@U0ANNA>*", NAMES)
    assert html == '<b>approved by <span class="mention" data-user="U0ANNA">@Anna</span></b>'


def test_user_mentions_show_names_channels_groups_and_specials() -> None:
    assert to_html_mrkdwn("<@U0OLGA>", NAMES).endswith(">@Olga</span>")
    assert to_html_mrkdwn("<@U0ZED|zed>", NAMES).endswith(">@zed</span>")
    assert to_html_mrkdwn("<@U0NOBODY>", NAMES).endswith(">@U0NOBODY</span>")
    assert to_html_mrkdwn("<#C0OPS>", NAMES) == '<span class="channel-link">#upgrades-lab</span>'
    assert to_html_mrkdwn("<#C0OTHER|other>", NAMES).endswith(">#other</span>")
    assert to_html_mrkdwn("<!subteam^S0ADMINS>", NAMES).endswith(">@admins</span>")
    assert to_html_mrkdwn("<!here>", NAMES).endswith(">@here</span>")


def test_a_date_token_becomes_a_time_element_the_browser_localises() -> None:
    """The fallback text stays inside, for when the script cannot run."""
    html = to_html_mrkdwn(
        "starts <!date^1796245200^{date_short_pretty} {time}|2026-12-02 21:00 UTC>", NAMES
    )
    assert html == (
        'starts <time class="slack-date" datetime="2026-12-02T21:00:00Z" '
        'data-format="{date_short_pretty} {time}">2026-12-02 21:00 UTC</time>'
    )


def test_a_date_token_with_a_link_or_a_bad_stamp() -> None:
    linked = to_html_mrkdwn("<!date^1796248800^{date}^https://example.com/w/1|Dec 2>", NAMES)
    assert linked.startswith('<a href="https://example.com/w/1"')
    assert '<time class="slack-date"' in linked
    assert to_html_mrkdwn("<!date^soon^{date}|some day>", NAMES) == "some day"
    assert to_html_mrkdwn("<!date^99999999999999999^{date}|far>", NAMES) == "far"
    assert to_html_mrkdwn("<!date^-5^{date}|before>", NAMES) == "before"
    unsafe = to_html_mrkdwn("<!date^1796248800^{date}^javascript:alert(1)|x>", NAMES)
    assert "<a" not in unsafe and "javascript" not in unsafe


# ---- escaping: nothing in a message can become markup


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "<img src=x onerror=alert(1)>",
        '"><img src=x onerror=alert(1)>',
        "<javascript:alert(1)|click>",
        "<JavaScript:alert(1)>",
        "<data:text/html,<script>alert(1)</script>|x>",
        '<https://ok.example/" onmouseover="alert(1)|x>',
        "*<svg onload=alert(1)>*",
        "`</code><script>alert(1)</script>`",
        "```</pre><iframe src=javascript:alert(1)>```",
        "<@U0ANNA|<b>x</b>>",
        '<!date^1796248800^{date}"><img src=x onerror=alert(1)>|y>',
        "\ue0000\ue001 placeholder spoof",
    ],
)
def test_no_message_text_becomes_live_markup(text: str) -> None:
    assert_inert(to_html_mrkdwn(text, NAMES))
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    assert_inert(to_html_message(text, None, None, NAMES))
    assert_inert(to_html_message("", blocks, None, NAMES))


def test_the_dangerous_strings_are_shown_as_text() -> None:
    html = to_html_mrkdwn(
        "<script>alert(1)</script> <img src=x onerror=alert(1)> <javascript:alert(1)|click>", NAMES
    )
    assert html == (
        "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; click"
    )


def test_plain_text_and_ids_are_escaped_everywhere() -> None:
    evil = '"><script>alert(1)</script>'
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": evil}},
        {
            "type": "actions",
            "block_id": evil,
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": evil},
                    "action_id": evil,
                    "value": evil,
                    "url": "javascript:alert(1)",
                    "confirm": {
                        "title": {"type": "plain_text", "text": evil},
                        "text": {"type": "mrkdwn", "text": evil},
                        "confirm": {"type": "plain_text", "text": evil},
                        "deny": {"type": "plain_text", "text": evil},
                    },
                },
                {
                    "type": "static_select",
                    "action_id": "pick",
                    "options": [{"text": {"type": "plain_text", "text": evil}, "value": evil}],
                },
            ],
        },
        {"type": "image", "image_url": "javascript:alert(1)", "alt_text": evil},
    ]
    html = to_html_blocks(blocks, NAMES)
    assert_inert(html)
    assert "data-url" not in html
    assert "<script>" not in html


# ---- blocks


PROPOSAL: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Upgrade #1: lab → 10.5.0 CU18"}},
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*System*\nlab"},
            {"type": "mrkdwn", "text": "*Proposed by*\n<@U0OLGA>"},
        ],
    },
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Agents*"},
        "accessory": {
            "type": "button",
            "text": {"type": "plain_text", "text": "Details"},
            "action_id": "details",
            "value": "1",
        },
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Estimate: _2h_"}]},
    {"type": "divider"},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Approve"},
                "action_id": "window_approve",
                "value": "1:0",
                "style": "primary",
                "confirm": {
                    "title": {"type": "plain_text", "text": "Approve #1?"},
                    "text": {"type": "mrkdwn", "text": "You sign off *lab*."},
                    "confirm": {"type": "plain_text", "text": "Approve"},
                    "deny": {"type": "plain_text", "text": "Back"},
                },
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Reject"},
                "action_id": "window_reject",
                "value": "1:0",
                "style": "danger",
            },
        ],
    },
]


def test_a_proposal_renders_every_block_kind() -> None:
    html = to_html_blocks(PROPOSAL, NAMES)
    tags = Tags(html)
    assert '<h3 class="bk-header">Upgrade #1: lab → 10.5.0 CU18</h3>' in html
    assert '<div class="bk-field"><b>System</b><br>lab</div>' in html
    assert ">@Olga</span>" in html
    assert '<div class="bk-accessory"><button type="button" class="bk-button"' in html
    assert '<div class="bk-context"><span>Estimate: <i>2h</i></span></div>' in html
    assert '<hr class="bk-divider">' in html
    buttons = [attrs for tag, attrs in tags.tags if tag == "button"]
    approve = next(b for b in buttons if b.get("data-action-id") == "window_approve")
    assert approve["class"] == "bk-button bk-primary"
    assert approve["data-block-id"] == "decision"
    assert approve["data-value"] == "1:0"
    reject = next(b for b in buttons if b.get("data-action-id") == "window_reject")
    assert reject["class"] == "bk-button bk-danger"
    assert_inert(html)


def test_a_confirm_dialog_is_kept_inert_next_to_its_button() -> None:
    html = to_html_blocks(PROPOSAL[-1:], NAMES)
    assert '</button><template class="bk-confirm">' in html
    template = html.split('<template class="bk-confirm">')[1].split("</template>")[0]
    assert '<h2 class="confirm-title">Approve #1?</h2>' in template
    assert "You sign off <b>lab</b>." in template
    assert '<button type="button" class="confirm-no">Back</button>' in template
    assert '<button type="button" class="confirm-yes bk-primary">Approve</button>' in template


def test_blocks_without_an_id_get_the_same_key_the_page_sends_back() -> None:
    html = to_html_blocks(PROPOSAL, NAMES)
    assert 'data-block-id="block-2"' in html
    assert block_key(PROPOSAL[2], 2) == "block-2"
    assert block_key(PROPOSAL[-1], 5) == "decision"


def test_a_message_without_blocks_shows_its_text_and_unknown_blocks_say_so() -> None:
    assert to_html_message("*hi*", None, None, NAMES) == '<div class="bk-text"><b>hi</b></div>'
    html = to_html_blocks([{"type": "rich_text", "elements": []}], NAMES)
    assert "rich_text block: not shown in the sandbox" in html


def test_attachments_show_their_text_and_a_checked_colour() -> None:
    html = to_html_message(
        "", None, [{"color": "danger", "text": "*down*"}, {"color": "red;x", "text": "b"}], NAMES
    )
    assert (
        '<div class="bk-attachment" data-color="#e01e5a"><div class="bk-text"><b>down</b>' in html
    )
    assert '<div class="bk-attachment"><div class="bk-text">b</div></div>' in html


def test_selects_and_pickers_in_messages_carry_their_ids() -> None:
    html = to_html_blocks(
        [
            {
                "type": "actions",
                "block_id": "b",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "pick",
                        "placeholder": {"type": "plain_text", "text": "Choose"},
                        "option_groups": [
                            {
                                "options": [
                                    {"text": {"type": "plain_text", "text": "A"}, "value": "a"}
                                ]
                            }
                        ],
                        "initial_option": {
                            "text": {"type": "plain_text", "text": "A"},
                            "value": "a",
                        },
                    },
                    {"type": "datepicker", "action_id": "day", "initial_date": "2026-12-02"},
                    {"type": "overflow", "action_id": "more", "options": []},
                ],
            }
        ],
        NAMES,
    )
    assert '<option value="">Choose</option><option value="a" selected>A</option>' in html
    assert 'type="date" class="bk-field-input" data-action-id="day"' in html
    assert 'value="2026-12-02"' in html
    assert 'data-type="overflow"' in html


# ---- modals


MODAL: dict[str, Any] = {
    "id": "V0000000001",
    "type": "modal",
    "title": {"type": "plain_text", "text": "Propose an upgrade"},
    "submit": {"type": "plain_text", "text": "Propose"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {
            "type": "input",
            "block_id": "system",
            "label": {"type": "plain_text", "text": "System"},
            "element": {
                "type": "static_select",
                "action_id": "system_select",
                "options": [{"text": {"type": "plain_text", "text": "lab"}, "value": "lab"}],
                "initial_option": {"text": {"type": "plain_text", "text": "lab"}, "value": "lab"},
            },
        },
        {
            "type": "input",
            "block_id": "target",
            "label": {"type": "plain_text", "text": "Target version"},
            "hint": {"type": "plain_text", "text": "10.5 means the latest CU."},
            "element": {
                "type": "plain_text_input",
                "action_id": "target_input",
                "placeholder": {"type": "plain_text", "text": "10.5 or 10.5.0 CU3"},
            },
        },
        {
            "type": "input",
            "block_id": "start_date",
            "label": {"type": "plain_text", "text": "Start date"},
            "element": {"type": "datepicker", "action_id": "start_date_pick"},
        },
        {
            "type": "input",
            "block_id": "start_time",
            "label": {"type": "plain_text", "text": "Start time"},
            "element": {
                "type": "timepicker",
                "action_id": "start_time_pick",
                "initial_time": "22:00",
            },
        },
        {
            "type": "input",
            "block_id": "reason",
            "optional": True,
            "label": {"type": "plain_text", "text": "Why?"},
            "element": {
                "type": "plain_text_input",
                "action_id": "reason_input",
                "multiline": True,
                "max_length": 500,
            },
        },
    ],
}


def test_a_modal_is_a_form_with_its_inputs_and_their_errors() -> None:
    html = to_html_view(MODAL, NAMES, {"target": "10.9 is not a known release."})
    assert html.startswith('<form class="modal" data-view-id="V0000000001" novalidate>')
    assert '<h2 class="modal-title">Propose an upgrade</h2>' in html
    assert '<button type="submit" class="modal-submit">Propose</button>' in html
    assert '<button type="button" class="modal-cancel">Cancel</button>' in html
    assert '<option value="lab" selected>lab</option>' in html
    assert 'type="text" class="bk-field-input" data-action-id="target_input"' in html
    assert 'placeholder="10.5 or 10.5.0 CU3"' in html
    assert '<div class="bk-hint">10.5 means the latest CU.</div>' in html
    assert '<div class="bk-error" role="alert">10.9 is not a known release.</div>' in html
    assert 'type="date" class="bk-field-input" data-action-id="start_date_pick"' in html
    assert 'type="time" class="bk-field-input" data-action-id="start_time_pick"' in html
    assert 'value="22:00"' in html
    assert '<textarea class="bk-field-input" data-action-id="reason_input"' in html
    assert 'maxlength="500"' in html
    assert '<span class="bk-optional">(optional)</span>' in html
    assert 'data-block-id="reason" data-optional="true"' in html
    assert_inert(html)


def test_a_modal_without_submit_has_only_close_and_errors_are_escaped() -> None:
    view = {**MODAL, "submit": None}
    html = to_html_view(view, NAMES, {"target": "<img src=x onerror=alert(1)>"})
    assert "modal-submit" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert_inert(html)


def test_checkboxes_render_as_boxes_with_escaped_labels() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Start #1?"},
        "blocks": [
            {
                "type": "input",
                "block_id": "backup",
                "label": {"type": "plain_text", "text": "Backup"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "backup_check",
                    "options": [
                        {"text": {"type": "plain_text", "text": "<b>taken</b>"}, "value": "taken"}
                    ],
                },
            }
        ],
    }
    html = to_html_view(view, NAMES)
    assert 'type="checkbox" value="taken"' in html
    assert 'data-type="checkboxes"' in html
    assert "<b>taken</b>" not in html and "&lt;b&gt;taken&lt;/b&gt;" in html


def test_shared_files_show_under_the_message_escaped() -> None:
    files = [{"name": "change-record-1.md", "title": "<b>Record</b>", "size": 12}]
    html = to_html_message("here", None, None, NAMES, files=files)
    assert 'class="bk-file"' in html and "change-record-1.md, 12 bytes" in html
    assert "<b>Record</b>" not in html and "&lt;b&gt;Record&lt;/b&gt;" in html
