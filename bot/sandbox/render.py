"""Block Kit to HTML for the sandbox page: pure functions, every text escaped.

Blocks, their elements and attachments become HTML here; the text in them (mrkdwn and
plain_text objects) goes through ``mrkdwn``, which escapes it before adding any markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.sandbox.mrkdwn import Names as Names
from bot.sandbox.mrkdwn import escape, is_safe_url, to_html_plain, to_html_text
from bot.sandbox.mrkdwn import to_emoji as to_emoji
from bot.sandbox.mrkdwn import to_html_mrkdwn as to_html_mrkdwn
from bot.sandbox.mrkdwn import to_plain as to_plain

_COLOR = re.compile(r"^#?[0-9a-fA-F]{6}$")
_NAMED_COLORS = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}


# ---- blocks


def block_key(block: dict[str, Any], index: int) -> str:
    """The block_id the page and the view state use; Slack makes one up when a block has none."""
    block_id = block.get("block_id")
    return str(block_id) if block_id else f"block-{index}"


def to_html_message(
    text: str,
    blocks: list[dict[str, Any]] | None,
    attachments: list[dict[str, Any]] | None,
    names: Names,
    files: list[dict[str, Any]] | None = None,
) -> str:
    """What a reader sees of a message: its blocks, or its text when it has none, then the
    files shared with it."""
    if blocks:
        body = to_html_blocks(blocks, names)
    else:
        body = f'<div class="bk-text">{to_html_mrkdwn(text, names)}</div>'
    for attachment in attachments or []:
        if isinstance(attachment, dict):
            body += _attachment(attachment, names)
    for shared in files or []:
        if isinstance(shared, dict):
            name = escape(str(shared.get("name") or ""))
            title = escape(str(shared.get("title") or name))
            size = escape(str(shared.get("size") or 0))
            body += (
                f'<div class="bk-file" title="{name}">📎 {title} '
                f"<small>{name}, {size} bytes</small></div>"
            )
    return body


def to_html_blocks(
    blocks: Iterable[Any],
    names: Names,
    errors: Mapping[str, str] | None = None,
) -> str:
    parts = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        render = _BLOCKS.get(str(block.get("type")), _unknown_block)
        parts.append(render(block, block_key(block, index), names, errors or {}))
    return "".join(parts)


def to_html_view(
    view: dict[str, Any], names: Names, errors: Mapping[str, str] | None = None
) -> str:
    """A modal as a form: title, blocks with their inputs and errors, close and submit."""
    view_id = escape(view.get("id", ""))
    title = to_html_plain(to_plain(view.get("title")))
    close = to_html_plain(to_plain(view.get("close")) or "Cancel")
    submit = view.get("submit")
    submit_html = (
        f'<button type="submit" class="modal-submit">{to_html_plain(to_plain(submit))}</button>'
        if submit
        else ""
    )
    return (
        f'<form class="modal" data-view-id="{view_id}" novalidate>'
        f'<header class="modal-header"><h2 class="modal-title">{title}</h2>'
        '<button type="button" class="modal-x" aria-label="Close">×</button></header>'
        '<div class="modal-problem" role="alert" hidden></div>'
        f'<div class="modal-body">{to_html_blocks(view.get("blocks") or [], names, errors)}</div>'
        f'<footer class="modal-footer"><button type="button" class="modal-cancel">{close}</button>'
        f"{submit_html}</footer></form>"
    )


def _header(block: dict[str, Any], key: str, names: Names, errors: Mapping[str, str]) -> str:
    return f'<h3 class="bk-header">{to_html_text(block.get("text"), names)}</h3>'


def _divider(block: dict[str, Any], key: str, names: Names, errors: Mapping[str, str]) -> str:
    return '<hr class="bk-divider">'


def _section(block: dict[str, Any], key: str, names: Names, errors: Mapping[str, str]) -> str:
    main = ""
    if block.get("text"):
        main += f'<div class="bk-text">{to_html_text(block["text"], names)}</div>'
    fields = [f for f in block.get("fields") or [] if isinstance(f, dict)]
    if fields:
        cells = "".join(f'<div class="bk-field">{to_html_text(f, names)}</div>' for f in fields)
        main += f'<div class="bk-fields">{cells}</div>'
    accessory = block.get("accessory")
    side = ""
    if isinstance(accessory, dict):
        side = f'<div class="bk-accessory">{_element(accessory, key, names)}</div>'
    return (
        f'<div class="bk-section" data-block-id="{escape(key)}">'
        f'<div class="bk-main">{main}</div>{side}</div>'
    )


def _context(block: dict[str, Any], key: str, names: Names, errors: Mapping[str, str]) -> str:
    parts = []
    for element in block.get("elements") or []:
        if not isinstance(element, dict):
            continue
        if element.get("type") == "image":
            parts.append(
                f'<span class="bk-image">[{escape(element.get("alt_text", "image"))}]</span>'
            )
        else:
            parts.append(f"<span>{to_html_text(element, names)}</span>")
    return f'<div class="bk-context">{"".join(parts)}</div>'


def _actions(block: dict[str, Any], key: str, names: Names, errors: Mapping[str, str]) -> str:
    elements = [e for e in block.get("elements") or [] if isinstance(e, dict)]
    inner = "".join(_element(e, key, names) for e in elements)
    return f'<div class="bk-actions" data-block-id="{escape(key)}">{inner}</div>'


def _image(block: dict[str, Any], key: str, names: Names, errors: Mapping[str, str]) -> str:
    # No remote images in the sandbox: show what the picture is, and a link to it when safe.
    alt = escape(block.get("alt_text") or to_plain(block.get("title")) or "image")
    url = str(block.get("image_url") or "")
    if is_safe_url(url):
        return (
            f'<div class="bk-image"><a href="{escape(url)}" target="_blank" '
            f'rel="noopener noreferrer">[image: {alt}]</a></div>'
        )
    return f'<div class="bk-image">[image: {alt}]</div>'


def _input(block: dict[str, Any], key: str, names: Names, errors: Mapping[str, str]) -> str:
    element = block.get("element")
    if not isinstance(element, dict):
        element = {}
    field_id = f"in-{key}-{element.get('action_id', 'value')}"
    optional = bool(block.get("optional"))
    label = to_html_plain(to_plain(block.get("label")))
    mark = ' <span class="bk-optional">(optional)</span>' if optional else ""
    hint = block.get("hint")
    hint_html = f'<div class="bk-hint">{to_html_plain(to_plain(hint))}</div>' if hint else ""
    error = errors.get(key)
    error_html = (
        f'<div class="bk-error" role="alert">{escape(error)}</div>'
        if error
        else '<div class="bk-error" role="alert" hidden></div>'
    )
    return (
        f'<div class="bk-input" data-block-id="{escape(key)}" '
        f'data-optional="{str(optional).lower()}">'
        f'<label class="bk-label" for="{escape(field_id)}">{label}{mark}</label>'
        f"{_element(element, key, names, field_id=field_id)}{hint_html}{error_html}</div>"
    )


def _unknown_block(block: dict[str, Any], key: str, names: Names, errors: Mapping[str, str]) -> str:
    kind = escape(block.get("type", "?"))
    return f'<div class="bk-unknown">[{kind} block: not shown in the sandbox]</div>'


_BLOCKS: dict[str, Callable[[dict[str, Any], str, Names, Mapping[str, str]], str]] = {
    "header": _header,
    "divider": _divider,
    "section": _section,
    "context": _context,
    "actions": _actions,
    "image": _image,
    "input": _input,
}


# ---- elements


def _element(element: dict[str, Any], key: str, names: Names, field_id: str = "") -> str:
    kind = str(element.get("type"))
    common = (
        f'data-action-id="{escape(element.get("action_id", ""))}" '
        f'data-block-id="{escape(key)}" data-type="{escape(kind)}"'
    )
    if field_id:
        common += f' id="{escape(field_id)}"'
    if kind == "button":
        return _button(element, common, names)
    if kind in ("static_select", "overflow", "users_select"):
        return _select(element, common, names)
    if kind == "plain_text_input":
        return _text_input(element, common)
    if kind == "datepicker":
        initial = escape(element.get("initial_date", ""))
        return f'<input type="date" class="bk-field-input" {common} value="{initial}">'
    if kind == "timepicker":
        initial = escape(element.get("initial_time", ""))
        return f'<input type="time" class="bk-field-input" {common} value="{initial}">'
    if kind == "checkboxes":
        return _checkboxes(element, common, names)
    if kind == "image":
        return f'<span class="bk-image">[{escape(element.get("alt_text", "image"))}]</span>'
    return f'<span class="bk-unknown">[{escape(kind)}: not shown in the sandbox]</span>'


def _button(element: dict[str, Any], common: str, names: Names) -> str:
    style = element.get("style")
    css = "bk-button" + (f" bk-{style}" if style in ("primary", "danger") else "")
    attrs = f'{common} data-value="{escape(element.get("value", ""))}"'
    url = str(element.get("url") or "")
    if url and is_safe_url(url):
        attrs += f' data-url="{escape(url)}"'
    label = to_html_plain(to_plain(element.get("text")))
    confirm = element.get("confirm")
    dialog = _confirm(confirm, names) if isinstance(confirm, dict) else ""
    return f'<button type="button" class="{css}" {attrs}>{label}</button>{dialog}'


def _confirm(confirm: dict[str, Any], names: Names) -> str:
    """Slack's confirmation dialog, kept inert in a <template> until the button is clicked."""
    style = confirm.get("style")
    title = to_plain(confirm.get("title")) or "Are you sure?"
    css = "confirm-yes" + (f" bk-{style}" if style in ("primary", "danger") else " bk-primary")
    return (
        '<template class="bk-confirm">'
        f'<h2 class="confirm-title">{to_html_plain(title)}</h2>'
        f'<div class="confirm-text">{to_html_text(confirm.get("text"), names)}</div>'
        f'<div class="confirm-buttons"><button type="button" class="confirm-no">'
        f"{to_html_plain(to_plain(confirm.get('deny')) or 'Cancel')}</button>"
        f'<button type="button" class="{css}">'
        f"{to_html_plain(to_plain(confirm.get('confirm')) or 'Yes')}</button></div>"
        "</template>"
    )


def _select(element: dict[str, Any], common: str, names: Names) -> str:
    initial = element.get("initial_option") or {}
    chosen = initial.get("value") if isinstance(initial, dict) else None
    if element.get("type") == "users_select":
        chosen = element.get("initial_user")
        options = [{"value": uid, "text": {"text": name}} for uid, name in names.users.items()]
    else:
        options = list(options_of(element))
    placeholder = to_plain(element.get("placeholder")) or (
        "⋯" if element.get("type") == "overflow" else "Select an option"
    )
    rows = [f'<option value="">{to_html_plain(placeholder)}</option>']
    for option in options:
        value = str(option.get("value", ""))
        selected = " selected" if value == chosen else ""
        text = to_html_plain(to_plain(option.get("text")))
        rows.append(f'<option value="{escape(value)}"{selected}>{text}</option>')
    return f'<select class="bk-select" {common}>{"".join(rows)}</select>'


def _checkboxes(element: dict[str, Any], common: str, names: Names) -> str:
    """Check-boxes; the page joins the ticked values with newlines for the bridge."""
    ticked = {o.get("value") for o in element.get("initial_options") or [] if isinstance(o, dict)}
    rows = []
    for option in options_of(element):
        value = str(option.get("value", ""))
        checked = " checked" if value in ticked else ""
        text = to_html_text(option.get("text"), names)
        rows.append(
            f'<label class="bk-checkbox"><input type="checkbox" value="{escape(value)}"'
            f"{checked}> {text}</label>"
        )
    return f'<div class="bk-checkboxes" {common}>{"".join(rows)}</div>'


def options_of(element: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for option in element.get("options") or []:
        if isinstance(option, dict):
            yield option
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            yield from (o for o in group.get("options") or [] if isinstance(o, dict))


def _text_input(element: dict[str, Any], common: str) -> str:
    placeholder = escape(to_plain(element.get("placeholder")))
    initial = str(element.get("initial_value") or "")
    limit = element.get("max_length")
    extra = f' maxlength="{int(limit)}"' if isinstance(limit, int) else ""
    if element.get("multiline"):
        return (
            f'<textarea class="bk-field-input" {common} placeholder="{placeholder}"{extra}>'
            f"{escape(initial)}</textarea>"
        )
    return (
        f'<input type="text" class="bk-field-input" {common} placeholder="{placeholder}" '
        f'value="{escape(initial)}"{extra}>'
    )


def _attachment(attachment: dict[str, Any], names: Names) -> str:
    color = str(attachment.get("color") or "")
    color = _NAMED_COLORS.get(color, color)
    # The page's script applies the colour: the page's CSP allows no inline style attributes.
    style = f' data-color="#{color.lstrip("#")}"' if _COLOR.match(color) else ""
    if attachment.get("blocks"):
        inner = to_html_blocks(attachment["blocks"], names)
    else:
        text = str(attachment.get("text") or attachment.get("fallback") or "")
        inner = f'<div class="bk-text">{to_html_mrkdwn(text, names)}</div>'
    return f'<div class="bk-attachment"{style}>{inner}</div>'
